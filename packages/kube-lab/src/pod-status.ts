/**
 * Pod status as the kubelet reports it, computed from what the kube-lab kubelet knows about its
 * processes. Pure: the pod worker keeps the records, this module turns them into the API's shape.
 */

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface Terminated {
  readonly exitCode: number;
  readonly signal?: number;
  readonly reason: string;
  readonly message?: string;
  readonly startedAt?: string;
  readonly finishedAt: string;
  readonly containerID?: string;
}

export type ContainerState =
  | { readonly waiting: { readonly reason: string; readonly message?: string } }
  | { readonly running: { readonly startedAt: string } }
  | { readonly terminated: Terminated };

export interface ContainerRecord {
  readonly name: string;
  readonly image: string;
  readonly imageID: string;
  readonly containerID?: string;
  readonly restartCount: number;
  readonly state: ContainerState;
  /** The previous run, once a container has been restarted. */
  readonly lastState?: { readonly terminated: Terminated };
}

export interface PodRecord {
  /** Set when the kubelet decided the pod's fate itself (DeadlineExceeded, ErrImagePull, deletion). */
  readonly forcedPhase?: 'Succeeded' | 'Failed';
  readonly reason?: string;
  readonly message?: string;
  readonly startTime: string;
  readonly restartPolicy: RestartPolicy;
  /** Volumes prepared (the "sandbox" is ready). */
  readonly volumesReady: boolean;
  readonly initContainers: readonly ContainerRecord[];
  readonly containers: readonly ContainerRecord[];
  readonly hostIP: string;
  readonly podIP: string;
}

export interface PodCondition {
  readonly type: string;
  readonly status: 'True' | 'False';
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime: string;
  readonly lastProbeTime: null;
}

export const isRunning = (s: ContainerState): s is Extract<ContainerState, { running: unknown }> => 'running' in s;
export const isTerminated = (s: ContainerState): s is Extract<ContainerState, { terminated: unknown }> =>
  'terminated' in s;
export const isWaiting = (s: ContainerState): s is Extract<ContainerState, { waiting: unknown }> => 'waiting' in s;

/** Whether a container that exited with `exitCode` is started again under the pod's restartPolicy. */
export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

/** Init containers all completed successfully. */
export function initDone(rec: PodRecord): boolean {
  return rec.initContainers.every((c) => isTerminated(c.state) && c.state.terminated.exitCode === 0);
}

/** The kubelet's getPhase, for the states this kubelet produces. */
export function podPhase(rec: PodRecord): PodPhase {
  if (rec.forcedPhase) return rec.forcedPhase;
  if (!initDone(rec)) {
    const failedInit = rec.initContainers.some(
      (c) => isTerminated(c.state) && c.state.terminated.exitCode !== 0 && rec.restartPolicy === 'Never',
    );
    return failedInit ? 'Failed' : 'Pending';
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of rec.containers) {
    if (isRunning(c.state)) running++;
    else if (isTerminated(c.state)) {
      stopped++;
      if (c.state.terminated.exitCode === 0) succeeded++;
    } else if (c.lastState)
      stopped++; // waiting to restart
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped === 0) return 'Pending';
  if (rec.restartPolicy === 'Always') return 'Running';
  if (stopped === succeeded && rec.containers.every((c) => isTerminated(c.state))) return 'Succeeded';
  if (rec.restartPolicy === 'Never') return 'Failed';
  // OnFailure: failed containers are started again.
  return rec.containers.every((c) => isTerminated(c.state) && c.state.terminated.exitCode === 0)
    ? 'Succeeded'
    : 'Running';
}

/** The API's containerStatuses entry. */
export function containerStatus(c: ContainerRecord): Record<string, unknown> {
  return {
    name: c.name,
    image: c.image,
    imageID: c.imageID,
    ...(c.containerID ? { containerID: c.containerID } : {}),
    ready: isRunning(c.state),
    started: isRunning(c.state),
    restartCount: c.restartCount,
    state: c.state,
    lastState: c.lastState ?? {},
  };
}

/**
 * The pod's conditions; a condition keeps its lastTransitionTime from `previous` while its status
 * stays the same.
 */
export function podConditions(
  rec: PodRecord,
  phase: PodPhase,
  previous: readonly PodCondition[],
  now: string,
): PodCondition[] {
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const incompleteInit = rec.initContainers
    .filter((c) => !(isTerminated(c.state) && c.state.terminated.exitCode === 0))
    .map((c) => c.name);
  const unready = rec.containers.filter((c) => !isRunning(c.state)).map((c) => c.name);
  const ready: Omit<PodCondition, 'type' | 'lastTransitionTime' | 'lastProbeTime'> =
    unready.length === 0 && !terminal
      ? { status: 'True' }
      : terminal
        ? { status: 'False', reason: 'PodCompleted' }
        : {
            status: 'False',
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${unready.join(' ')}]`,
          };
  const wanted: Omit<PodCondition, 'lastTransitionTime' | 'lastProbeTime'>[] = [
    { type: 'PodReadyToStartContainers', status: rec.volumesReady && !terminal ? 'True' : 'False' },
    incompleteInit.length === 0
      ? {
          type: 'Initialized',
          status: 'True',
          ...(terminal && rec.initContainers.length > 0 ? { reason: 'PodCompleted' } : {}),
        }
      : {
          type: 'Initialized',
          status: 'False',
          reason: 'ContainersNotInitialized',
          message: `containers with incomplete status: [${incompleteInit.join(' ')}]`,
        },
    { type: 'Ready', ...ready },
    { type: 'ContainersReady', ...ready },
    { type: 'PodScheduled', status: 'True' },
  ];
  return wanted.map((c) => {
    const before = previous.find((p) => p.type === c.type);
    const lastTransitionTime = before && before.status === c.status ? before.lastTransitionTime : now;
    return { ...c, lastTransitionTime, lastProbeTime: null };
  });
}

/** The whole `status` the kubelet writes (a merge patch replaces these fields). */
export function podStatus(rec: PodRecord, previous: readonly PodCondition[], now: string): Record<string, unknown> {
  const phase = podPhase(rec);
  return {
    phase,
    reason: rec.reason ?? null,
    message: rec.message ?? null,
    startTime: rec.startTime,
    hostIP: rec.hostIP,
    hostIPs: [{ ip: rec.hostIP }],
    podIP: rec.podIP,
    podIPs: [{ ip: rec.podIP }],
    conditions: podConditions(rec, phase, previous, now),
    initContainerStatuses: rec.initContainers.map(containerStatus),
    containerStatuses: rec.containers.map(containerStatus),
  };
}

/** The reason the kubelet gives a terminated container. */
export function terminatedReason(exitCode: number): string {
  return exitCode === 0 ? 'Completed' : 'Error';
}

/** The kubelet's limit on one container's termination message (kubecontainer.MaxContainerTerminationMessageLength). */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;
/** All containers of a pod share 12 KiB of termination messages, divided equally (Kubernetes docs, "Termination messages"). */
export const MAX_POD_TERMINATION_MESSAGE_BYTES = 12 * 1024;

/** One container's share: 4096 bytes, less when the pod has more than three containers (init containers included). */
export function terminationMessageBudget(containerCount: number): number {
  return Math.min(
    MAX_TERMINATION_MESSAGE_BYTES,
    Math.floor(MAX_POD_TERMINATION_MESSAGE_BYTES / Math.max(1, containerCount)),
  );
}

/**
 * What the kubelet reports from a terminationMessagePath file: its last `budget` bytes (it reads the
 * file with tail.ReadAtMost), as text.
 */
export function terminationMessageFromFile(data: Buffer, budget: number): string {
  return (data.length <= budget ? data : data.subarray(data.length - budget)).toString('utf8');
}

/** Last `maxLines` lines / `maxBytes` bytes of a log, for terminationMessagePolicy FallbackToLogsOnError. */
export function logTail(log: string, maxLines = 80, maxBytes = 2048): string {
  const lines = log.replace(/\n$/, '').split('\n').slice(-maxLines).join('\n');
  const bytes = Buffer.from(lines, 'utf8');
  return bytes.length <= maxBytes ? lines : bytes.subarray(bytes.length - maxBytes).toString('utf8');
}
