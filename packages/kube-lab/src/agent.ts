import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Watch, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '@webrana/logger';
import type { KubeletConfig } from './config';
import type { NodeFacts } from './env';
import { resolveImage } from './images';
import {
  bindPod,
  connect,
  errorMessage,
  podApi,
  postNodeStatus,
  registerNode,
  renewLease,
  serverVersion,
  type Cluster,
  type NodeRegistration,
} from './kube-api';
import { startLogServer, type FindContainerLogs } from './log-server';
import { PodWorker, type WorkerContext } from './pod-worker';

const HEARTBEAT_MS = 10_000;
/** The file the start script waits for: the Node is registered and the first pod list handled. */
export const READY_FILE = 'kubelet.ready';

/**
 * The kube-lab kubelet: one Node, the scheduler's one job (binding pending pods to it) and a
 * PodWorker per pod on it. List+watch of all pods; heartbeats by Lease and Node status.
 */
export class Kubelet {
  private readonly cluster: Cluster;
  private reg: NodeRegistration;
  private logServer: { close: () => Promise<void> } | undefined;
  private readonly ctx: WorkerContext;
  private readonly workers = new Map<string, PodWorker>();
  private readonly binding = new Set<string>();
  private stopped = false;
  private watchAbort: AbortController | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private nodeUid = '';
  private readonly readySince = new Date();
  private kubeletVersion = '';

  constructor(
    private readonly config: KubeletConfig,
    private readonly log: Logger,
  ) {
    this.cluster = connect(config.kubeconfig);
    const facts: NodeFacts = {
      nodeName: config.nodeName,
      hostIP: '127.0.0.1',
      podIP: '127.0.0.1',
      allocatable: { cpu: os.cpus().length, memory: os.totalmem(), ephemeralStorage: diskBytes(config.stateDir) },
    };
    this.reg = { nodeName: config.nodeName, facts, kubeletPort: 0 };
    const host = this.cluster.server.hostname;
    const port = this.cluster.server.port || '443';
    this.ctx = {
      stateDir: config.stateDir,
      facts,
      serviceEnv: {
        KUBERNETES_SERVICE_HOST: host,
        KUBERNETES_SERVICE_PORT: port,
        KUBERNETES_SERVICE_PORT_HTTPS: port,
        KUBERNETES_PORT: `tcp://${host}:${port}`,
      },
      resolveImage: (reference) =>
        resolveImage(reference, { repoRoot: config.repoRoot, nodePath: process.execPath, fileExists: fs.existsSync }),
      api: podApi(this.cluster, config.nodeName, log),
      log,
      restartBackoff: { initialMs: config.restartBackoffMs, maxMs: config.maxRestartBackoffMs },
      retryMs: config.retryMs,
    };
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.config.stateDir, { recursive: true });
    await fsp.rm(path.join(this.config.stateDir, READY_FILE), { force: true });
    await this.reapOrphans();
    const tls = {
      cert: await fsp.readFile(this.config.tlsCertFile),
      key: await fsp.readFile(this.config.tlsPrivateKeyFile),
      ca: await fsp.readFile(this.config.clientCaFile),
    };
    const logServer = await startLogServer(tls, this.config.port, this.findContainerLogs, this.log);
    this.logServer = logServer;
    this.reg = { ...this.reg, kubeletPort: logServer.port };
    this.kubeletVersion = await serverVersion(this.cluster);
    this.nodeUid = await registerNode(this.cluster, this.reg);
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.log.info({ node: this.config.nodeName, server: this.cluster.server.origin }, 'node registered and Ready');
    let firstSync!: () => void;
    const synced = new Promise<void>((resolve) => (firstSync = resolve));
    void this.listAndWatch(firstSync);
    await synced;
    await fsp.writeFile(path.join(this.config.stateDir, READY_FILE), `${process.pid}\n`);
  }

  /** Stops watching, kills every container (SIGTERM, SIGKILL after `graceSeconds`), marks the Node NotReady. */
  async stop(graceSeconds = 2): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.watchAbort?.abort();
    // Workers send SIGTERM, then SIGKILL after the grace period; a worker stuck on an apiserver that
    // is gone is not waited for beyond that.
    await Promise.race([
      Promise.all([...this.workers.values()].map((w) => w.shutdown(graceSeconds))),
      new Promise((r) => setTimeout(r, (graceSeconds + 3) * 1000)),
    ]);
    await fsp.rm(path.join(this.config.stateDir, READY_FILE), { force: true });
    await this.logServer?.close();
    await Promise.race([
      postNodeStatus(this.cluster, this.reg, false, new Date(), this.kubeletVersion).catch(() => undefined),
      new Promise((r) => setTimeout(r, 2000)),
    ]);
    this.log.info('kubelet stopped');
  }

  private async beat(): Promise<void> {
    try {
      await renewLease(this.cluster, this.config.nodeName, this.nodeUid);
      await postNodeStatus(this.cluster, this.reg, true, this.readySince, this.kubeletVersion);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'node heartbeat failed');
    }
  }

  private readonly findContainerLogs: FindContainerLogs = (namespace, pod, container) => {
    for (const worker of this.workers.values()) {
      if (worker.ref.namespace === namespace && worker.ref.name === pod) return worker.containerLogs(container);
    }
    return undefined;
  };

  // --- pods ---------------------------------------------------------------------------------

  private async listAndWatch(firstSync: () => void): Promise<void> {
    while (!this.stopped) {
      try {
        const list = await this.cluster.core.listPodForAllNamespaces();
        // Plain JSON, like watch events (the typed list holds Date objects).
        const pods = JSON.parse(JSON.stringify(list.items)) as V1Pod[];
        this.sync(pods);
        firstSync();
        await this.watch(list.metadata?.resourceVersion);
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'pod list/watch failed; retrying');
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Resolves when the watch ends (server timeout, error, 410 Gone); the caller lists again. */
  private async watch(resourceVersion: string | undefined): Promise<void> {
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const watch = new Watch(this.cluster.kc);
    this.watchAbort = await watch.watch(
      '/api/v1/pods',
      { resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: V1Pod) => {
        if (type === 'BOOKMARK') return;
        if (type === 'ERROR') {
          this.log.info({ status: obj }, 'pod watch expired; listing again');
          this.watchAbort?.abort();
          ended();
          return;
        }
        this.onPod(type === 'DELETED' ? 'DELETED' : 'UPSERT', obj);
      },
      (err: unknown) => {
        if (err && !this.stopped) this.log.info({ err: errorMessage(err) }, 'pod watch ended');
        ended();
      },
    );
    if (this.stopped) this.watchAbort.abort();
    await done;
  }

  /** A full list: everything in it is current, and workers of pods missing from it are gone. */
  private sync(pods: readonly V1Pod[]): void {
    const seen = new Set<string>();
    for (const pod of pods) {
      seen.add(pod.metadata?.uid ?? '');
      this.onPod('UPSERT', pod);
    }
    for (const [uid, worker] of this.workers) {
      if (!seen.has(uid)) {
        this.workers.delete(uid);
        void worker.gone();
      }
    }
  }

  private onPod(type: 'UPSERT' | 'DELETED', pod: V1Pod): void {
    if (this.stopped) return;
    const uid = pod.metadata?.uid ?? '';
    if (type === 'DELETED') {
      const worker = this.workers.get(uid);
      if (worker) {
        this.workers.delete(uid);
        void worker.gone();
      }
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) {
      if (schedulable(pod)) void this.bind(pod);
      return;
    }
    if (nodeName !== this.config.nodeName) return;
    let worker = this.workers.get(uid);
    if (!worker) {
      worker = new PodWorker(this.ctx, pod);
      this.workers.set(uid, worker);
    }
    worker.update(pod);
  }

  private async bind(pod: V1Pod): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    if (this.binding.has(uid)) return;
    this.binding.add(uid);
    const where = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    try {
      for (let attempt = 1; !this.stopped; attempt++) {
        try {
          if ((await bindPod(this.cluster, pod, this.config.nodeName)) === 'bound') {
            this.log.info({ pod: where }, 'pod bound to this node');
            this.ctx.api.event(
              { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', uid },
              'Normal',
              'Scheduled',
              `Successfully assigned ${where} to ${this.config.nodeName}`,
            );
          }
          return;
        } catch (err) {
          this.log.warn({ pod: where, attempt, err: errorMessage(err) }, 'binding failed; retrying');
          await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5000)));
        }
      }
    } finally {
      this.binding.delete(uid);
    }
  }

  /**
   * Container processes a killed kubelet left behind: their process groups, found by the pid files
   * under the state directory and checked by their KUBE_LAB_ROOT, get SIGKILL.
   */
  private async reapOrphans(): Promise<void> {
    const podsDir = path.join(this.config.stateDir, 'pods');
    const uids = await fsp.readdir(podsDir).catch(() => [] as string[]);
    for (const uid of uids) {
      const pidDir = path.join(podsDir, uid, 'pids');
      for (const name of await fsp.readdir(pidDir).catch(() => [] as string[])) {
        const pid = Number(await fsp.readFile(path.join(pidDir, name), 'utf8').catch(() => ''));
        const environ = pid > 0 ? await fsp.readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '') : '';
        if (environ.split('\0').some((v) => v.startsWith(`KUBE_LAB_ROOT=${path.join(podsDir, uid)}/`))) {
          this.log.info({ pid, pod: uid, container: name }, 'killing a container process left by an earlier kubelet');
          try {
            process.kill(-pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
        await fsp.rm(path.join(pidDir, name), { force: true });
      }
    }
  }
}

/** Pods this node's stand-in scheduler takes: default scheduler, not gated, not terminal, not deleted. */
export function schedulable(pod: V1Pod): boolean {
  const spec = pod.spec;
  if (!spec || spec.nodeName) return false;
  if ((spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') return false;
  if ((spec.schedulingGates ?? []).length > 0) return false;
  if (pod.metadata?.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

function diskBytes(dir: string): number {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 10 * 2 ** 30;
  }
}
