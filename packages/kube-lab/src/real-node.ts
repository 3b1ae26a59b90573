import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';
import { REPO_ROOT } from '@webrana/registry';
import { apply, deleteNamespace, freshNamespace, kubectl, run, type KubeLab, type RunResult } from './lab';

/**
 * The real single-node cluster of scripts/kube-lab/real-node (kubelet + containerd + runc + CNI bridge +
 * kube-proxy, beside the control plane), for the tests that need real containers: images, securityContext,
 * Services, probes. Separate from the stand-in lab of startKubeLab (own state directory, ports and
 * cluster). Unlike that lab it is not left running: useRealNode starts it before a test file and
 * stops it after, removing everything it added to the machine.
 */
export interface RealNode extends KubeLab {
  /** The node's address (on lo): the apiserver, the kubelet and the test PostgreSQL listen on it. */
  readonly nodeIp: string;
  readonly nodeName: string;
  /** containerd's socket (ctr --address). */
  readonly containerdSocket: string;
}

/** The project's images as the node knows them (scripts/images load names them so). */
export const IMAGES = [
  'auth-service',
  'catalog-service',
  'order-service',
  'billing-service',
  'jobs',
  'operator',
] as const;
export type ImageName = (typeof IMAGES)[number];

/** The pod network the real node's CNI bridge hands out (scripts/kube-lab/real-node). */
export const REAL_NODE_POD_CIDR = '10.244.0.0/24';

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'kube-lab', 'real-node');

/** `docker.io/webrana/<image>:<appVersion>`, the reference scripts/images load imports. */
export function imageRef(image: ImageName): string {
  const chart = fs.readFileSync(path.join(REPO_ROOT, 'charts', 'webrana-service', 'Chart.yaml'), 'utf8');
  const version = /^appVersion:\s*'?([^'\s]+)'?\s*$/m.exec(chart)?.[1];
  if (!version) throw new Error('charts/webrana-service/Chart.yaml has no appVersion');
  return `docker.io/webrana/${image}:${version}`;
}

function failure(what: string, r: RunResult): Error {
  return new Error(`${what} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-40).join('\n')}`);
}

/** Starts a fresh real-node cluster (stopping a previous one first). Needs root; see the script's --help. */
export async function startRealNode(): Promise<RealNode> {
  const t0 = Date.now();
  const r = await run('bash', ['-c', 'set -euo pipefail; eval "$("$1" start)"; env -0', 'real-node', SCRIPT], {
    timeoutMs: 30 * 60_000,
    onStderrLine: (line) => {
      if (line.startsWith('build:')) process.stderr.write(`real-node ${line}\n`);
    },
  });
  if (r.code !== 0) throw failure('scripts/kube-lab/real-node start', r);
  const printed = new Map(
    r.stdout
      .split('\0')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const),
  );
  const take = (name: string): string => {
    const v = printed.get(name);
    if (v === undefined) throw new Error(`real-node start printed no ${name}`);
    return v;
  };
  const kubeconfig = take('KUBECONFIG');
  const stateDir = take('KUBE_LAB_REAL_STATE');
  return {
    stateDir,
    kubeletStateDir: path.join(stateDir, 'kubelet'),
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

/** Builds the images that are missing (scripts/images) and imports all six into the node's containerd. */
export async function loadImages(): Promise<{ seconds: number; log: string }> {
  const t0 = Date.now();
  const r = await run(SCRIPT, ['load-images'], { timeoutMs: 40 * 60_000 });
  if (r.code !== 0) throw failure('scripts/kube-lab/real-node load-images', r);
  return { seconds: (Date.now() - t0) / 1000, log: r.stdout + r.stderr };
}

/** Stops the real node and removes what it added to the machine (scripts/kube-lab/real-node stop). */
export async function stopRealNode(): Promise<RunResult> {
  const r = await run(SCRIPT, ['stop'], { timeoutMs: 180_000 });
  if (r.code !== 0) throw failure('scripts/kube-lab/real-node stop', r);
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
 * Holds an exclusive lock on the real node for as long as the returned child (`flock ... cat`) lives:
 * one machine has one node address and one cni0, so test files using the real node (in any jest
 * process) take turns instead of restarting each other's cluster. Release by killing the child.
 */
export async function lockRealNode(timeoutMs = 60 * 60_000): Promise<ChildProcess> {
  const lockFile = `${process.env.KUBE_LAB_REAL_STATE ?? '/tmp/webrana-kube-lab-real'}.lock`;
  const child = spawn(
    'flock',
    ['-w', String(Math.ceil(timeoutMs / 1000)), lockFile, 'bash', '-c', 'echo locked; exec cat >/dev/null'],
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

/** Reads a value that exists only after beforeAll ran. */
function ready<T>(what: string, value: T | undefined): T {
  if (value === undefined) throw new Error(`real node ${what}: read before its beforeAll ran`);
  return value;
}

/**
 * Jest: before the file's tests, start the real node, import the project's images, start a PostgreSQL
 * the pods reach (Service `postgres` in the namespace) and create a restricted namespace
 * `<prefix>-<random>`; after them, stop all of it. Test files take turns (lockRealNode: it is one
 * machine-wide network setup); the jest timeout of the hooks covers a cold image build.
 */
export function useRealNode(prefix: string): RealNodeNamespace & { stopNow(): Promise<RunResult> } {
  let node: RealNode | undefined;
  let ns: string | undefined;
  let pg: RunningPostgres | undefined;
  let postgres: NodePostgres | undefined;
  let imagesSeconds: number | undefined;
  let lock: ChildProcess | undefined;
  beforeAll(async () => {
    lock = await lockRealNode();
    node = await startRealNode();
    imagesSeconds = (await loadImages()).seconds;
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
    postgres = {
      url: pg.url,
      port,
      serviceIp,
      podUrl: (db) => `postgresql://${auth.username}:${auth.password}@${serviceIp}:${port}/${db}`,
      networkPolicyFlags: (umbrellaKeys = ['']) =>
        umbrellaKeys.flatMap((key) => ['--set-json', `${key ? `${key}.` : ''}networkPolicy.database.ports=[${port}]`]),
    };
  }, 45 * 60_000);
  afterAll(async () => {
    try {
      await deleteNamespace(node, ns).catch(() => undefined);
      await pg?.stop();
      await stopRealNode();
    } finally {
      lock?.kill('SIGKILL');
    }
  }, 240_000);
  return {
    get ns() {
      return ready('namespace', ns);
    },
    get postgres() {
      return ready('postgres', postgres);
    },
    get imagesSeconds() {
      return ready('images', imagesSeconds);
    },
    get stateDir() {
      return ready('lab', node).stateDir;
    },
    get kubeletStateDir() {
      return ready('lab', node).kubeletStateDir;
    },
    get kubeconfig() {
      return ready('lab', node).kubeconfig;
    },
    get env() {
      return ready('lab', node).env;
    },
    get startSeconds() {
      return ready('lab', node).startSeconds;
    },
    get nodeIp() {
      return ready('lab', node).nodeIp;
    },
    get nodeName() {
      return ready('lab', node).nodeName;
    },
    get containerdSocket() {
      return ready('lab', node).containerdSocket;
    },
    stopNow: stopRealNode,
  };
}
