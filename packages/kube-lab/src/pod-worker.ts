import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '@webrana/logger';
import { ContainerConfigError, envReferences, expand, resolveEnv, type EnvObjects, type NodeFacts } from './env';
import { resolveCommand, type ImageResolution, type LabImage } from './images';
import { containerLogPath, containerPidFile, containerRoot, podDir, type PodRef } from './layout';
import type { ContainerLogs } from './log-server';
import { hostPathOf, mountLinks, normalizeMountPath, rewritePath } from './mounts';
import {
  isTerminated,
  isWaiting,
  logTail,
  podPhase,
  terminationMessageBudget,
  terminationMessageFromFile,
  podStatus,
  shouldRestart,
  terminatedReason,
  type ContainerRecord,
  type ContainerState,
  type PodCondition,
  type PodRecord,
  type RestartPolicy,
  type Terminated,
} from './pod-status';
import { prepareVolumes, UnsupportedVolume, VolumeNotReady, type VolumeSources } from './volumes';

/** What a pod worker needs from the cluster (implemented with @kubernetes/client-node in kube-api.ts). */
export interface PodApi {
  /** Merge-patches pods/status; 'gone' when the pod no longer exists. */
  patchStatus(pod: PodRef, status: Record<string, unknown>): Promise<'ok' | 'gone'>;
  /** Deletes the pod with grace period 0 (uid precondition): the kubelet's "everything is stopped". */
  deletePod(pod: PodRef): Promise<void>;
  /** Records an Event on the pod; never throws. */
  event(pod: PodRef, type: 'Normal' | 'Warning', reason: string, message: string): void;
  volumeSources(pod: PodRef): VolumeSources;
  envObjects(namespace: string, refs: { secrets: Set<string>; configMaps: Set<string> }): Promise<EnvObjects>;
}

export interface WorkerContext {
  readonly stateDir: string;
  readonly facts: NodeFacts;
  /** KUBERNETES_SERVICE_HOST/PORT and friends, pointing at the lab apiserver. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  readonly resolveImage: (reference: string) => ImageResolution;
  readonly api: PodApi;
  readonly log: Logger;
  /** Restart back-off (the real kubelet uses 10 s doubling to 5 min; a test lab wants less). */
  readonly restartBackoff: { readonly initialMs: number; readonly maxMs: number };
  /** How often a pod waiting for a Secret/ConfigMap/PVC tries again. */
  readonly retryMs: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type StopReason = 'deadline' | 'deleted' | 'gone' | 'shutdown';

interface Slot {
  readonly spec: V1Container;
  readonly init: boolean;
  rec: ContainerRecord;
  image?: LabImage;
}

interface Prepared {
  readonly argv: readonly string[];
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly root: string;
  readonly terminationMessageFile: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * One pod on this node, from start to deletion: volumes, init containers in order, then the
 * containers side by side as host processes (each in its own process group), restarts by
 * restartPolicy, activeDeadlineSeconds, graceful deletion, and the status the job controller reads.
 */
export class PodWorker {
  private pod: V1Pod;
  readonly ref: PodRef;
  private readonly rec: Mutable<Omit<PodRecord, 'initContainers' | 'containers'>>;
  private readonly slots: Slot[];
  private conditions: PodCondition[];
  private stopping: StopReason | undefined;
  private readonly abort = new AbortController();
  private readonly processes = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private statusDirty = false;
  private statusWriting: Promise<void> | undefined;
  private deleting: Promise<void> | undefined;
  private readonly log: Logger;
  private readonly startedAtMs: number;
  /** Settles when the pod's processes are all gone and its final status is written. */
  readonly done: Promise<void>;

  constructor(
    private readonly ctx: WorkerContext,
    pod: V1Pod,
  ) {
    this.pod = pod;
    const meta = pod.metadata ?? {};
    this.ref = { namespace: meta.namespace ?? 'default', name: meta.name ?? '', uid: meta.uid ?? '' };
    this.log = ctx.log.child({ pod: `${this.ref.namespace}/${this.ref.name}` });
    const status = pod.status ?? {};
    this.conditions = ((status.conditions ?? []) as unknown as PodCondition[]).map((c) => ({
      ...c,
      lastTransitionTime: String(c.lastTransitionTime),
    }));
    // status.startTime has second precision; the deadline timer of a pod we start counts from now.
    this.startedAtMs = status.startTime ? new Date(status.startTime).getTime() : Date.now();
    this.rec = {
      startTime: new Date(this.startedAtMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      restartPolicy: (pod.spec?.restartPolicy ?? 'Always') as RestartPolicy,
      volumesReady: false,
      hostIP: ctx.facts.hostIP,
      podIP: ctx.facts.podIP,
    };
    const previous = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
    const slot = (spec: V1Container, init: boolean): Slot => ({
      spec,
      init,
      rec: adopt(spec, previous.find((s) => s.name === spec.name) as unknown as ContainerRecord | undefined),
    });
    this.slots = [
      ...(pod.spec?.initContainers ?? []).map((c) => slot(c, true)),
      ...(pod.spec?.containers ?? []).map((c) => slot(c, false)),
    ];
    const phase = status.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Already decided (by us before a kubelet restart): only deletion is left to handle.
      this.done = Promise.resolve();
    } else {
      this.done = this.lifecycle().catch((err: unknown) => this.log.error({ err }, 'pod worker failed'));
    }
  }

  /** Where a container's output is, for the log endpoint; undefined for a container this pod lacks. */
  containerLogs(container: string): ContainerLogs | undefined {
    const slot = this.slots.find((s) => s.spec.name === container);
    if (!slot) return undefined;
    return {
      file: (restart) => containerLogPath(this.ctx.stateDir, this.ref, container, restart),
      restartCount: slot.rec.restartCount,
      running: () => this.processes.has(container),
    };
  }

  /** A newer version of the pod from the watch. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp && !this.deleting) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.log.info({ grace }, 'pod is being deleted: stopping its containers');
      this.stop('deleted', grace);
      this.deleting = this.done.then(() => this.finishDeletion());
    }
  }

  /** The pod vanished from the API (force-deleted): kill everything, write nothing. */
  async gone(): Promise<void> {
    this.stop('gone', 0);
    await this.done;
    await this.removeLocalState();
  }

  /** The kubelet is exiting: kill the processes; a restarted kubelet adopts the pod. */
  async shutdown(graceSeconds: number): Promise<void> {
    this.stop('shutdown', graceSeconds);
    await this.done;
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private async lifecycle(): Promise<void> {
    this.armDeadline();
    this.requestStatus();
    try {
      if (!this.resolveImages()) return;
      if (!(await this.prepareVolumesWithRetry())) return;
      for (const slot of this.slots.filter((s) => s.init)) {
        const exitCode = await this.runContainer(slot);
        if (this.stopping || exitCode !== 0) return;
      }
      await Promise.all(this.slots.filter((s) => !s.init).map((s) => this.runContainer(s)));
    } finally {
      clearTimeout(this.deadlineTimer);
      await this.finish();
    }
  }

  /** Every container's image must be in the kube-lab image table, or the pod fails (ErrImagePull). */
  private resolveImages(): boolean {
    let failed: { reason: string; message: string } | undefined;
    for (const slot of this.slots) {
      const resolved = this.ctx.resolveImage(slot.spec.image ?? '');
      if (resolved.ok) {
        slot.image = resolved.image;
        continue;
      }
      failed ??= resolved;
      slot.rec = { ...slot.rec, state: { waiting: { reason: resolved.reason, message: resolved.message } } };
      this.ctx.api.event(
        this.ref,
        'Warning',
        'Failed',
        `Failed to pull image "${slot.spec.image ?? ''}": ${resolved.message}`,
      );
    }
    const sidecar = this.slots.find((s) => s.init && s.spec.restartPolicy === 'Always');
    if (sidecar) {
      failed ??= {
        reason: 'Unsupported',
        message: `init container "${sidecar.spec.name}" is a sidecar (restartPolicy Always), which kube-lab does not run`,
      };
    }
    if (!failed) return true;
    this.log.warn({ reason: failed.reason }, failed.message);
    this.rec.forcedPhase = 'Failed';
    this.rec.reason = failed.reason;
    this.rec.message = failed.message;
    return false;
  }

  private async prepareVolumesWithRetry(): Promise<Map<string, string> | undefined> {
    let lastMessage = '';
    while (!this.stopping) {
      try {
        const dirs = await prepareVolumes(
          this.pod,
          this.ctx.stateDir,
          this.ctx.api.volumeSources(this.ref),
          this.ctx.facts,
        );
        this.volumeDirs = dirs;
        this.rec.volumesReady = true;
        this.requestStatus();
        return dirs;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof UnsupportedVolume) {
          this.rec.forcedPhase = 'Failed';
          this.rec.reason = 'UnsupportedVolume';
          this.rec.message = message;
          this.ctx.api.event(this.ref, 'Warning', 'FailedMount', message);
          return undefined;
        }
        if (message !== lastMessage) {
          lastMessage = message;
          const level = err instanceof VolumeNotReady ? 'info' : 'warn';
          this.log[level]({ err: message }, 'volumes not ready; will retry');
          this.ctx.api.event(this.ref, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${message}`);
          for (const slot of this.slots) {
            slot.rec = { ...slot.rec, state: { waiting: { reason: 'ContainerCreating', message } } };
          }
          this.requestStatus();
        }
        await this.sleep(this.ctx.retryMs);
      }
    }
    return undefined;
  }

  private volumeDirs = new Map<string, string>();

  /**
   * Runs one container until it is done for good under the restart policy; returns its last exit
   * code (undefined when the pod was stopped first).
   */
  private async runContainer(slot: Slot): Promise<number | undefined> {
    const policy = this.rec.restartPolicy;
    const restarts = (code: number): boolean =>
      slot.init ? policy !== 'Never' && code !== 0 : shouldRestart(policy, code);
    // Adopted from a kubelet that ran before us.
    if (isTerminated(slot.rec.state)) {
      const code = slot.rec.state.terminated.exitCode;
      if (!restarts(code)) return code;
      this.markRestarting(slot, slot.rec.state.terminated, 0);
    }
    for (;;) {
      if (this.stopping) return undefined;
      let terminated: Terminated;
      try {
        terminated = await this.runOnce(slot, await this.prepareContainer(slot));
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof ContainerConfigError) {
          const state: ContainerState = { waiting: { reason: 'CreateContainerConfigError', message } };
          if (JSON.stringify(slot.rec.state) !== JSON.stringify(state)) {
            this.log.info({ container: slot.spec.name, err: message }, 'container config not ready; will retry');
            this.ctx.api.event(this.ref, 'Warning', 'Failed', `Error: ${message}`);
            slot.rec = { ...slot.rec, state };
            this.requestStatus();
          }
          await this.sleep(this.ctx.retryMs);
          continue;
        }
        // The run could not start (no such executable, a bad subPath): exit code 128, like a runtime's StartError.
        this.log.warn({ container: slot.spec.name, err: message }, 'container could not start');
        this.ctx.api.event(this.ref, 'Warning', 'Failed', `Error: ${message}`);
        terminated = { exitCode: 128, reason: 'StartError', message, startedAt: now(), finishedAt: now() };
        slot.rec = { ...slot.rec, state: { terminated } };
        this.requestStatus();
      }
      if (this.stopping || !restarts(terminated.exitCode)) return terminated.exitCode;
      const delay = Math.min(
        this.ctx.restartBackoff.initialMs * 2 ** slot.rec.restartCount,
        this.ctx.restartBackoff.maxMs,
      );
      this.markRestarting(slot, terminated, delay);
      await this.sleep(delay);
    }
  }

  private markRestarting(slot: Slot, last: Terminated, delayMs: number): void {
    const message = `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${slot.spec.name} pod=${this.ref.name}_${this.ref.namespace}(${this.ref.uid})`;
    slot.rec = {
      ...slot.rec,
      restartCount: slot.rec.restartCount + 1,
      lastState: { terminated: last },
      state: { waiting: { reason: 'CrashLoopBackOff', message } },
    };
    if (delayMs > 0) this.ctx.api.event(this.ref, 'Warning', 'BackOff', 'Back-off restarting failed container');
    this.requestStatus();
  }

  /** argv, env and working directory of the next run; throws ContainerConfigError on what to wait for. */
  private async prepareContainer(slot: Slot): Promise<Prepared> {
    const spec = slot.spec;
    const image = slot.image as LabImage;
    const objects = await this.ctx.api.envObjects(this.ref.namespace, envReferences([spec])).catch((err: unknown) => {
      // The apiserver did not answer: wait and try again, like a missing object.
      throw new ContainerConfigError(
        `reading the container's Secrets and ConfigMaps: ${err instanceof Error ? err.message : String(err)}`,
      );
    });
    const vars = resolveEnv(this.pod, spec, objects, this.ctx.facts, this.ctx.serviceEnv);

    const root = containerRoot(this.ctx.stateDir, this.ref.uid, spec.name);
    const links = mountLinks(
      (spec.volumeMounts ?? []).map((m) => ({
        name: m.name,
        mountPath: m.mountPath,
        subPath: m.subPath ?? (m.subPathExpr ? expand(m.subPathExpr, vars) : undefined),
      })),
      this.volumeDirs,
    );
    // The termination message file is one per container run, like the file the real kubelet
    // bind-mounts at terminationMessagePath: here `<root><terminationMessagePath>`, and an argument
    // or env value naming that path is rewritten to it like a mount path (so `--x=/dev/termination-log`
    // writes the container's own file, never the host's /dev).
    const terminationMessagePath = normalizeMountPath(spec.terminationMessagePath ?? '/dev/termination-log');
    const terminationMessageFile = hostPathOf(root, terminationMessagePath);
    await fsp.mkdir(root, { recursive: true });
    for (const link of links) {
      const at = hostPathOf(root, link.mountPath);
      await fsp.mkdir(link.target, { recursive: true });
      await fsp.mkdir(path.dirname(at), { recursive: true });
      await fsp.rm(at, { recursive: true, force: true });
      await fsp.symlink(link.target, at);
    }
    const mountPaths = [...links.map((l) => l.mountPath), terminationMessagePath];
    const rewrite = (s: string): string => rewritePath(s, mountPaths, root);

    const command = spec.command?.map((s) => expand(s, vars));
    const args = spec.args?.map((s) => expand(s, vars));
    const resolved = resolveCommand(image, command, args);
    // A missing executable is a start error of this run (exit code 128), not a config error.
    if (!resolved.ok) throw new Error(resolved.message);
    // The image's own executable (e.g. node + this checkout's entrypoint) is a host path already: a
    // checkout under a mountPath (say /tmp) must not be rewritten into the container root.
    const argv = [...resolved.argv.slice(0, resolved.hostArgs), ...resolved.argv.slice(resolved.hostArgs).map(rewrite)];

    const cwd = spec.workingDir ? hostPathOf(root, spec.workingDir) : root;
    await fsp.mkdir(cwd, { recursive: true });
    await fsp.mkdir(path.dirname(terminationMessageFile), { recursive: true });
    await fsp.writeFile(terminationMessageFile, '');

    const env: Record<string, string> = {
      PATH: `${path.dirname(process.execPath)}:${DEFAULT_PATH}`,
      HOSTNAME: this.pod.spec?.hostname ?? this.ref.name,
      HOME: root,
    };
    for (const [k, v] of vars) env[k] = rewrite(v);
    env.KUBE_LAB_ROOT = root;
    return { argv, env, cwd, root, terminationMessageFile };
  }

  /** One run of a container as a host process; resolves when it has exited. */
  private async runOnce(slot: Slot, prepared: Prepared): Promise<Terminated> {
    const name = slot.spec.name;
    const restartCount = slot.rec.restartCount;
    const containerID = `kube-lab://${this.ref.uid}/${name}/${restartCount}`;
    const logFile = containerLogPath(this.ctx.stateDir, this.ref, name, restartCount);
    await fsp.mkdir(path.dirname(logFile), { recursive: true });
    const fd = fs.openSync(logFile, 'a');
    const startedAt = now();
    let child: ChildProcess;
    try {
      child = spawn(prepared.argv[0] ?? '', prepared.argv.slice(1), {
        cwd: prepared.cwd,
        env: prepared.env,
        detached: true, // its own process group (setsid), so the whole container can be signalled
        stdio: ['ignore', fd, fd],
      });
    } finally {
      fs.closeSync(fd);
    }
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const spawned = await Promise.race([
      new Promise<boolean>((resolve) => child.once('spawn', () => resolve(true))),
      exit.then(() => false),
    ]);
    let result: Awaited<typeof exit>;
    if (!spawned) {
      result = await exit;
    } else {
      const pid = child.pid as number;
      this.processes.set(name, { child, exited: exit.then(() => undefined) });
      // Stopped while it was starting: it gets the signal the others got.
      if (this.stopping) killGroup(pid, this.stopping === 'gone' ? 'SIGKILL' : 'SIGTERM');
      const pidFile = containerPidFile(this.ctx.stateDir, this.ref.uid, name);
      await fsp.mkdir(path.dirname(pidFile), { recursive: true });
      await fsp.writeFile(pidFile, String(pid));
      slot.rec = { ...slot.rec, containerID, imageID: slot.rec.imageID, state: { running: { startedAt } } };
      this.log.info({ container: name, pid, argv: prepared.argv, log: logFile }, 'container started');
      this.ctx.api.event(this.ref, 'Normal', 'Started', `Started container ${name}`);
      this.requestStatus();
      result = await exit;
      this.processes.delete(name);
      // The container is over when its main process is: take the rest of its process group along.
      killGroup(pid, 'SIGKILL');
      await fsp.rm(pidFile, { force: true });
    }

    let terminated: Terminated;
    if (result.error) {
      terminated = {
        exitCode: 128,
        reason: 'StartError',
        message: `failed to start container process: ${result.error.message}`,
        startedAt,
        finishedAt: now(),
        containerID,
      };
    } else {
      const signo = result.signal ? (os.constants.signals[result.signal] ?? 0) : undefined;
      const exitCode = result.code ?? 128 + (signo ?? 0);
      const message = await this.terminationMessage(slot.spec, prepared, logFile, exitCode);
      terminated = {
        exitCode,
        ...(signo ? { signal: signo } : {}),
        reason: terminatedReason(exitCode),
        ...(message ? { message } : {}),
        startedAt,
        finishedAt: now(),
        containerID,
      };
    }
    this.log.info({ container: name, exitCode: terminated.exitCode, reason: terminated.reason }, 'container exited');
    slot.rec = { ...slot.rec, state: { terminated } };
    this.requestStatus();
    return terminated;
  }

  private async terminationMessage(
    spec: V1Container,
    prepared: Prepared,
    logFile: string,
    exitCode: number,
  ): Promise<string> {
    const data = await fsp.readFile(prepared.terminationMessageFile).catch(() => Buffer.alloc(0));
    const fromFile = terminationMessageFromFile(data, terminationMessageBudget(this.slots.length));
    if (fromFile) return fromFile;
    if (spec.terminationMessagePolicy === 'FallbackToLogsOnError' && exitCode !== 0) {
      return logTail(await fsp.readFile(logFile, 'utf8').catch(() => ''));
    }
    return '';
  }

  // --- stopping -------------------------------------------------------------------------------

  private armDeadline(): void {
    const seconds = this.pod.spec?.activeDeadlineSeconds;
    if (seconds === undefined || seconds === null) return;
    const remaining = this.startedAtMs + seconds * 1000 - Date.now();
    this.deadlineTimer = setTimeout(
      () => {
        this.log.info({ activeDeadlineSeconds: seconds }, 'pod deadline exceeded: killing its containers');
        this.ctx.api.event(
          this.ref,
          'Normal',
          'DeadlineExceeded',
          'Pod was active on the node longer than the specified deadline',
        );
        this.stop('deadline', this.pod.spec?.terminationGracePeriodSeconds ?? 30);
      },
      Math.max(0, remaining),
    );
  }

  /** SIGTERM to every container's process group, SIGKILL after `graceSeconds`. */
  private stop(reason: StopReason, graceSeconds: number): void {
    // The first reason decides the final status (a pod past its deadline and then deleted stays
    // DeadlineExceeded); 'gone' overrides all, since there is nothing left to write to. Every call
    // signals again, so a deletion with a shorter grace period hurries an earlier stop.
    if (reason === 'gone') this.stopping = 'gone';
    else this.stopping ??= reason;
    if (this.stopping === 'deadline') {
      // Decided now, not when the last container is gone: the status written as a container exits
      // must already say why, or a watcher can read phase Failed with no reason.
      this.rec.forcedPhase = 'Failed';
      this.rec.reason = 'DeadlineExceeded';
      this.rec.message = 'Pod was active on the node longer than the specified deadline';
    }
    this.abort.abort();
    for (const [name, { child, exited }] of this.processes) {
      const pid = child.pid as number;
      if (graceSeconds <= 0) {
        killGroup(pid, 'SIGKILL');
        continue;
      }
      this.ctx.api.event(this.ref, 'Normal', 'Killing', `Stopping container ${name}`);
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceSeconds * 1000);
      void exited.then(() => clearTimeout(timer));
    }
  }

  /** The final status, once no container runs any more. */
  private async finish(): Promise<void> {
    if (this.stopping === 'deleted' && !this.rec.forcedPhase) {
      const phase = podPhase(this.record());
      if (phase !== 'Succeeded' && phase !== 'Failed') {
        // Deleted while running: terminal before it goes, as the kubelet does since 1.27.
        const main = this.slots.filter((s) => !s.init);
        const allZero = main.every((s) => isTerminated(s.rec.state) && s.rec.state.terminated.exitCode === 0);
        this.rec.forcedPhase = allZero ? 'Succeeded' : 'Failed';
      }
    }
    // Containers that never ran (or wait to restart) are over too once the pod is terminal.
    if (this.stopping && this.stopping !== 'shutdown') {
      for (const slot of this.slots) {
        const state = slot.rec.state;
        if (isWaiting(state) && state.waiting.reason === 'CrashLoopBackOff' && slot.rec.lastState) {
          slot.rec = { ...slot.rec, state: { terminated: slot.rec.lastState.terminated } };
        }
      }
    }
    if (this.stopping === 'gone' || this.stopping === 'shutdown') return;
    await this.flushStatus();
    this.log.info({ phase: podPhase(this.record()), reason: this.rec.reason }, 'pod finished');
  }

  private async finishDeletion(): Promise<void> {
    if (this.stopping === 'gone') return;
    // finish() wrote the final status; with the processes gone, the pod object can go.
    await this.ctx.api.deletePod(this.ref);
    await this.removeLocalState();
    this.log.info('pod deleted');
  }

  /** Volumes and container roots go with the pod; logs stay (see layout.ts). */
  private async removeLocalState(): Promise<void> {
    await fsp.rm(podDir(this.ctx.stateDir, this.ref.uid), { recursive: true, force: true });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.abort.signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  // --- status ---------------------------------------------------------------------------------

  private record(): PodRecord {
    return {
      ...this.rec,
      initContainers: this.slots.filter((s) => s.init).map((s) => s.rec),
      containers: this.slots.filter((s) => !s.init).map((s) => s.rec),
    };
  }

  /** Coalesces status writes: one in flight, the latest state written last. */
  private requestStatus(): void {
    if (this.stopping === 'gone') return;
    this.statusDirty = true;
    this.statusWriting ??= this.writeLoop().finally(() => {
      this.statusWriting = undefined;
    });
  }

  private async flushStatus(): Promise<void> {
    this.requestStatus();
    while (this.statusWriting) await this.statusWriting;
  }

  private async writeLoop(): Promise<void> {
    while (this.statusDirty && this.stopping !== 'gone') {
      this.statusDirty = false;
      const status = podStatus(this.record(), this.conditions, now());
      try {
        const result = await this.ctx.api.patchStatus(this.ref, status);
        if (result === 'gone') {
          this.log.info('pod no longer exists: stopping it');
          void this.gone();
          return;
        }
        this.conditions = status.conditions as PodCondition[];
      } catch (err) {
        this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'pod status write failed; retrying');
        this.statusDirty = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * The container's record when this kubelet takes over a pod from an earlier one: a container that
 * was running lost its process with the kubelet, and is reported like the kubelet reports a container
 * it cannot find any more.
 */
function adopt(spec: V1Container, previous: ContainerRecord | undefined): ContainerRecord {
  const fresh: ContainerRecord = {
    name: spec.name,
    image: spec.image ?? '',
    imageID: `kube-lab://${spec.image ?? ''}`,
    restartCount: 0,
    state: { waiting: { reason: 'ContainerCreating' } },
  };
  if (!previous) return fresh;
  const base = { ...fresh, restartCount: previous.restartCount ?? 0, containerID: previous.containerID };
  const last =
    previous.lastState && 'terminated' in previous.lastState
      ? { terminated: previous.lastState.terminated }
      : undefined;
  const state = previous.state ?? {};
  if ('terminated' in state && state.terminated)
    return { ...base, state: { terminated: state.terminated }, ...(last ? { lastState: last } : {}) };
  if ('running' in state || last) {
    const lost: Terminated = {
      exitCode: 137,
      reason: 'ContainerStatusUnknown',
      message: 'The container could not be located when the pod was terminated (the kube-lab kubelet restarted)',
      finishedAt: now(),
    };
    return { ...base, state: { terminated: lost }, ...(last ? { lastState: last } : {}) };
  }
  return base;
}
