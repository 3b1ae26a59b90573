import {
  logTail,
  podConditions,
  podPhase,
  podStatus,
  shouldRestart,
  type ContainerRecord,
  type ContainerState,
  type PodRecord,
  type RestartPolicy,
} from './pod-status';

const T = '2026-01-01T00:00:00Z';
const waiting: ContainerState = { waiting: { reason: 'ContainerCreating' } };
const running: ContainerState = { running: { startedAt: T } };
const exited = (exitCode: number): ContainerState => ({
  terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed', finishedAt: T },
});
const c = (name: string, state: ContainerState, extra: Partial<ContainerRecord> = {}): ContainerRecord => ({
  name,
  image: 'node:20',
  imageID: 'kube-lab://node:20',
  restartCount: 0,
  state,
  ...extra,
});
const pod = (
  restartPolicy: RestartPolicy,
  containers: ContainerRecord[],
  initContainers: ContainerRecord[] = [],
): PodRecord => ({
  startTime: T,
  restartPolicy,
  volumesReady: true,
  initContainers,
  containers,
  hostIP: '127.0.0.1',
  podIP: '127.0.0.1',
});
const backingOff = c(
  'a',
  { waiting: { reason: 'CrashLoopBackOff' } },
  { restartCount: 1, lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: T } } },
);

test.each<[string, PodRecord, string]>([
  ['not started yet', pod('Never', [c('a', waiting)]), 'Pending'],
  ['running', pod('Never', [c('a', running), c('b', exited(0))]), 'Running'],
  ['all exited 0', pod('Never', [c('a', exited(0)), c('b', exited(0))]), 'Succeeded'],
  ['Never and one failed', pod('Never', [c('a', exited(0)), c('b', exited(2))]), 'Failed'],
  ['OnFailure waiting to restart a failed one', pod('OnFailure', [backingOff]), 'Running'],
  ['OnFailure all exited 0', pod('OnFailure', [c('a', exited(0))]), 'Succeeded'],
  ['Always never finishes by itself', pod('Always', [c('a', exited(0))]), 'Running'],
  ['init container running', pod('Never', [c('a', waiting)], [c('init', running)]), 'Pending'],
  ['init container failed under Never', pod('Never', [c('a', waiting)], [c('init', exited(1))]), 'Failed'],
  [
    'init container failed under OnFailure (restarts)',
    pod('OnFailure', [c('a', waiting)], [c('init', exited(1))]),
    'Pending',
  ],
  ['forced by the kubelet', { ...pod('Never', [c('a', running)]), forcedPhase: 'Failed' }, 'Failed'],
])('podPhase: %s', (_name, rec, phase) => {
  expect(podPhase(rec)).toBe(phase);
});

test('shouldRestart follows restartPolicy', () => {
  expect([
    shouldRestart('Never', 1),
    shouldRestart('OnFailure', 1),
    shouldRestart('OnFailure', 0),
    shouldRestart('Always', 0),
  ]).toEqual([false, true, false, true]);
});

test('conditions: Ready when every container runs, PodCompleted when terminal, transition times kept while unchanged', () => {
  const first = podConditions(pod('Never', [c('a', running)]), 'Running', [], T);
  expect(first.map((x) => [x.type, x.status])).toEqual([
    ['PodReadyToStartContainers', 'True'],
    ['Initialized', 'True'],
    ['Ready', 'True'],
    ['ContainersReady', 'True'],
    ['PodScheduled', 'True'],
  ]);
  const later = '2026-01-01T00:01:00Z';
  const done = podConditions(pod('Never', [c('a', exited(0))]), 'Succeeded', first, later);
  expect(done.find((x) => x.type === 'Ready')).toEqual({
    type: 'Ready',
    status: 'False',
    reason: 'PodCompleted',
    lastTransitionTime: later,
    lastProbeTime: null,
  });
  expect(done.find((x) => x.type === 'PodScheduled')?.lastTransitionTime).toBe(T);

  const notReady = podConditions(pod('Never', [c('a', running), c('b', waiting)]), 'Pending', [], T);
  expect(notReady.find((x) => x.type === 'ContainersReady')).toMatchObject({
    status: 'False',
    reason: 'ContainersNotReady',
    message: 'containers with unready status: [b]',
  });
});

test('podStatus carries phase, IPs, reason and container statuses in the API shape', () => {
  const s = podStatus(
    { ...pod('Never', [c('a', exited(3))]), forcedPhase: 'Failed', reason: 'DeadlineExceeded', message: 'late' },
    [],
    T,
  );
  expect(s).toMatchObject({
    phase: 'Failed',
    reason: 'DeadlineExceeded',
    message: 'late',
    podIP: '127.0.0.1',
    podIPs: [{ ip: '127.0.0.1' }],
    containerStatuses: [
      {
        name: 'a',
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 3 } },
        lastState: {},
      },
    ],
  });
  // A merge patch must be able to clear an earlier reason.
  expect(podStatus(pod('Never', [c('a', running)]), [], T)).toMatchObject({ reason: null, message: null });
});

test('logTail keeps the last lines and bytes', () => {
  const log = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n';
  const tail = logTail(log);
  expect(tail.split('\n')).toHaveLength(80);
  expect(tail.endsWith('line 99')).toBe(true);
  expect(Buffer.byteLength(logTail('x'.repeat(5000)))).toBe(2048);
});
