import { describeNamespace, apply, getJson, useKubeLabNamespace, waitFor, type KubeObject } from '@webrana/kube-lab';
import { terminationMessageBudget, terminationMessageFromFile } from '../src/pod-status';

// The stand-in kubelet's termination messages, as the Kubernetes docs describe them ("Determine the
// Reason for Pod Failure"): the file at terminationMessagePath (default /dev/termination-log), read at
// exit, at most 4096 bytes per container (12 KiB per pod, divided equally); with
// FallbackToLogsOnError the log tail when the file is empty and the container failed.
const lab = useKubeLabNamespace('termmsg');

function pod(name: string, containers: Record<string, unknown>[]): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { restartPolicy: 'Never', containers },
  };
}

/** A node:20 container running a script; `path` is passed as an argument, as the jobs CLI gets it. */
function node(name: string, script: string, extra: Record<string, unknown> = {}, args: string[] = []) {
  return { name, image: 'node:20', command: ['node', '-e', script, ...args], ...extra };
}

async function terminated(name: string): Promise<Record<string, { exitCode: number; message?: string }>> {
  const p = await waitFor(
    `pod ${name} to finish`,
    async () => {
      const got = await getJson<KubeObject>(lab, ['pod', name, '-n', lab.ns]);
      return got?.status?.phase === 'Succeeded' || got?.status?.phase === 'Failed' ? got : undefined;
    },
    { timeoutMs: 60_000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  const statuses = (p.status?.containerStatuses ?? []) as unknown as {
    name: string;
    state: { terminated: { exitCode: number; message?: string } };
  }[];
  return Object.fromEntries(statuses.map((s) => [s.name, s.state.terminated]));
}

const WRITE = "require('fs').writeFileSync(process.argv[1], process.argv[2]);";

test('a container that writes its terminationMessagePath (passed as an argument) gets that text as its termination message, each container its own file', async () => {
  await apply(
    lab,
    lab.ns,
    pod('file', [
      node('a', WRITE, {}, ['/dev/termination-log', '{"service":"a"}']),
      node('b', WRITE, { terminationMessagePath: '/var/run/msg' }, ['/var/run/msg', '{"service":"b"}']),
    ]),
  );
  const t = await terminated('file');
  expect(t.a).toMatchObject({ exitCode: 0, message: '{"service":"a"}' });
  expect(t.b).toMatchObject({ exitCode: 0, message: '{"service":"b"}' });
});

test('a termination message longer than 4096 bytes is cut to its last 4096 bytes', async () => {
  const script = "require('fs').writeFileSync(process.argv[1], 'x'.repeat(5000) + 'END');";
  await apply(lab, lab.ns, pod('long', [node('main', script, {}, ['/dev/termination-log'])]));
  const message = (await terminated('long')).main?.message ?? '';
  expect(Buffer.byteLength(message)).toBe(4096);
  expect(message.endsWith('xEND')).toBe(true);
});

test('FallbackToLogsOnError: a failed container with an empty file reports its log tail; a successful one reports nothing', async () => {
  const fail = "console.error('webrana-jobs: pg_dump failed'); process.exit(3);";
  await apply(
    lab,
    lab.ns,
    pod('fallback', [
      node('failed', fail, { terminationMessagePolicy: 'FallbackToLogsOnError' }),
      node('ok', "console.log('fine')", { terminationMessagePolicy: 'FallbackToLogsOnError' }),
      node('file-policy', fail, { terminationMessagePolicy: 'File' }),
    ]),
  );
  const t = await terminated('fallback');
  expect(t.failed).toMatchObject({ exitCode: 3, message: 'webrana-jobs: pg_dump failed' });
  expect(t.ok?.exitCode).toBe(0);
  expect(t.ok?.message).toBeUndefined();
  expect(t['file-policy']?.message).toBeUndefined();
});

test('the termination message budget is 4096 bytes per container and 12 KiB per pod, divided equally', () => {
  expect(terminationMessageBudget(1)).toBe(4096);
  expect(terminationMessageBudget(3)).toBe(4096);
  expect(terminationMessageBudget(12)).toBe(1024);
  expect(terminationMessageFromFile(Buffer.from('abcdef'), 4)).toBe('cdef');
  expect(terminationMessageFromFile(Buffer.from('abc'), 4)).toBe('abc');
});
