// What the operator benchmarks add to operator/test/harness.ts (which installs the chart, writes the
// ServiceAccount kubeconfig and runs the operator for them): where they run, the operator's production
// lease timing, Prometheus counters by label, and raw apiserver watches that timestamp every event.
import * as https from 'node:https';
import { performance } from 'node:perf_hooks';
import { kubectl, stopRealNodeOfRun, type KubeLab } from '@webrana/kube-lab';

/** operator/src/runtime/config.ts's defaults: the harness's fast test lease would inflate Lease writes. */
export const PRODUCTION_LEASE = {
  LEASE_DURATION_SECONDS: '30',
  RENEW_PERIOD_SECONDS: '10',
  RENEW_DEADLINE_SECONDS: '20',
  RETRY_PERIOD_SECONDS: '5',
};

/**
 * Where the operator benchmarks run, recorded with their results: figures measured before (on the
 * stand-in kubelet, whose pods were host processes) carry no `cluster` and are not comparable.
 */
export const REAL_NODE_CLUSTER =
  "kube-lab's real node (kubelet, containerd, runc): every pod a container of the project's images, the " +
  "operator a host process with its chart's ServiceAccount token, PostgreSQL the namespace's own";

/**
 * `fn` as one run of the real node (WEBRANA_TEST_RUN, which openRealNodeNamespace's hold goes by):
 * benchmarks it spawns share the node the first one starts, and the node is stopped at the end if this
 * run started it, as jest's global teardown does for a test run. Inside a run already (jest, or a
 * benchmark under `npm run bench`) it only runs `fn`: that run stops the node.
 */
export async function asOneRealNodeRun<T>(fn: () => Promise<T>): Promise<T> {
  if (process.env.WEBRANA_TEST_RUN) return fn();
  const run = (process.env.WEBRANA_TEST_RUN = `bench-${process.pid}`);
  try {
    return await fn();
  } finally {
    await stopRealNodeOfRun(run);
  }
}

/** A counter's series summed by the value of one label. */
export function byLabel(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:]+)\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const v = new RegExp(`${label}="([^"]*)"`).exec(m[2]!)?.[1] ?? '';
    out[v] = (out[v] ?? 0) + Number(m[3]);
  }
  return out;
}

/** The lab apiserver's version (gitVersion). */
export async function kubernetesVersion(lab: KubeLab): Promise<string> {
  const v = JSON.parse((await kubectl(lab, ['version', '-o', 'json'])).stdout) as {
    serverVersion?: { gitVersion?: string };
  };
  return v.serverVersion?.gitVersion ?? 'unknown';
}

export interface AdminAccess {
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** The admin credentials of the lab's kubeconfig, for talking to the apiserver without kubectl. */
export async function adminAccess(lab: KubeLab): Promise<AdminAccess> {
  const cfg = JSON.parse((await kubectl(lab, ['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout) as {
    clusters: { cluster: { server: string; 'certificate-authority-data'?: string } }[];
    users: { user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
  };
  const cluster = cfg.clusters[0]!.cluster;
  const user = cfg.users[0]!.user;
  const b64 = (s?: string) => (s ? Buffer.from(s, 'base64') : undefined);
  return {
    server: new URL(cluster.server),
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
}

export interface WatchEvent {
  type: string;
  object: KubeWatched;
}

/** The fields the benchmarks read from watched objects. */
export interface KubeWatched {
  metadata: {
    name: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
  };
  status?: {
    phase?: string;
    startTime?: string;
    completionTime?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }[];
    containerStatuses?: {
      state?: {
        running?: object;
        terminated?: { exitCode: number; message?: string; startedAt?: string; finishedAt?: string };
      };
    }[];
  };
}

export interface Watch {
  readonly failed: Error | undefined;
  stop(): void;
}

/**
 * A watch on `apiPath` (e.g. /apis/batch/v1/namespaces/x/jobs?labelSelector=...); `onEvent(event, ms)`
 * gets each event with the time it arrived (performance.now()). Resolves once the apiserver answered
 * (the watch is established: later changes are all delivered); `failed` is set when the stream broke
 * before stop() was called.
 */
export function watch(
  access: AdminAccess,
  apiPath: string,
  onEvent: (e: WatchEvent, at: number) => void,
): Promise<Watch> {
  const sep = apiPath.includes('?') ? '&' : '?';
  return new Promise((resolve, reject) => {
    const state: { failed: Error | undefined; stopped: boolean } = { failed: undefined, stopped: false };
    const req = https.request(
      {
        host: access.server.hostname,
        port: access.server.port,
        path: `${apiPath}${sep}watch=1&timeoutSeconds=3600`,
        ca: access.ca,
        cert: access.cert,
        key: access.key,
        headers: { accept: 'application/json' },
      },
      (res) => {
        if (res.statusCode !== 200) {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString('utf8')));
          res.on('end', () => reject(new Error(`watch ${apiPath}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`)));
          return;
        }
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const at = performance.now();
          buffer += chunk;
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) if (line.trim()) onEvent(JSON.parse(line) as WatchEvent, at);
        });
        res.on('end', () => {
          if (!state.stopped) state.failed = new Error(`watch ${apiPath} ended early`);
        });
        resolve({
          get failed() {
            return state.failed;
          },
          stop() {
            state.stopped = true;
            req.destroy();
          },
        });
      },
    );
    req.on('error', (err) => {
      if (state.stopped) return;
      state.failed = err;
      reject(err);
    });
    req.end();
  });
}
