import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  KUBE_LAB_START_TIMEOUT_MS,
  apply,
  describeNamespace,
  getJson,
  jobCondition,
  jobPods,
  pvcDir,
  useKubeLabNamespace,
  waitFor,
} from '@webrana/kube-lab';

// Jobs through the real job controller, with pods run by the kube-lab kubelet.
const lab = useKubeLabNamespace('jobs');

beforeAll(async () => {
  await apply(lab, lab.ns, claim('results'));
}, KUBE_LAB_START_TIMEOUT_MS);

function claim(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
  };
}

function job(name: string, spec: Record<string, unknown>, podSpec: Record<string, unknown>): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { ...spec, template: { spec: { restartPolicy: 'Never', ...podSpec } } },
  };
}

const results = {
  volumeMounts: [{ name: 'results', mountPath: '/results' }],
};
const resultsVolume = { volumes: [{ name: 'results', persistentVolumeClaim: { claimName: 'results' } }] };

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a Job whose node -e container writes a file completes through the job controller (SuccessCriteriaMet, then Complete) and the file is in the claim directory', async () => {
  await apply(
    lab,
    lab.ns,
    job(
      'writer',
      { backoffLimit: 0 },
      {
        ...resultsVolume,
        containers: [
          {
            name: 'write',
            image: 'node:20',
            command: [
              'node',
              '-e',
              "require('fs').writeFileSync(process.env.OUT_DIR + '/writer.txt', 'written by ' + process.env.POD_NAME)",
            ],
            env: [
              { name: 'OUT_DIR', value: '/results' },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            ...results,
          },
        ],
      },
    ),
  );

  const complete = await jobCondition(lab, lab.ns, 'writer', 'Complete');
  expect(complete).toMatchObject({ status: 'True', reason: 'CompletionsReached' });
  const status = (await getJson(lab, ['job', 'writer', '-n', lab.ns]))?.status;
  expect(status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
    ['SuccessCriteriaMet', 'True', 'CompletionsReached'],
    ['Complete', 'True', 'CompletionsReached'],
  ]);
  expect(status).toMatchObject({ succeeded: 1 });
  expect(status?.failed ?? 0).toBe(0);
  expect(status?.completionTime).toEqual(expect.any(String));

  const pods = await jobPods(lab, lab.ns, 'writer');
  expect(pods).toHaveLength(1);
  const pod = pods[0]!;
  expect(pod.spec?.nodeName).toBe('kube-lab');
  expect(pod.status?.phase).toBe('Succeeded');
  expect(pod.status?.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  const file = path.join(pvcDir(lab.kubeletStateDir, lab.ns, 'results'), 'writer.txt');
  expect(await fs.readFile(file, 'utf8')).toBe(`written by ${pod.metadata.name}`);
});

test('a Job whose container exits 3 is retried and fails with BackoffLimitExceeded after backoffLimit 1 (two failed pods, exit code 3 each)', async () => {
  await apply(
    lab,
    lab.ns,
    job(
      'failer',
      { backoffLimit: 1 },
      { containers: [{ name: 'fail', image: 'node:20', command: ['node', '-e', 'process.exit(3)'] }] },
    ),
  );

  // The job controller waits 10 s (its pod failure back-off) before the second pod.
  const failed = await jobCondition(lab, lab.ns, 'failer', 'Failed', 90_000);
  expect(failed).toMatchObject({
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
  });
  const status = (await getJson(lab, ['job', 'failer', '-n', lab.ns]))?.status;
  expect(status?.conditions?.map((c) => c.type)).toEqual(['FailureTarget', 'Failed']);
  expect(status).toMatchObject({ failed: 2 });
  expect(status?.succeeded ?? 0).toBe(0);

  const pods = await jobPods(lab, lab.ns, 'failer');
  expect(pods.map((p) => p.status?.phase)).toEqual(['Failed', 'Failed']);
  for (const p of pods) {
    expect(p.status?.containerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  }
}, 120_000);

test('with restartPolicy OnFailure the kubelet restarts the failed container in the same pod (emptyDir kept) and the Job completes', async () => {
  const script = [
    "const fs = require('fs');",
    "const marker = process.env.STATE_DIR + '/tried';",
    "if (!fs.existsSync(marker)) { fs.writeFileSync(marker, ''); console.error('first try fails'); process.exit(1); }",
    "console.log('second try succeeds');",
  ].join('\n');
  await apply(
    lab,
    lab.ns,
    job(
      'retrier',
      { backoffLimit: 2 },
      {
        restartPolicy: 'OnFailure',
        volumes: [{ name: 'state', emptyDir: {} }],
        containers: [
          {
            name: 'try',
            image: 'node:22',
            command: ['node', '-e', script],
            env: [{ name: 'STATE_DIR', value: '/state' }],
            volumeMounts: [{ name: 'state', mountPath: '/state' }],
          },
        ],
      },
    ),
  );

  await jobCondition(lab, lab.ns, 'retrier', 'Complete');
  const pods = await jobPods(lab, lab.ns, 'retrier');
  expect(pods).toHaveLength(1);
  const cs = pods[0]?.status?.containerStatuses?.[0];
  expect(pods[0]?.status?.phase).toBe('Succeeded');
  expect(cs?.restartCount).toBe(1);
  expect(cs?.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
  expect(cs?.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
});

test('an image outside the kube-lab image table fails its pod with ErrImagePull and a message naming the image, and the Job fails', async () => {
  const image = 'registry.example.com/acme/thing:1.0';
  await apply(lab, lab.ns, job('no-image', { backoffLimit: 0 }, { containers: [{ name: 'thing', image }] }));

  const failed = await jobCondition(lab, lab.ns, 'no-image', 'Failed');
  expect(failed.reason).toBe('BackoffLimitExceeded');
  const [pod] = await jobPods(lab, lab.ns, 'no-image');
  expect(pod?.status).toMatchObject({ phase: 'Failed', reason: 'ErrImagePull' });
  const waiting = pod?.status?.containerStatuses?.[0]?.state.waiting;
  expect(waiting?.reason).toBe('ErrImagePull');
  expect(waiting?.message).toContain(`"${image}"`);
  expect(waiting?.message).toContain('not in the kube-lab image table');
});

test('a Job past its activeDeadlineSeconds fails with DeadlineExceeded, and the kubelet kills its running process and removes the pod', async () => {
  const script =
    "require('fs').writeFileSync(process.env.OUT_DIR + '/slow.pid', String(process.pid)); setInterval(() => {}, 1000);";
  await apply(
    lab,
    lab.ns,
    job(
      'slow',
      { backoffLimit: 0, activeDeadlineSeconds: 4 },
      {
        ...resultsVolume,
        terminationGracePeriodSeconds: 5,
        containers: [
          {
            name: 'sleep',
            image: 'node:20',
            command: ['node', '-e', script],
            env: [{ name: 'OUT_DIR', value: '/results' }],
            ...results,
          },
        ],
      },
    ),
  );
  const pidFile = path.join(pvcDir(lab.kubeletStateDir, lab.ns, 'results'), 'slow.pid');
  const pid = await waitFor(
    'the slow container to start',
    async () => Number(await fs.readFile(pidFile, 'utf8')) || undefined,
    {
      diagnose: () => describeNamespace(lab, lab.ns),
    },
  );
  expect(processAlive(pid)).toBe(true);

  const failed = await jobCondition(lab, lab.ns, 'slow', 'Failed');
  expect(failed).toMatchObject({
    reason: 'DeadlineExceeded',
    message: 'Job was active longer than specified deadline',
  });
  // The job controller deletes the active pod; the kubelet stops it (SIGTERM) and then deletes it for good.
  await waitFor(`process ${pid} to be killed`, async () => !processAlive(pid), { timeoutMs: 15_000 });
  await waitFor('the slow pod to be gone', async () => (await jobPods(lab, lab.ns, 'slow')).length === 0, {
    timeoutMs: 20_000,
    diagnose: () => describeNamespace(lab, lab.ns),
  });
});

test('a pod past its own activeDeadlineSeconds is killed by the kubelet and marked Failed with reason DeadlineExceeded', async () => {
  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'overdue' },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: 2,
      terminationGracePeriodSeconds: 5,
      containers: [{ name: 'sleep', image: 'node:20', command: ['node', '-e', 'setInterval(() => {}, 1000)'] }],
    },
  });
  const pod = await waitFor(
    'pod overdue to fail',
    async () => {
      const p = await getJson(lab, ['pod', 'overdue', '-n', lab.ns]);
      return p?.status?.phase === 'Failed' ? p : undefined;
    },
    { timeoutMs: 30_000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  expect(pod.status).toMatchObject({
    reason: 'DeadlineExceeded',
    message: 'Pod was active on the node longer than the specified deadline',
  });
  // node exits on SIGTERM: 128 + 15.
  expect(pod.status?.containerStatuses?.[0]?.state.terminated).toMatchObject({
    exitCode: 143,
    signal: 15,
    reason: 'Error',
  });
});
