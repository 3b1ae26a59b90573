import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  apply,
  describeNamespace,
  getJson,
  helm,
  imageRef,
  kubectl,
  run,
  serviceAccountKubeconfig,
  useRealNode,
  waitFor,
  type KubeLab,
  type RealNodeNamespace,
} from '@webrana/kube-lab';
import { REPO_ROOT, SERVICES } from '@webrana/registry';
import { createNodeDatabase, type NodeDatabase } from '../../packages/kube-lab/test/node-database';
import type { Condition, WebranaDatabase, WebranaDatabaseSpec } from '../src/api/types';

/**
 * Operator integration harness on the real node: the operator chart installed in a fresh restricted
 * namespace (CRD, RBAC, ServiceAccount; the Deployment at 0 replicas: the tests run the compiled
 * operator as a child process with that ServiceAccount's token, so it has exactly the chart's RBAC and
 * nothing of the admin's, and they can kill, restart and measure it). Its Jobs run for real: pods of
 * the jobs image on the node, against databases of the namespace's PostgreSQL.
 */

export const OPERATOR_DIR = path.join(REPO_ROOT, 'operator');
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'webrana-operator');
export const RELEASE = 'wop';
/** The chart's full name for release "wop": ServiceAccount and Lease name. */
export const SERVICE_ACCOUNT = 'wop-webrana-operator';
/** The jobs image the node has (scripts/images load). */
export const JOBS_IMAGE = imageRef('jobs');

/** Fast leader election for tests: a standby takes over within about 6 s of a crash. */
export const FAST_LEASE = {
  LEASE_DURATION_SECONDS: '6',
  RENEW_PERIOD_SECONDS: '2',
  RENEW_DEADLINE_SECONDS: '4',
  RETRY_PERIOD_SECONDS: '1',
};

export interface OperatorEnv {
  readonly lab: RealNodeNamespace;
  readonly ns: string;
  /** kubeconfig holding the chart ServiceAccount's token. */
  readonly kubeconfig: string;
  readonly tmp: string;
}

/** Compiles the operator when its sources are newer than its build (serialized across jest workers). */
export async function buildOperator(): Promise<void> {
  const r = await run(
    'flock',
    [path.join(os.tmpdir(), 'webrana-operator-build.lock'), 'npx', 'tsc', '-b', OPERATOR_DIR],
    {
      timeoutMs: 300_000,
    },
  );
  if (r.code !== 0) throw new Error(`tsc -b operator failed:\n${r.stdout}${r.stderr}`);
}

/** The operator installed in the namespace of `lab` (see installOperator): for code outside jest. */
export async function setUpOperator(
  lab: RealNodeNamespace,
  prefix: string,
  values: string[] = [],
): Promise<OperatorEnv> {
  return installOperator(lab, prefix, values);
}

/**
 * Jest: the real node, a fresh namespace and the operator installed in it before the file's tests (the
 * namespace is deleted after them). The fields throw when read before its beforeAll ran.
 */
export function useOperatorEnv(prefix: string, values: string[] = []): OperatorEnv {
  const lab = useRealNode(prefix);
  let env: OperatorEnv | undefined;
  beforeAll(async () => {
    env = await installOperator(lab, prefix, values);
  }, 10 * 60_000);
  afterAll(() => (env ? fs.rm(env.tmp, { recursive: true, force: true }) : undefined));
  const ready = (): OperatorEnv => {
    if (!env) throw new Error(`operator env ${prefix}: read before its beforeAll ran`);
    return env;
  };
  return {
    lab,
    get ns() {
      return lab.ns;
    },
    get kubeconfig() {
      return ready().kubeconfig;
    },
    get tmp() {
      return ready().tmp;
    },
  };
}

/** The CRD (kubectl apply: also updates an older one), the chart in `ns`, a token kubeconfig. */
async function installOperator(lab: RealNodeNamespace, prefix: string, values: string[]): Promise<OperatorEnv> {
  const ns = lab.ns;
  await buildOperator();
  await waitFor(
    'the CRD applied',
    async () =>
      (
        await kubectl(lab, ['apply', '--server-side', '--force-conflicts', '-f', path.join(CHART_DIR, 'crds')], {
          allowFailure: true,
        })
      ).code === 0,
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  await kubectl(lab, ['wait', '--for=condition=Established', 'crd/webranadatabases.webrana.cloud', '--timeout=60s']);
  await helm(lab, [
    'install',
    RELEASE,
    CHART_DIR,
    '--namespace',
    ns,
    '--skip-crds',
    '--set',
    `watchNamespace=${ns}`,
    '--set',
    'replicaCount=0',
    ...values.flatMap((v) => ['--set', v]),
  ]);
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  const kubeconfig = await serviceAccountKubeconfig(lab, {
    ns,
    serviceAccount: SERVICE_ACCOUNT,
    file: path.join(tmp, 'operator.kubeconfig'),
    duration: '3h',
  });
  return { lab, ns, kubeconfig, tmp };
}

export interface RunningOperator {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly lines: string[];
  readonly port: Promise<number>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  waitForLog(
    what: string,
    match: (entry: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM (graceful) or SIGKILL; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Peak resident memory (VmHWM), in kB, while it runs. */
  peakRssKb(): Promise<number>;
}

export function startOperator(env: OperatorEnv, name: string, extra: Record<string, string> = {}): RunningOperator {
  const proc = spawn(process.execPath, [path.join(OPERATOR_DIR, 'bin', 'webrana-operator.js')], {
    env: {
      PATH: process.env.PATH,
      KUBECONFIG: env.kubeconfig,
      POD_NAME: name,
      POD_NAMESPACE: env.ns,
      WATCH_NAMESPACE: env.ns,
      LEASE_NAME: SERVICE_ACCOUNT,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      LOG_LEVEL: 'debug',
      ...FAST_LEASE,
      ...extra,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let buffer = '';
  const onData = (b: Buffer) => {
    buffer += b.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', (b: Buffer) => lines.push(`stderr: ${b.toString('utf8')}`));
  const entries = () =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  const waitForLog: RunningOperator['waitForLog'] = (what, match, timeoutMs = 60_000) =>
    waitFor(`operator ${name}: ${what}`, async () => entries().find(match), {
      timeoutMs,
      intervalMs: 100,
      diagnose: async () => lines.slice(-30).join('\n'),
    });
  const port = waitForLog('started', (e) => e.msg === 'webrana-operator started').then((e) =>
    Number(String(e.http).split(':').pop()),
  );
  const metrics = async () => (await fetch(`http://127.0.0.1:${await port}/metrics`)).text();
  return {
    name,
    proc,
    lines,
    port,
    metrics,
    async metric(metricName, labels = {}) {
      const text = await metrics();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(metricName)) continue;
        const m = /^([a-z_]+)(\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
        if (!m || m[1] !== metricName) continue;
        const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[4]);
      }
      return sum;
    },
    waitForLog,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
    async peakRssKb() {
      const status = await fs.readFile(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
  };
}

/** An empty database on the namespace's PostgreSQL and a Secret `secretName` (key "url") pods use. */
export async function databaseWithSecret(env: OperatorEnv, label: string, secretName: string): Promise<NodeDatabase> {
  const db = await createNodeDatabase(env.lab, label);
  await secret(env, secretName, db.podUrl);
  return db;
}

/** One empty PostgreSQL database per service and a Secret (key "url") for each. */
export async function serviceDatabases(
  env: OperatorEnv,
  label: string,
): Promise<{ dbs: Map<string, NodeDatabase>; spec: WebranaDatabaseSpec; drop(): Promise<void> }> {
  const dbs = new Map<string, NodeDatabase>();
  for (const s of SERVICES) {
    dbs.set(
      s.name,
      await databaseWithSecret(env, `${label}_${s.name.replace('-service', '')}`, `${label}-${s.name}-db`),
    );
  }
  return {
    dbs,
    spec: {
      image: JOBS_IMAGE,
      services: SERVICES.map((s) => ({
        name: s.name,
        databaseUrlSecretRef: { name: `${label}-${s.name}-db`, key: 'url' },
        ...(s.dependsOn.length > 0 ? { dependsOn: [...s.dependsOn] } : {}),
      })),
      migration: { backoffLimit: 0, activeDeadlineSeconds: 300 },
    },
    drop: async () => {
      for (const db of dbs.values()) await db.drop().catch(() => undefined);
    },
  };
}

export async function secret(env: OperatorEnv, name: string, url: string): Promise<void> {
  await apply(env.lab, env.ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name },
    stringData: { url },
  });
}

export function webranaDatabase(name: string, spec: WebranaDatabaseSpec): WebranaDatabase {
  return { apiVersion: 'webrana.cloud/v1alpha1', kind: 'WebranaDatabase', metadata: { name }, spec };
}

export async function getDatabase(env: OperatorEnv, name: string): Promise<WebranaDatabase | undefined> {
  return getJson<WebranaDatabase>(env.lab, ['webranadatabase', name, '-n', env.ns]);
}

export function condition(db: WebranaDatabase | undefined, type: string): Condition | undefined {
  return db?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the resource's condition `type` has `status` for its current generation. */
export async function waitForCondition(
  env: OperatorEnv,
  name: string,
  type: string,
  status: 'True' | 'False',
  timeoutMs = 120_000,
): Promise<WebranaDatabase> {
  return waitFor(
    `${env.ns}/${name} ${type}=${status}`,
    async () => {
      const db = await getDatabase(env, name);
      const c = condition(db, type);
      return c?.status === status && c.observedGeneration === db?.metadata.generation ? db : undefined;
    },
    { timeoutMs, intervalMs: 500, diagnose: () => describeNamespace(env.lab, env.ns) },
  );
}

export interface JobInfo {
  name: string;
  service: string;
  generation: string;
  created: number;
  completed?: number;
  succeeded: boolean;
  failed: boolean;
}

/** The migration Jobs of a resource, oldest first. */
export async function migrationJobs(env: OperatorEnv, database: string): Promise<JobInfo[]> {
  const list = await getJson<{
    items: {
      metadata: { name: string; creationTimestamp: string; labels: Record<string, string> };
      status?: { completionTime?: string; conditions?: { type: string; status: string }[] };
    }[];
  }>(env.lab, ['jobs', '-n', env.ns, '-l', `webrana.cloud/database=${database},app.kubernetes.io/component=migration`]);
  return (list?.items ?? [])
    .map((j) => ({
      name: j.metadata.name,
      service: j.metadata.labels['webrana.cloud/service'] ?? '',
      generation: j.metadata.labels['webrana.cloud/generation'] ?? '',
      created: Date.parse(j.metadata.creationTimestamp),
      ...(j.status?.completionTime ? { completed: Date.parse(j.status.completionTime) } : {}),
      succeeded: (j.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'),
      failed: (j.status?.conditions ?? []).some((c) => c.type === 'Failed' && c.status === 'True'),
    }))
    .sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
}

/** Counters of the apiserver's own /metrics (summed over series matching the labels). */
export async function apiserverMetric(
  lab: KubeLab,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = (await kubectl(lab, ['get', '--raw', '/metrics'])).stdout;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[a-z_]+\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const have = Object.fromEntries([...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * API Priority and Fairness classifies every request the apiserver serves; three FlowSchemas that
 * match only the operator's ServiceAccount sort its requests into Lease writes, other writes and
 * everything else (reads, watches), and the apiserver counts each in
 * apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}: a measurement taken at the
 * apiserver, per client, even while other tests use the same lab.
 */
export async function operatorFlowSchemas(
  env: OperatorEnv,
): Promise<{ leaseWrites: string; writes: string; reads: string }> {
  const subject = { kind: 'ServiceAccount', serviceAccount: { name: SERVICE_ACCOUNT, namespace: env.ns } };
  const names = { leaseWrites: `${env.ns}-lease-writes`, writes: `${env.ns}-writes`, reads: `${env.ns}-reads` };
  const schema = (name: string, precedence: number, rule: Record<string, unknown>) => ({
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'FlowSchema',
    metadata: { name, labels: { 'kube-lab.webrana.io/test': env.ns } },
    spec: {
      priorityLevelConfiguration: { name: 'workload-low' },
      matchingPrecedence: precedence,
      distinguisherMethod: { type: 'ByUser' },
      rules: [{ subjects: [subject], ...rule }],
    },
  });
  await apply(
    env.lab,
    env.ns,
    schema(names.leaseWrites, 150, {
      resourceRules: [
        { verbs: WRITE_VERBS, apiGroups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ['*'] },
      ],
    }),
    schema(names.writes, 151, {
      resourceRules: [
        { verbs: WRITE_VERBS, apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true },
      ],
    }),
    schema(names.reads, 152, {
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'], namespaces: ['*'], clusterScope: true }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
    }),
  );
  return names;
}

export async function deleteFlowSchemas(env: OperatorEnv | undefined): Promise<void> {
  if (!env) return;
  await kubectl(env.lab, ['delete', 'flowschemas', '-l', `kube-lab.webrana.io/test=${env.ns}`, '--wait=false'], {
    allowFailure: true,
  });
}

export async function dispatched(lab: KubeLab, flowSchema: string): Promise<number> {
  return apiserverMetric(lab, 'apiserver_flowcontrol_dispatched_requests_total', { flow_schema: flowSchema });
}

export async function setUpNamespaceObjects(env: OperatorEnv, ...objects: object[]): Promise<void> {
  await apply(env.lab, env.ns, ...objects);
}

/**
 * A PersistentVolumeClaim `claim` in the namespace, bound to a hostPath PersistentVolume on `dir` of the
 * host (created, and returned): the backup pods write there, the tests read it. The pods run as 10001
 * and hostPath gets no fsGroup, so the directory is theirs; the hostPath is in the PV, so the restricted
 * namespace admits the pods that only name the claim.
 */
export async function hostPathClaim(lab: RealNodeNamespace, claim: string, dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chown(dir, 10001, 10001);
  await apply(
    lab,
    lab.ns,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${lab.ns}-${claim}` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: 'manual',
        hostPath: { path: dir, type: 'Directory' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: claim },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'manual',
        volumeName: `${lab.ns}-${claim}`,
        resources: { requests: { storage: '1Gi' } },
      },
    },
  );
  return dir;
}
