import { KUBE_LAB_START_TIMEOUT_MS, apply, getJson, kubectl, waitFor } from '@webrana/kube-lab';
import {
  getDatabase,
  serviceDatabases,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  type RunningOperator,
} from './harness';

// Expand/contract's contract step in the operator (issue 21 item 3), on kube-lab's apiserver and
// stand-in node: the migration Jobs really run `webrana-jobs migrate deploy` against PostgreSQL. The lab
// runs no Deployment controller, so this test plays it: it writes the Deployment's rollout status
// (observedGeneration, replicas, updated, available) as the controller would, step by step, and checks
// what the operator does at each step. The real rollout is the real-node test's (packages/kube-lab/test/
// real-node-expand-contract.k8s.test.ts).
const env = useOperatorEnv('postdeploy');
const lab = env.lab;
let operator: RunningOperator;
const DB = 'pd';
const POST_JOB = `${DB}-catalog-service-postdeploy-g1`;

beforeAll(async () => {
  operator = startOperator(env, 'operator-0');
  await operator.waitForLog('leading', (e) => e.msg === 'caches started');
}, KUBE_LAB_START_TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop();
}, 60_000);

const catalogDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'catalog' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'catalog' } },
    template: {
      metadata: { labels: { app: 'catalog' } },
      spec: { containers: [{ name: 'main', image: 'registry.example/webrana/catalog-service:1.4.0' }] },
    },
  },
};

/** The Deployment controller's part: the rollout status of the Deployment's current generation. */
async function rollout(updated: number, available: number, replicas = 2): Promise<void> {
  const d = await getJson(lab, ['deployment', 'catalog', '-n', env.ns]);
  const generation = (d?.metadata as { generation?: number } | undefined)?.generation ?? 1;
  const status = {
    observedGeneration: generation,
    replicas,
    updatedReplicas: updated,
    availableReplicas: available,
    readyReplicas: available,
  };
  await kubectl(lab, [
    'patch',
    'deployment',
    'catalog',
    '-n',
    env.ns,
    '--subresource=status',
    '--type=merge',
    '-p',
    JSON.stringify({ status }),
  ]);
}

async function postDeployJobs(): Promise<string[]> {
  const list = await getJson<{ items: { metadata: { name: string } }[] }>(lab, [
    'jobs',
    '-n',
    env.ns,
    '-l',
    `webrana.cloud/database=${DB},webrana.cloud/migration-phase=post-deploy`,
  ]);
  return (list?.items ?? []).map((j) => j.metadata.name);
}

async function eventReasons(): Promise<string[]> {
  const list = await getJson<{ items: { reason: string; message: string }[] }>(lab, [
    'events',
    '-n',
    env.ns,
    '--field-selector',
    `involvedObject.name=${DB}`,
  ]);
  return (list?.items ?? []).map((e) => e.reason);
}

const postDeploy = async () =>
  (await getDatabase(env, DB))?.status?.services?.find((s) => s.name === 'catalog-service')?.postDeploy;

test('post-deploy migrations wait for rollout of the named Deployment, run once it reports the new generation available, once, also across an operator restart', async () => {
  const { spec, drop } = await serviceDatabases(env, DB);
  try {
    await apply(lab, env.ns, catalogDeployment);
    spec.services = spec.services.map((s) => (s.name === 'catalog-service' ? { ...s, deployment: 'catalog' } : s));
    await apply(lab, env.ns, webranaDatabase(DB, spec));
    // Pre-deploy migrations done: Ready; the contract step waits for the rollout, and says so.
    await waitForCondition(env, DB, 'Ready', 'True', 180_000);
    const waiting = await waitForCondition(env, DB, 'PostDeployMigrated', 'False');
    expect(waiting.status?.conditions?.find((c) => c.type === 'PostDeployMigrated')).toMatchObject({
      reason: 'WaitingForRollout',
      message: expect.stringContaining('catalog-service: waiting for rollout of deployment catalog'),
    });
    expect(await postDeploy()).toMatchObject({ phase: 'Waiting', deployment: 'catalog', job: POST_JOB });
    await waitFor('a WaitingForRollout Event', async () => (await eventReasons()).includes('WaitingForRollout'), {
      timeoutMs: 10_000,
    });

    // Half the pods on the new template: still waiting, nothing created.
    await rollout(1, 1);
    await waitFor(
      'the status to show 1 of 2 updated',
      async () => /1 of 2 pods updated/.test((await postDeploy())?.message ?? ''),
      {
        timeoutMs: 15_000,
      },
    );
    expect(await postDeployJobs()).toEqual([]);

    // Rolled out: the Deployment informer wakes the resource and the post-deploy Job runs.
    const rolledOut = Date.now();
    await rollout(2, 2);
    await waitForCondition(env, DB, 'PostDeployMigrated', 'True', 120_000);
    process.stdout.write(`rollout reported -> PostDeployMigrated True: ${Date.now() - rolledOut} ms\n`);
    expect(await postDeployJobs()).toEqual([POST_JOB]);
    const job = await getJson(lab, ['job', POST_JOB, '-n', env.ns]);
    const args = (job?.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
      .containers[0]!.args;
    expect(args).toEqual(
      expect.arrayContaining(['migrate', 'deploy', '--service=catalog-service', '--phase=post-deploy']),
    );
    expect(await postDeploy()).toMatchObject({ phase: 'Succeeded', message: 'post-deploy migrations applied' });
    const reasons = await eventReasons();
    expect(reasons).toEqual(expect.arrayContaining(['PostDeployMigrationStarted', 'PostDeployMigrationSucceeded']));

    // A restarted operator (new process, empty caches) finds the Job and the recorded outcome: nothing twice.
    await operator.stop();
    operator = startOperator(env, 'operator-1');
    await operator.waitForLog('leading', (e) => e.msg === 'caches started');
    await rollout(2, 2); // a Deployment event, to make sure the resource is looked at again
    await new Promise((r) => setTimeout(r, 3000));
    expect(await postDeployJobs()).toEqual([POST_JOB]);
    expect((await eventReasons()).filter((r) => r === 'PostDeployMigrationStarted')).toHaveLength(1);
    expect(await postDeploy()).toMatchObject({ phase: 'Succeeded' });
  } finally {
    await drop();
  }
}, 300_000);
