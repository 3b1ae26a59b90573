import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

/**
 * Helpers for code that talks to kube-lab's cluster (real-node.ts starts it): the real kubectl and helm
 * as child processes, never @kubernetes/client-node (ESM-only, which jest cannot load).
 */
export interface KubeLab {
  /** The cluster's state directory (its logs are in <stateDir>/logs). */
  readonly stateDir: string;
  readonly kubeconfig: string;
  /** process.env plus PATH (the lab's kubectl and helm first), HELM_*_HOME and KUBECONFIG. */
  readonly env: NodeJS.ProcessEnv;
  /** Seconds this process waited for the cluster to be ready. */
  readonly startSeconds: number;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly input?: string;
  readonly timeoutMs?: number;
  /** Called with each complete line of stderr as it arrives. */
  readonly onStderrLine?: (line: string) => void;
}

/** A child process to completion (never throws for a non-zero exit). */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    let partial = '';
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
      if (!opts.onStderrLine) return;
      const lines = (partial + b.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(opts.onStderrLine);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? 128 + (signal ? 9 : 0),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    // A command that exits before reading its (empty) input closes the pipe: EPIPE is no failure of ours.
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') reject(e);
    });
    child.stdin.end(opts.input ?? '');
  });
}

function check(what: string, r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r;
}

/** The lab's kubectl as the admin; throws on a non-zero exit unless `allowFailure`. */
export async function kubectl(
  lab: KubeLab,
  args: readonly string[],
  opts: RunOptions & { allowFailure?: boolean } = {},
): Promise<RunResult> {
  const r = await run('kubectl', args, { env: lab.env, ...opts });
  return opts.allowFailure ? r : check(`kubectl ${args.join(' ')}`, r);
}

/** The lab's pinned helm. */
export async function helm(
  lab: KubeLab,
  args: readonly string[],
  opts: RunOptions & { allowFailure?: boolean } = {},
): Promise<RunResult> {
  const r = await run('helm', args, { env: lab.env, timeoutMs: 300_000, ...opts });
  return opts.allowFailure ? r : check(`helm ${args.join(' ')}`, r);
}

/** `kubectl get ... -o json`, parsed; undefined when the object does not exist. */
export async function getJson<T = KubeObject>(lab: KubeLab, args: readonly string[]): Promise<T | undefined> {
  const r = await kubectl(lab, ['get', ...args, '-o', 'json'], { allowFailure: true });
  if (r.code !== 0) {
    if (/NotFound|not found/.test(r.stderr)) return undefined;
    throw new Error(`kubectl get ${args.join(' ')} failed: ${r.stderr.trim()}`);
  }
  return JSON.parse(r.stdout) as T;
}

/** `kubectl apply -f -` of objects (JSON is YAML), in namespace `ns`. */
export async function apply(lab: KubeLab, ns: string, ...objects: readonly object[]): Promise<void> {
  const input = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  await kubectl(lab, ['apply', '-n', ns, '-f', '-'], { input });
}

/** A loosely typed Kubernetes object, as tests read them. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string }[];
    deletionTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
  items?: KubeObject[];
}

export interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  state: Record<string, { reason?: string; message?: string; exitCode?: number; signal?: number } | undefined>;
  lastState: Record<string, { reason?: string; exitCode?: number } | undefined>;
}

/** A namespace of its own for a test file (`<prefix>-<random>`), ready for pods (default ServiceAccount exists). */
export async function freshNamespace(lab: KubeLab, prefix: string): Promise<string> {
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
  await kubectl(lab, ['create', 'namespace', name]);
  await kubectl(lab, ['label', 'namespace', name, 'kube-lab.webrana.io/test=true']);
  await waitFor(
    `the default ServiceAccount in ${name}`,
    async () => (await getJson(lab, ['serviceaccount', 'default', '-n', name])) !== undefined,
    {
      timeoutMs: 30_000,
    },
  );
  return name;
}

/** Deletes the namespace without waiting (the namespace controller and the kubelet finish it). KUBE_LAB_KEEP_NAMESPACES=1 keeps it. */
export async function deleteNamespace(lab: KubeLab | undefined, ns: string | undefined): Promise<void> {
  if (!lab || !ns || process.env.KUBE_LAB_KEEP_NAMESPACES === '1') return;
  await kubectl(lab, ['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Text added to the timeout error (for example describeNamespace). */
  readonly diagnose?: () => Promise<string>;
}

/** Polls `probe` until it returns something other than undefined/false; throws with `what` on timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const extra = opts.diagnose ? await opts.diagnose().catch((e: unknown) => String(e)) : '';
      const last = lastError instanceof Error ? `\nlast error: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last}${extra ? `\n${extra}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 250));
  }
}

/** What is in a namespace and what happened there, plus the kubelet log's end: for failure messages. */
export async function describeNamespace(lab: KubeLab, ns: string): Promise<string> {
  const get = await kubectl(lab, ['get', 'all,pvc,events', '-n', ns, '-o', 'wide'], { allowFailure: true });
  const pods = await kubectl(lab, ['get', 'pods', '-n', ns, '-o', 'yaml'], { allowFailure: true });
  const log = await fs.readFile(path.join(lab.stateDir, 'logs', 'kubelet.log'), 'utf8').catch(() => '');
  return [
    `--- kubectl get all,pvc,events -n ${ns}`,
    get.stdout + get.stderr,
    `--- pods -n ${ns}`,
    pods.stdout.slice(-6000),
    '--- kubelet.log (end)',
    log.split('\n').slice(-30).join('\n'),
  ].join('\n');
}

/** The Job's condition of `type` once it is True (Complete, Failed, ...). */
export async function jobCondition(
  lab: KubeLab,
  ns: string,
  job: string,
  type: string,
  timeoutMs = 60_000,
): Promise<{ type: string; status: string; reason?: string; message?: string }> {
  return waitFor(
    `job ${ns}/${job} condition ${type}=True`,
    async () =>
      (await getJson(lab, ['job', job, '-n', ns]))?.status?.conditions?.find(
        (c) => c.type === type && c.status === 'True',
      ),
    { timeoutMs, diagnose: () => describeNamespace(lab, ns) },
  );
}

/** The pods a Job created (label batch.kubernetes.io/job-name), oldest first. */
export async function jobPods(lab: KubeLab, ns: string, job: string): Promise<KubeObject[]> {
  const list = await getJson(lab, [
    'pods',
    '-n',
    ns,
    '-l',
    `batch.kubernetes.io/job-name=${job}`,
    '--sort-by=.metadata.creationTimestamp',
  ]);
  return list?.items ?? [];
}

/** A container's stdout+stderr through the logs API (`kubectl logs`, which the kubelet serves). */
export async function containerLog(lab: KubeLab, pod: KubeObject, container: string): Promise<string> {
  const namespace = pod.metadata.namespace ?? 'default';
  return (await kubectl(lab, ['logs', pod.metadata.name, '-n', namespace, '-c', container])).stdout;
}

/**
 * A kubeconfig file holding only a ServiceAccount's bearer token (`kubectl create token`) and the lab
 * CA: kubectl or a client with it has exactly that account's RBAC, nothing of the admin's.
 */
export async function serviceAccountKubeconfig(
  lab: KubeLab,
  opts: { readonly ns: string; readonly serviceAccount: string; readonly file: string; readonly duration: string },
): Promise<string> {
  const { ns, serviceAccount, file, duration } = opts;
  const token = (
    await kubectl(lab, ['create', 'token', serviceAccount, '-n', ns, `--duration=${duration}`])
  ).stdout.trim();
  const admin = JSON.parse((await kubectl(lab, ['config', 'view', '--raw', '--minify', '-o', 'json'])).stdout) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  };
  const cluster = admin.clusters[0]!.cluster;
  await fs.writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: serviceAccount, context: { cluster: 'lab', user: serviceAccount, namespace: ns } }],
      'current-context': serviceAccount,
    }),
    { mode: 0o600 },
  );
  return file;
}
