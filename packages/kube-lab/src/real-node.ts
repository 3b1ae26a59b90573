import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';
import { REPO_ROOT } from '@webrana/registry';
import { apply, deleteNamespace, freshNamespace, kubectl, run, type KubeLab, type RunResult } from './lab';

/**
 * kube-lab's cluster: one real node (kubelet + containerd + runc + CNI bridge + kube-proxy + kube-router's
 * NetworkPolicy firewall) beside the control plane, started by scripts/kube-lab/start. It is not left
 * running: the first test file of a run that needs it starts it (useRealNode), the others share it, and
 * the run's global teardown stops it (scripts/kube-lab/stop), removing everything it added to the machine.
 */
export interface RealNode extends KubeLab {
  /** The node's address (on lo): the apiserver, the kubelet and the test PostgreSQL listen on it. */
  readonly nodeIp: string;
  readonly nodeName: string;
  /** containerd's socket (ctr --address). */
  readonly containerdSocket: string;
}

/** The project's images as the node knows them (scripts/kube-lab/load-images names them so). */
export const IMAGES = [
  'auth-service',
  'catalog-service',
  'order-service',
  'billing-service',
  'jobs',
  'operator',
] as const;
export type ImageName = (typeof IMAGES)[number];

/** The pod network the real node's CNI bridge hands out (scripts/kube-lab/start). */
export const REAL_NODE_POD_CIDR = '10.244.0.0/24';

const SCRIPTS = path.join(REPO_ROOT, 'scripts', 'kube-lab');

/** `docker.io/webrana/<image>:<appVersion>`, the reference scripts/kube-lab/load-images imports. */
export function imageRef(image: ImageName): string {
  const chart = fs.readFileSync(path.join(REPO_ROOT, 'charts', 'webrana-service', 'Chart.yaml'), 'utf8');
  const version = /^appVersion:\s*'?([^'\s]+)'?\s*$/m.exec(chart)?.[1];
  if (!version) throw new Error('charts/webrana-service/Chart.yaml has no appVersion');
  return `docker.io/webrana/${image}:${version}`;
}

function failure(what: string, r: RunResult): Error {
  return new Error(`${what} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-40).join('\n')}`);
}

const STATE_DIR = process.env.KUBE_LAB_REAL_STATE ?? '/tmp/webrana-kube-lab-real';
const LOCK_FILE = `${STATE_DIR}.lock`;
/** Which test run started the node (the jest run id of packages/testing's global setup). */
const OWNER_FILE = path.join(STATE_DIR, 'jest-run');

/** The node described by the exports `script` prints (scripts/kube-lab/start, or its kept <state>/env). */
async function nodeFromExports(what: string, script: string, timeoutMs: number, scripts = SCRIPTS): Promise<RealNode> {
  const t0 = Date.now();
  const r = await run('bash', ['-c', `set -euo pipefail; ${script}; env -0`, 'kube-lab', scripts, STATE_DIR], {
    timeoutMs,
    onStderrLine: (line) => {
      if (line.startsWith('build:')) process.stderr.write(`kube-lab ${line}\n`);
    },
  });
  if (r.code !== 0) throw failure(what, r);
  const printed = new Map(
    r.stdout
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const take = (name: string): string => {
    const v = printed.get(name);
    if (v === undefined) throw new Error(`${what} printed no ${name}`);
    return v;
  };
  const kubeconfig = take('KUBECONFIG');
  const stateDir = take('KUBE_LAB_REAL_STATE');
  return {
    stateDir,
    kubeconfig,
    nodeIp: take('KUBE_LAB_NODE_IP'),
    nodeName: take('KUBE_LAB_NODE_NAME'),
    containerdSocket: take('CONTAINERD_ADDRESS'),
    env: {
      ...process.env,
      PATH: take('PATH'),
      KUBECONFIG: kubeconfig,
      HELM_CONFIG_HOME: take('HELM_CONFIG_HOME'),
      HELM_CACHE_HOME: take('HELM_CACHE_HOME'),
      HELM_DATA_HOME: take('HELM_DATA_HOME'),
    },
    startSeconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Starts a fresh cluster (stopping a previous one first). Needs root; see scripts/kube-lab/start --help.
 * `scripts`: the directory of `start` (tests give another).
 */
export function startRealNode(scripts = SCRIPTS): Promise<RealNode> {
  // Assigned first: `eval "$(start)"` would eval nothing and succeed when start fails, hiding its error.
  const script = 'exports="$("$1/start")"; eval "$exports"';
  return nodeFromExports('scripts/kube-lab/start', script, 30 * 60_000, scripts);
}

/** The node this test run started, if it is still up and Ready (another run's node is never reused). */
async function runningNodeOf(runId: string): Promise<RealNode | undefined> {
  if (!fs.existsSync(path.join(STATE_DIR, 'env')) || readOwner() !== runId) return undefined;
  const node = await nodeFromExports("the real node's <state>/env", 'source "$2/env"', 30_000).catch(() => undefined);
  if (!node) return undefined;
  const ready = await kubectl(node, [
    'get',
    'node',
    node.nodeName,
    '--request-timeout=10s',
    '-o',
    'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
  ]).catch(() => undefined);
  return ready?.stdout.trim() === 'True' ? node : undefined;
}

function readOwner(): string | undefined {
  try {
    return fs.readFileSync(OWNER_FILE, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** This jest run's id (set by packages/testing's global setup); outside jest, this process. */
export function testRunId(): string {
  return process.env.WEBRANA_TEST_RUN ?? `pid-${process.pid}`;
}

/** A test file's hold on the real node (lockRealNode), released by `release`. */
export interface RealNodeHold {
  readonly node: RealNode;
  /** Seconds this file spent importing the images (0 when the node was already up). */
  readonly imagesSeconds: number;
  release(): void;
}

/**
 * The real node for this test run, held `shared` (beside the run's other files) or `exclusive`: the one
 * the run already started, or a fresh one with the project's images imported. A start lock makes the
 * files arriving together start one node, not two; a node of another run (a second jest at once) is
 * restarted only when none of its files uses it any more. An exclusive holder keeps the start lock
 * too, so that no file takes the node it may stop (the stop test) before it is done.
 */
export async function holdRealNode(mode: 'shared' | 'exclusive'): Promise<RealNodeHold> {
  // One shared hold per process: a process that asked for the start lock while holding the node shared
  // would deadlock with another run's file holding the start lock while it waits for the node alone.
  return mode === 'shared' ? sharedHold() : lockAndHold('exclusive');
}

const sharedHold = counted(() => lockAndHold('shared'));

/**
 * `acquire`, shared within this process: the holds taken while one is held are that one (counted, with
 * imagesSeconds 0 but for the first), released when the last of them is.
 */
export function counted(acquire: () => Promise<RealNodeHold>): () => Promise<RealNodeHold> {
  let held: { hold: Promise<RealNodeHold>; count: number } | undefined;
  return async () => {
    const current = (held ??= { hold: acquire(), count: 0 });
    current.count += 1;
    const first = current.count === 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      current.count -= 1;
      if (current.count > 0) return;
      if (held === current) held = undefined;
      void current.hold.then(
        (h) => h.release(),
        () => undefined,
      );
    };
    try {
      const { node, imagesSeconds } = await current.hold;
      return { node, imagesSeconds: first ? imagesSeconds : 0, release };
    } catch (err) {
      release();
      throw err;
    }
  };
}

async function lockAndHold(mode: 'shared' | 'exclusive'): Promise<RealNodeHold> {
  const startLock = await lockRealNode('exclusive', `${LOCK_FILE}.start`);
  try {
    let node = await runningNodeOf(testRunId());
    let imagesSeconds = 0;
    if (!node) {
      const alone = await lockRealNode('exclusive');
      try {
        node = await startRealNode();
        imagesSeconds = (await loadImages()).seconds;
        fs.writeFileSync(OWNER_FILE, `${testRunId()}\n`);
      } finally {
        alone.kill('SIGKILL');
      }
    }
    const use = await lockRealNode(mode);
    if (mode === 'shared') startLock.kill('SIGKILL');
    return {
      node,
      imagesSeconds,
      release: () => {
        use.kill('SIGKILL');
        startLock.kill('SIGKILL');
      },
    };
  } catch (err) {
    startLock.kill('SIGKILL');
    throw err;
  }
}

/** Stops the node if this test run started it (jest global teardown): waits until no file uses it. */
export async function stopRealNodeOfRun(runId: string): Promise<void> {
  // A run that did not start the node has nothing to stop, and no reason to wait for other runs' files.
  if (readOwner() !== runId) return;
  const lock = await lockRealNode('exclusive');
  try {
    if (readOwner() === runId) await stopRealNode();
  } finally {
    lock.kill('SIGKILL');
  }
}

/** Builds the images that are missing (scripts/images) and imports all six into the node's containerd. */
export async function loadImages(): Promise<{ seconds: number; log: string }> {
  const t0 = Date.now();
  const r = await run(path.join(SCRIPTS, 'load-images'), [], { timeoutMs: 40 * 60_000 });
  if (r.code !== 0) throw failure('scripts/kube-lab/load-images', r);
  return { seconds: (Date.now() - t0) / 1000, log: r.stdout + r.stderr };
}

/** Stops the cluster and removes what it added to the machine (scripts/kube-lab/stop). */
export async function stopRealNode(): Promise<RunResult> {
  const r = await run(path.join(SCRIPTS, 'stop'), [], { timeoutMs: 180_000 });
  if (r.code !== 0) throw failure('scripts/kube-lab/stop', r);
  fs.rmSync(OWNER_FILE, { force: true });
  return r;
}

/** A PostgreSQL on the host that pods reach: it listens on the node IP and lets the pod network in. */
export interface NodePostgres {
  /** The host's URL (127.0.0.1), superuser. */
  readonly url: string;
  readonly port: number;
  /** The selector-less Service in the test namespace whose EndpointSlice points at node IP:port. */
  readonly serviceIp: string;
  /** A URL pods use (through the Service's ClusterIP) for database `db`. */
  podUrl(db: string): string;
  /**
   * helm flags that open the service chart's NetworkPolicy to this PostgreSQL, whose port is not the
   * chart's default 5432 (policies see the node's port, after the Service): for the umbrella, pass its
   * service keys; for the service chart alone, nothing.
   */
  networkPolicyFlags(umbrellaKeys?: readonly string[]): string[];
}

export interface RealNodeNamespace extends RealNode {
  /** A namespace labelled pod-security.kubernetes.io/enforce=restricted. */
  readonly ns: string;
  readonly postgres: NodePostgres;
  /** Seconds spent importing the images (including any build scripts/images had to do). */
  readonly imagesSeconds: number;
}

/** The selector-less Service + EndpointSlice that route pods to a port on the node IP. */
export function nodeServiceObjects(name: string, nodeIp: string, port: number): object[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: { ports: [{ name: 'tcp', port, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: `${name}-node`, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'tcp', port, protocol: 'TCP' }],
      endpoints: [{ addresses: [nodeIp], conditions: { ready: true } }],
    },
  ];
}

/** Labels a namespace so the apiserver's PodSecurity admission refuses any pod that is not hardened. */
export async function enforceRestricted(lab: KubeLab, ns: string): Promise<void> {
  await kubectl(lab, [
    'label',
    'namespace',
    ns,
    '--overwrite',
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/enforce-version=latest',
  ]);
}

/**
 * Holds a lock on the real node for as long as the returned child (`flock ... cat`) lives. Test files
 * hold it shared while they use the node (each in its own namespace, so they run side by side); what
 * must have the node alone (stopping it, a test whose measurements load would spoil) holds it
 * exclusive, and waits for the others. Release by killing the child.
 */
export async function lockRealNode(
  mode: 'shared' | 'exclusive',
  lockFile = LOCK_FILE,
  timeoutMs = 60 * 60_000,
): Promise<ChildProcess> {
  const child = spawn(
    'flock',
    [
      mode === 'shared' ? '--shared' : '--exclusive',
      '-w',
      String(Math.ceil(timeoutMs / 1000)),
      lockFile,
      'bash',
      '-c',
      'echo locked; exec cat >/dev/null',
    ],
    // The lock lives until stdin closes: when this process ends, however it ends, the lock goes with it.
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) =>
      reject(new Error(`could not lock ${lockFile} (flock exit ${code}): ${stderr.trim()}`)),
    );
    child.once('error', reject);
  });
  return child;
}

/** A namespace of the real node, open until `close`. */
export interface OpenRealNodeNamespace extends RealNodeNamespace {
  /** Deletes the namespace, stops its PostgreSQL and lets go of the node. */
  close(): Promise<void>;
}

/**
 * Takes the test run's real node (started by the first file that needs it, with the project's images
 * imported; stopped by the global teardown), starts a PostgreSQL the pods reach (Service `postgres` in
 * the namespace) and creates a restricted namespace `<prefix>-<random>`. Files share the node
 * (lockRealNode shared) unless `exclusive`. For code outside jest (benchmarks); tests use useRealNode.
 */
export async function openRealNodeNamespace(
  prefix: string,
  opts: { exclusive?: boolean } = {},
): Promise<OpenRealNodeNamespace> {
  const hold = await holdRealNode(opts.exclusive ? 'exclusive' : 'shared');
  const node = hold.node;
  let pg: RunningPostgres | undefined;
  let ns: string | undefined;
  const close = async () => {
    try {
      await deleteNamespace(node, ns).catch(() => undefined);
      await pg?.stop();
    } finally {
      hold.release();
    }
  };
  try {
    pg = await startEmbeddedPostgres({
      listenAddresses: `127.0.0.1,${node.nodeIp}`,
      allowCidrs: [REAL_NODE_POD_CIDR],
    });
    ns = await freshNamespace(node, prefix);
    await enforceRestricted(node, ns);
    await apply(node, ns, ...nodeServiceObjects('postgres', node.nodeIp, pg.port));
    const serviceIp = (
      await kubectl(node, ['get', 'service', 'postgres', '-n', ns, '-o', 'jsonpath={.spec.clusterIP}'])
    ).stdout.trim();
    const { port } = pg;
    const auth = new URL(pg.url);
    const postgres: NodePostgres = {
      url: pg.url,
      port,
      serviceIp,
      podUrl: (db) => `postgresql://${auth.username}:${auth.password}@${serviceIp}:${port}/${db}`,
      networkPolicyFlags: (umbrellaKeys = ['']) =>
        umbrellaKeys.flatMap((key) => ['--set-json', `${key ? `${key}.` : ''}networkPolicy.database.ports=[${port}]`]),
    };
    return { ...node, ns, postgres, imagesSeconds: hold.imagesSeconds, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Reads a value that exists only after beforeAll ran. */
function ready<T>(what: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`real node ${what}: read before its beforeAll ran`);
  return value;
}

/**
 * Jest: openRealNodeNamespace before the file's tests, closed after them; the jest timeout of the
 * hooks covers a cold image build.
 */
export function useRealNode(
  prefix: string,
  opts: { exclusive?: boolean } = {},
): RealNodeNamespace & { stopNow(): Promise<RunResult> } {
  let open: OpenRealNodeNamespace | undefined;
  beforeAll(async () => {
    open = await openRealNodeNamespace(prefix, opts);
  }, 45 * 60_000);
  afterAll(() => open?.close(), 240_000);
  const lab = () => ready('namespace', open);
  return {
    get ns() {
      return lab().ns;
    },
    get postgres() {
      return lab().postgres;
    },
    get imagesSeconds() {
      return lab().imagesSeconds;
    },
    get stateDir() {
      return lab().stateDir;
    },
    get kubeconfig() {
      return lab().kubeconfig;
    },
    get env() {
      return lab().env;
    },
    get startSeconds() {
      return lab().startSeconds;
    },
    get nodeIp() {
      return lab().nodeIp;
    },
    get nodeName() {
      return lab().nodeName;
    },
    get containerdSocket() {
      return lab().containerdSocket;
    },
    stopNow: stopRealNode,
  };
}
