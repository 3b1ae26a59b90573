import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getService, SERVICE_NAMES, type ServiceName } from '@webrana/registry';
import { withClient, withDatabase } from '@webrana/testing';
import { template, umbrellaChartDir, type K8sObject } from '../../../charts/test/helm';
import { derivedImage } from './derived-image';
import { prepareUmbrella } from './umbrella';
import {
  apply,
  describeNamespace,
  getJson,
  helm,
  imageRef,
  jobCondition,
  jobPods,
  kubectl,
  run,
  useRealNode,
  waitFor,
  type ImageName,
  type KubeObject,
} from '../src';

// A real node: kubelet v1.34 + containerd + runc + CNI bridge + kube-proxy (scripts/kube-lab/start),
// the project's images built by scripts/images and imported into its containerd, PostgreSQL on the host
// reached by pods through a selector-less Service. Nothing here is a stand-in.
const lab = useRealNode('real-node');

const DB: Record<ServiceName, string> = {
  'auth-service': getService('auth-service').database,
  'catalog-service': getService('catalog-service').database,
  'order-service': getService('order-service').database,
  'billing-service': getService('billing-service').database,
};

/** A pod spec the restricted Pod Security Standard admits: non-root, no privilege, read-only root. */
function hardenedPodSpec(
  image: ImageName,
  opts: {
    command?: string[];
    args?: string[];
    env?: Record<string, string>;
    restartPolicy?: string;
    readinessPath?: string;
  },
): Record<string, unknown> {
  return {
    restartPolicy: opts.restartPolicy ?? 'Always',
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 2,
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: 'main',
        image: imageRef(image),
        imagePullPolicy: 'Never',
        ...(opts.command ? { command: opts.command } : {}),
        ...(opts.args ? { args: opts.args } : {}),
        env: Object.entries(opts.env ?? {}).map(([name, value]) => ({ name, value })),
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        resources: { limits: { memory: '384Mi' }, requests: { cpu: '50m', memory: '96Mi' } },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        ...(opts.readinessPath
          ? {
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: opts.readinessPath, port: 8080 }, periodSeconds: 1 },
            }
          : {}),
      },
    ],
    volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }],
  };
}

function job(name: string, image: ImageName, opts: Parameters<typeof hardenedPodSpec>[1]): object {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 180,
      template: {
        metadata: { labels: { app: name } },
        spec: hardenedPodSpec(image, { ...opts, restartPolicy: 'Never' }),
      },
    },
  };
}

async function jobLog(name: string): Promise<string> {
  return (await kubectl(lab, ['logs', `job/${name}`, '-n', lab.ns])).stdout;
}

/** Runs `node -e <code>` inside a pod (kubectl exec through the real kubelet and containerd). */
async function nodeInPod(pod: string, code: string): Promise<string> {
  return (await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'node', '-e', code], { timeoutMs: 60_000 })).stdout;
}

async function servicePod(service: ServiceName): Promise<string> {
  const list = await getJson(lab, ['pods', '-n', lab.ns, '-l', `app=${service}`]);
  const pod = list?.items?.find((p) => p.status?.phase === 'Running');
  if (!pod) throw new Error(`no running pod of ${service}`);
  return pod.metadata.name;
}

const report = (line: string) => process.stderr.write(`real-node: ${line}\n`);

/** The host's URL (superuser) of a database on the node's PostgreSQL. */
const hostUrl = (db: string) => withDatabase(lab.postgres.url, db);

interface MigrationTimes {
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

/** Prisma's ledger of a database, oldest first. */
async function migrationTimes(db: string): Promise<MigrationTimes[]> {
  const { rows } = await withClient(hostUrl(db), (c) =>
    c.query<MigrationTimes>(
      'SELECT migration_name, started_at, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY started_at',
    ),
  );
  return rows;
}

const createdAt = (o: KubeObject) =>
  Date.parse((o.metadata as unknown as { creationTimestamp: string }).creationTimestamp);

/**
 * A pod of the namespace outside the umbrella release (auth-service's test Deployment above): the chart's
 * NetworkPolicies let any pod of the namespace call the four services, while the release's own pods
 * may call only their own service.
 */
const callerOutsideRelease = () => servicePod('auth-service');

/**
 * docker.io/webrana/jobs:<tag> on the node: the node's jobs image `from` with one more auth-service
 * migration.
 */
async function jobsImageWithMigration(from: string, tag: string, name: string, sql: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-jobs-migration-'));
  try {
    fs.writeFileSync(path.join(dir, 'migration.sql'), sql);
    await derivedImage(lab, 'jobs', from, tag, {
      [path.join(dir, 'migration.sql')]: `/app/services/auth-service/prisma/migrations/${name}/migration.sql`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('a real Kubernetes node (kubelet, containerd, runc, CNI bridge, kube-proxy)', () => {
  test('kubectl get nodes -o wide shows one Ready node on the node address with a containerd:// runtime', async () => {
    report(`cluster started in ${lab.startSeconds.toFixed(1)} s, images imported in ${lab.imagesSeconds.toFixed(1)} s`);
    const wide = (await kubectl(lab, ['get', 'nodes', '-o', 'wide'])).stdout.trim().split('\n');
    expect(wide).toHaveLength(2);
    const [header, row] = wide as [string, string];
    const column = (name: string) => row.slice(header.indexOf(name)).split(/\s+/)[0];
    expect(column('NAME')).toBe(lab.nodeName);
    expect(column('STATUS')).toBe('Ready');
    expect(column('INTERNAL-IP')).toBe(lab.nodeIp);
    expect(column('CONTAINER-RUNTIME')).toMatch(/^containerd:\/\/\d+\.\d+\.\d+/);
    expect(column('VERSION')).toMatch(/^v1\.34\./);
  });

  test('the six images are in the node runtime (ctr -n k8s.io images ls)', async () => {
    const listed = (
      await run('ctr', ['--address', lab.containerdSocket, '-n', 'k8s.io', 'images', 'ls', '-q'])
    ).stdout.split('\n');
    for (const image of [
      'auth-service',
      'catalog-service',
      'order-service',
      'billing-service',
      'jobs',
      'operator',
    ] as const) {
      expect(listed).toContain(imageRef(image));
    }
  });

  test('the jobs image migrates the four databases on the host PostgreSQL, reached through a selector-less Service', async () => {
    await withClient(lab.postgres.url, async (c) => {
      for (const service of SERVICE_NAMES) await c.query(`CREATE DATABASE "${DB[service]}"`);
    });
    const env = Object.fromEntries(
      SERVICE_NAMES.map((s) => [getService(s).urlVariable, lab.postgres.podUrl(DB[s])] as const),
    );
    await apply(lab, lab.ns, job('migrate', 'jobs', { args: ['migrate', 'deploy'], env }));
    await jobCondition(lab, lab.ns, 'migrate', 'Complete', 180_000);
    // The migrations are really in the databases: the ledger Prisma reads has a finished row per migration.
    for (const service of SERVICE_NAMES) {
      const url = new URL(lab.postgres.url);
      url.pathname = `/${DB[service]}`;
      const finished = await withClient(url.toString(), (c) =>
        c.query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
      );
      expect(Number(finished.rows[0]!.n)).toBeGreaterThan(0);
    }
  }, 240_000);

  test('the operator image starts and prints its CustomResourceDefinition', async () => {
    await apply(lab, lab.ns, job('operator-crd', 'operator', { args: ['crd'] }));
    await jobCondition(lab, lab.ns, 'operator-crd', 'Complete', 120_000);
    const log = await jobLog('operator-crd');
    expect(log).toMatch(/kind: CustomResourceDefinition/);
    expect(log).toMatch(/name: webranadatabases\.webrana\.cloud/);
  }, 180_000);

  test('each service image runs as a pod that turns Ready (/health/ready) and answers /health/db 200 through its ClusterIP Service', async () => {
    const t0 = Date.now();
    for (const service of SERVICE_NAMES) {
      await apply(
        lab,
        lab.ns,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: service },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: service } },
            template: {
              metadata: { labels: { app: service } },
              spec: hardenedPodSpec(service, {
                env: { [getService(service).urlVariable]: lab.postgres.podUrl(DB[service]), PORT: '8080' },
                readinessPath: '/health/ready',
              }),
            },
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: service },
          spec: { selector: { app: service }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
        },
      );
    }
    for (const service of SERVICE_NAMES) {
      await waitFor(
        `deployment ${service} available`,
        async () => {
          const d = await getJson(lab, ['deployment', service, '-n', lab.ns]);
          return (d?.status?.availableReplicas as number | undefined) === 1;
        },
        { timeoutMs: 120_000, diagnose: () => describeNamespace(lab, lab.ns) },
      );
    }
    report(`four service Deployments available ${((Date.now() - t0) / 1000).toFixed(1)} s after apply`);
    // From inside the cluster (a pod of auth-service), each service through its ClusterIP Service.
    const from = await servicePod('auth-service');
    for (const service of SERVICE_NAMES) {
      const ip = (await kubectl(lab, ['get', 'service', service, '-n', lab.ns, '-o', 'jsonpath={.spec.clusterIP}']))
        .stdout;
      expect(ip).toMatch(/^10\.96\.0\.\d+$/);
      const out = await nodeInPod(
        from,
        `fetch('http://${ip}/health/db',{headers:{accept:'application/json'}}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()})))`,
      );
      const { status, body } = JSON.parse(out) as { status: number; body: Record<string, unknown> };
      expect({ service, status }).toEqual({ service, status: 200 });
      expect(body).toMatchObject({ status: 'healthy', database: 'connected' });
    }
  }, 300_000);

  test('kubectl exec into a service pod: a non-root uid and a read-only root filesystem', async () => {
    const pod = await servicePod('catalog-service');
    const uid = (await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'id', '-u'])).stdout.trim();
    expect(Number(uid)).toBeGreaterThan(0);
    const write = await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'touch', '/probe'], { allowFailure: true });
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    const mounts = (await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'cat', '/proc/self/mounts'])).stdout;
    const root = mounts.split('\n').find((l) => l.split(' ')[1] === '/');
    expect(root?.split(' ')[3]?.split(',')).toContain('ro');
    // And the process really is confined: no capabilities, no privilege gain.
    const status = (await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'cat', '/proc/1/status'])).stdout;
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  });

  test('pods have no way out of the machine: no default route, and an outside address is unreachable', async () => {
    const pod = await servicePod('order-service');
    const routes = (await kubectl(lab, ['exec', pod, '-n', lab.ns, '--', 'cat', '/proc/net/route'])).stdout;
    const destinations = routes
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[1]);
    expect(destinations).not.toContain('00000000');
    const out = await nodeInPod(
      pod,
      "require('net').connect({host:'192.0.2.1',port:53,timeout:2000}).on('connect',()=>console.log('connected')).on('error',e=>console.log(e.code)).on('timeout',function(){console.log('timeout');this.destroy()})",
    );
    expect(out.trim()).not.toBe('connected');
  });
});

describe('Pod Security admission (namespace labelled pod-security.kubernetes.io/enforce=restricted)', () => {
  test('a pod that is not hardened is refused by the apiserver', async () => {
    const r = await kubectl(lab, ['apply', '-n', lab.ns, '-f', '-'], {
      allowFailure: true,
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'not-hardened' },
        spec: { containers: [{ name: 'main', image: imageRef('jobs'), imagePullPolicy: 'Never' }] },
      }),
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    expect(r.stderr).toMatch(/allowPrivilegeEscalation != false/);
    expect(await getJson(lab, ['pod', 'not-hardened', '-n', lab.ns])).toBeUndefined();
  });

  test("the umbrella chart's pods (Deployments, hook Jobs, test pods) are admitted", async () => {
    const rendered = template('webrana', {}, 'psa').objects;
    const workloads = rendered.filter((o: K8sObject) => ['Deployment', 'Job', 'Pod'].includes(o.kind));
    // Four Deployments and at least a migration Job per service.
    expect(workloads.filter((w) => w.kind === 'Deployment')).toHaveLength(4);
    expect(workloads.filter((w) => w.kind === 'Job').length).toBeGreaterThanOrEqual(4);
    // Pods are admitted only under an existing ServiceAccount: the chart's own, created for real.
    const accounts = rendered.filter((o: K8sObject) => o.kind === 'ServiceAccount');
    await apply(lab, lab.ns, ...accounts.map((a) => ({ ...a, metadata: { ...a.metadata, namespace: lab.ns } })));
    for (const w of workloads) {
      const spec =
        w.kind === 'Pod'
          ? (w as unknown as { spec: Record<string, unknown> }).spec
          : (w as unknown as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `psa-${w.kind.toLowerCase()}-${w.metadata.name}`.slice(0, 63).replace(/-+$/, '') },
        spec,
      };
      // Server-side dry run: the apiserver runs admission (PodSecurity) and stores nothing.
      const r = await kubectl(lab, ['create', '--dry-run=server', '-n', lab.ns, '-f', '-'], {
        allowFailure: true,
        input: JSON.stringify(pod),
      });
      expect({ workload: `${w.kind}/${w.metadata.name}`, stderr: r.stderr.trim() }).toEqual({
        workload: `${w.kind}/${w.metadata.name}`,
        stderr: '',
      });
    }
  });
});

describe('the umbrella chart on the real node', () => {
  let helmDbs: Record<ServiceName, string>;
  test('helm upgrade --install --wait with the real images: hooks migrate in dependency order before any Deployment, then seed, and all four services answer /health/db 200 through their ClusterIP Services from inside the cluster', async () => {
    const dbs = (helmDbs = await prepareUmbrella(lab, `helm_${randomBytes(3).toString('hex')}`));
    const t0 = Date.now();
    const install = await helm(
      lab,
      [
        'upgrade',
        '--install',
        'w',
        umbrellaChartDir(),
        '-n',
        lab.ns,
        ...lab.postgres.networkPolicyFlags(SERVICE_NAMES),
        '--wait',
        '--timeout',
        '5m',
      ],
      { timeoutMs: 420_000, allowFailure: true },
    );
    if (install.code !== 0) {
      throw new Error(`helm upgrade --install failed:\n${install.stderr}\n${await describeNamespace(lab, lab.ns)}`);
    }
    report(`helm upgrade --install --wait of the umbrella: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // The hooks really migrated: each database has its finished migrations.
    for (const service of SERVICE_NAMES) {
      const url = new URL(lab.postgres.url);
      url.pathname = `/${dbs[service]}`;
      const finished = await withClient(url.toString(), (c) =>
        c.query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
      );
      expect({ service, migrated: Number(finished.rows[0]!.n) > 0 }).toEqual({ service, migrated: true });
    }
    // In dependency order, all before any Deployment: ledger times and creationTimestamps come from this
    // machine's clock (creationTimestamp has whole seconds).
    const ledgers = new Map<ServiceName, MigrationTimes[]>();
    for (const service of SERVICE_NAMES) ledgers.set(service, await migrationTimes(dbs[service]));
    const firstStart = (s: ServiceName) => Math.min(...ledgers.get(s)!.map((r) => r.started_at.getTime()));
    const lastFinish = (s: ServiceName) =>
      Math.max(...ledgers.get(s)!.map((r) => r.finished_at?.getTime() ?? Infinity));
    for (const service of SERVICE_NAMES) {
      for (const dependency of getService(service).dependsOn) {
        expect({ service, dependency, after: firstStart(service) >= lastFinish(dependency) }).toEqual({
          service,
          dependency,
          after: true,
        });
      }
    }
    const migrated = Math.floor(Math.max(...SERVICE_NAMES.map(lastFinish)) / 1000) * 1000;
    const deployments = await getJson(lab, ['deployments', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    expect(deployments?.items).toHaveLength(4);
    for (const d of deployments?.items ?? []) expect(createdAt(d)).toBeGreaterThanOrEqual(migrated);
    // Then the seeds: the two admin users (production), the three plans.
    const users = await withClient(hostUrl(dbs['auth-service']), (c) => c.query('SELECT email FROM users'));
    expect(users.rowCount).toBe(2);
    const plans = await withClient(hostUrl(dbs['catalog-service']), (c) => c.query('SELECT slug FROM vps_plans'));
    expect(plans.rowCount).toBe(3);
    const services = await getJson(lab, ['services', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    const byName = new Map((services?.items ?? []).map((s) => [s.metadata.name, s] as const));
    const from = await callerOutsideRelease();
    for (const service of SERVICE_NAMES) {
      const svc = [...byName.values()].find((s) => s.metadata.name.endsWith(service));
      if (!svc) throw new Error(`no Service of ${service} in the release: ${[...byName.keys()].join(', ')}`);
      const ip = (svc.spec as { clusterIP: string }).clusterIP;
      const out = await nodeInPod(
        from,
        `fetch('http://${ip}/health/db',{headers:{accept:'application/json'}}).then(async r=>console.log(JSON.stringify({status:r.status,body:await r.json()})))`,
      );
      const { status, body } = JSON.parse(out) as { status: number; body: Record<string, unknown> };
      expect({ service, status }).toEqual({ service, status: 200 });
      expect(body).toMatchObject({ status: 'healthy', database: 'connected' });
    }
  }, 600_000);

  test('a second helm upgrade with a new migration applies it before the new ReplicaSet is created', async () => {
    const name = '29991230000000_real_node_upgrade';
    await jobsImageWithMigration(imageRef('jobs'), 'next-migration', name, 'SELECT 1;\n');
    const before = await getJson(lab, ['replicasets', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    const known = new Set((before?.items ?? []).map((r) => r.metadata.uid));
    const upgrade = await helm(
      lab,
      [
        'upgrade',
        'w',
        umbrellaChartDir(),
        '-n',
        lab.ns,
        '--reuse-values',
        '--set-json',
        `auth-service.jobsImage=${JSON.stringify({ tag: 'next-migration' })}`,
        '--set-json',
        `auth-service.podAnnotations=${JSON.stringify({ 'webrana.test/upgrade': '2' })}`,
        '--wait',
        '--timeout',
        '4m',
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    if (upgrade.code !== 0) throw new Error(`helm upgrade failed:\n${upgrade.stderr}`);
    const url = new URL(lab.postgres.url);
    url.pathname = `/${helmDbs['auth-service']}`;
    const row = await withClient(url.toString(), (c) =>
      c.query<{ finished_at: Date | null }>('SELECT finished_at FROM _prisma_migrations WHERE migration_name = $1', [
        name,
      ]),
    );
    const finishedAt = row.rows[0]?.finished_at;
    if (!finishedAt) throw new Error(`migration ${name} was not applied`);
    const after = await getJson(lab, ['replicasets', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    const created = (after?.items ?? []).filter((r) => !known.has(r.metadata.uid));
    expect(created.map((r) => r.metadata.name)).toEqual([expect.stringMatching(/auth-service/)]);
    const rsCreated = Date.parse((created[0]!.metadata as unknown as { creationTimestamp: string }).creationTimestamp);
    // creationTimestamp has whole seconds: the migration finished no later than that second's end.
    expect(Math.floor(finishedAt.getTime() / 1000) * 1000).toBeLessThanOrEqual(rsCreated);
  }, 600_000);

  test('a failing migration fails helm upgrade naming the Job with the SQL error in its output, keeps the failed Job and the last good revision, and the running pods keep serving', async () => {
    // The jobs image of the previous upgrade plus one more auth-service migration that PostgreSQL rejects.
    const tag = 'failing-migration';
    const failing = '29991231000000_fails_on_purpose';
    await jobsImageWithMigration(
      'docker.io/webrana/jobs:next-migration',
      tag,
      failing,
      'ALTER TABLE "no_such_table" ADD COLUMN "x" integer;\n',
    );
    const before = await getJson(lab, ['replicasets', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    const upgrade = await helm(
      lab,
      [
        'upgrade',
        'w',
        umbrellaChartDir(),
        '-n',
        lab.ns,
        '--reuse-values',
        '--set-json',
        `auth-service.jobsImage=${JSON.stringify({ tag })}`,
        '--wait',
        '--timeout',
        '3m',
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stderr).toMatch(/relation "no_such_table" does not exist/);
    // Helm names the failed hook and copies its pod's log into its output (hook-output-log-policy:
    // hook-failed); the database URL is never in it.
    expect(upgrade.stderr).toContain('UPGRADE FAILED: pre-upgrade hooks failed');
    expect(upgrade.stderr).toContain('job w-auth-service-migrate failed: BackoffLimitExceeded');
    expect(upgrade.stderr).not.toContain('Failed to stream pod logs');
    const podUrl = lab.postgres.podUrl(helmDbs['auth-service']);
    expect(upgrade.stdout + upgrade.stderr).not.toContain(podUrl);
    // The failed Job stays (no hook-failed delete policy); its pod's termination message is the runner's
    // log tail too, for `kubectl describe` after helm has gone.
    const failedJob = await getJson(lab, ['job', 'w-auth-service-migrate', '-n', lab.ns]);
    expect(failedJob?.status?.conditions?.find((c) => c.type === 'Failed')?.status).toBe('True');
    const [failedPod] = await jobPods(lab, lab.ns, 'w-auth-service-migrate');
    const terminated = failedPod?.status?.containerStatuses?.[0]?.state.terminated;
    expect(terminated?.exitCode).not.toBe(0);
    expect(terminated?.message).toContain('relation "no_such_table" does not exist');
    expect(terminated?.message).not.toContain(podUrl);
    // The release stays at the last good revision; the runner recorded the failure the way Prisma does
    // (the next deploy stops until it is resolved).
    const history = JSON.parse((await helm(lab, ['history', 'w', '-n', lab.ns, '-o', 'json'])).stdout) as {
      status: string;
    }[];
    expect(history.map((h) => h.status)).toEqual(['superseded', 'deployed', 'failed']);
    const recorded = (await migrationTimes(helmDbs['auth-service'])).find((r) => r.migration_name === failing);
    expect(recorded).toMatchObject({ finished_at: null, rolled_back_at: null });
    // Nothing rolled: the same ReplicaSets, and every service still answers /health/db 200.
    const after = await getJson(lab, ['replicasets', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    expect((after?.items ?? []).map((r) => r.metadata.uid).sort()).toEqual(
      (before?.items ?? []).map((r) => r.metadata.uid).sort(),
    );
    const services = await getJson(lab, ['services', '-n', lab.ns, '-l', 'app.kubernetes.io/instance=w']);
    const from = await callerOutsideRelease();
    expect(services?.items).toHaveLength(4);
    for (const svc of services?.items ?? []) {
      const ip = (svc.spec as { clusterIP: string }).clusterIP;
      const out = await nodeInPod(
        from,
        `fetch('http://${ip}/health/db',{headers:{accept:'application/json'}}).then(r=>console.log(r.status))`,
      );
      expect({ service: svc.metadata.name, status: out.trim() }).toEqual({ service: svc.metadata.name, status: '200' });
    }
  }, 600_000);
});
