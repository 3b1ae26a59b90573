import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  KUBE_LAB_START_TIMEOUT_MS,
  apply,
  getJson,
  helm,
  pvcDir,
  useKubeLabNamespace,
  waitFor,
} from '@webrana/kube-lab';

// The pinned helm against the lab: a chart whose pre-install hook Job must complete before the release exists.
const CHART = path.join(__dirname, 'fixtures', 'hook-chart');
const lab = useKubeLabNamespace('helm');

beforeAll(async () => {
  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'hook-output' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
  });
}, KUBE_LAB_START_TIMEOUT_MS);

async function helmSecrets(release: string): Promise<string[]> {
  const list = await getJson(lab, ['secrets', '-n', lab.ns, '-l', `owner=helm,name=${release}`]);
  return (list?.items ?? []).map((s) => s.metadata.name);
}

test('helm install runs the pre-install hook Job to completion and deploys the release; helm uninstall removes the release', async () => {
  const install = await helm(lab, [
    'install',
    'demo',
    CHART,
    '-n',
    lab.ns,
    '--set',
    'hook.outputClaim=hook-output',
    '--wait',
    '--wait-for-jobs',
    '--timeout',
    '90s',
  ]);
  expect(install.stdout).toContain('STATUS: deployed');

  // The hook ran (its marker is in the claim) and, being hook-succeeded, was deleted afterwards.
  const marker = await fs.readFile(
    path.join(pvcDir(lab.kubeletStateDir, lab.ns, 'hook-output'), 'pre-install.txt'),
    'utf8',
  );
  expect(marker).toBe(`pre-install hook of demo revision 1 in ${lab.ns}\n`);
  await waitFor(
    'the succeeded hook Job to be deleted',
    async () => (await getJson(lab, ['job', 'demo-hook-chart-pre-install', '-n', lab.ns])) === undefined,
  );

  const cm = await getJson(lab, ['configmap', 'demo-hook-chart', '-n', lab.ns]);
  expect(cm?.metadata.labels?.['app.kubernetes.io/instance']).toBe('demo');
  const list = JSON.parse((await helm(lab, ['list', '-n', lab.ns, '-o', 'json'])).stdout) as {
    name: string;
    status: string;
  }[];
  expect(list).toEqual([expect.objectContaining({ name: 'demo', status: 'deployed' })]);
  expect(await helmSecrets('demo')).toEqual(['sh.helm.release.v1.demo.v1']);

  await helm(lab, ['uninstall', 'demo', '-n', lab.ns, '--wait', '--timeout', '60s']);
  expect(await getJson(lab, ['configmap', 'demo-hook-chart', '-n', lab.ns])).toBeUndefined();
  expect(await helmSecrets('demo')).toEqual([]);
  expect(JSON.parse((await helm(lab, ['list', '-n', lab.ns, '--all', '-o', 'json'])).stdout)).toEqual([]);
  await waitFor(
    'no pods left in the namespace',
    async () => (await getJson(lab, ['pods', '-n', lab.ns]))?.items?.length === 0,
    {
      timeoutMs: 30_000,
    },
  );
}, 150_000);

test('helm install fails when the pre-install hook Job fails, and creates none of the release objects', async () => {
  const install = await helm(
    lab,
    ['install', 'broken', CHART, '-n', lab.ns, '--set', 'hook.exitCode=1', '--wait', '--timeout', '60s'],
    {
      allowFailure: true,
    },
  );
  expect(install.code).not.toBe(0);
  expect(install.stderr).toMatch(/pre-install.*failed/);
  expect(install.stderr).toContain('BackoffLimitExceeded');
  // The failed hook Job stays for inspection (only hook-succeeded deletes it); the release objects never came.
  const hook = await getJson(lab, ['job', 'broken-hook-chart-pre-install', '-n', lab.ns]);
  expect(hook?.status?.conditions?.find((c) => c.type === 'Failed')).toMatchObject({
    status: 'True',
    reason: 'BackoffLimitExceeded',
  });
  expect(await getJson(lab, ['configmap', 'broken-hook-chart', '-n', lab.ns])).toBeUndefined();
  const list = JSON.parse((await helm(lab, ['list', '-n', lab.ns, '--all', '-o', 'json'])).stdout) as {
    name: string;
    status: string;
  }[];
  expect(list).toEqual([expect.objectContaining({ name: 'broken', status: 'failed' })]);
}, 120_000);
