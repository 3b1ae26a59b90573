import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { REPO_ROOT } from '@webrana/registry';
import { createLogger } from '@webrana/logger';
import { FakeCluster, FOUR_SERVICES } from '../../test/fake-cluster';
import type { WebranaDatabaseSpec } from '../api/types';
import { normalizeSpec } from '../api/validate';
import type { Deployment as K8sDeployment, Job, Pod } from '../k8s';
import { LABELS } from '../names';
import { Reconciler, type ClusterView } from '../reconcile';
import { REPLICAS_ANNOTATION, type WebranaRestore, type WebranaRestoreSpec, type WebranaRestoreStatus } from './api';
import { webranaRestoreCrd } from './crd';
import { dumpSource, restoreArgs, restoreJob, restoreJobName } from './job';
import { busyJobs, deploymentProblem, failureReason, nextStatus, restoreSummary, type Deployment } from './machine';
import { activeRestores, RestoreReconciler, type RestoreView, type RestoreWriter } from './reconcile';
import { normalizeRestoreSpec } from './validate';

const log = createLogger({ name: 'test', level: 'silent' });

/** FakeCluster plus WebranaRestores, Deployments and their pods: the restore reconciler's two ports. */
class RestoreCluster extends FakeCluster implements RestoreView, RestoreWriter {
  readonly restores = new Map<string, WebranaRestore>();
  readonly deployments = new Map<string, Deployment>();
  readonly deploymentPods = new Map<string, number>();

  addRestore(name: string, spec: WebranaRestoreSpec): WebranaRestore {
    const r: WebranaRestore = { metadata: { name, namespace: 'ns', uid: `uid-${name}`, generation: 1 }, spec };
    this.restores.set(`ns/${name}`, r);
    return r;
  }
  addDeployment(name: string, service: string, replicas: number): void {
    this.deployments.set(`ns/${name}`, {
      metadata: { name, namespace: 'ns', labels: { [LABELS.name]: service } },
      spec: { replicas, selector: { matchLabels: { [LABELS.name]: service } } },
    });
    this.deploymentPods.set(name, replicas);
  }
  getRestore(namespace: string, name: string) {
    return this.restores.get(`${namespace}/${name}`);
  }
  async listJobs(namespace: string, selector: string): Promise<readonly Job[]> {
    const want = Object.fromEntries(selector.split(',').map((kv) => kv.split('=') as [string, string]));
    return [...this.jobMap.values()].filter(
      (j) => j.metadata.namespace === namespace && Object.entries(want).every(([k, v]) => j.metadata.labels?.[k] === v),
    );
  }
  override async listPods(namespace: string, selector: string): Promise<readonly Pod[]> {
    if (selector.startsWith('batch.kubernetes.io/job-name=')) return super.listPods(namespace, selector);
    const dep = [...this.deployments.values()].find(
      (d) => `${LABELS.name}=${d.metadata.labels?.[LABELS.name]}` === selector,
    );
    const n = dep ? (this.deploymentPods.get(dep.metadata.name) ?? 0) : 0;
    return Array.from({ length: n }, (_, i) => ({ metadata: { name: `${dep!.metadata.name}-${i}` } }));
  }
  async getDeployment(namespace: string, name: string) {
    return structuredClone(this.deployments.get(`${namespace}/${name}`));
  }
  async scaleDeployment(namespace: string, name: string, replicas: number) {
    this.writes.push(`scale ${name} ${replicas}`);
    this.deployments.get(`${namespace}/${name}`)!.spec!.replicas = replicas;
  }
  async annotateRestore(namespace: string, name: string, key: string, value: string) {
    this.writes.push(`annotate ${name} ${key}=${value}`);
    const r = this.restores.get(`${namespace}/${name}`)!;
    r.metadata.annotations = { ...(r.metadata.annotations ?? {}), [key]: value };
  }
  async patchRestoreStatus(namespace: string, name: string, status: WebranaRestoreStatus) {
    this.writes.push(`restore status ${name} ${status.phase} ${status.reason}`);
    this.restores.get(`${namespace}/${name}`)!.status = structuredClone(status);
  }
  restoreStatus(name: string) {
    return this.restores.get(`ns/${name}`)?.status;
  }
  /** The restore pod's exit (its termination message) and the Job's terminal condition. */
  finishRestore(job: string, outcome: 'Complete' | 'Failed', message: string): void {
    this.finishJob(job, outcome);
    this.pods.set(`ns/${job}`, [
      {
        metadata: { name: `${job}-xyz`, namespace: 'ns' },
        status: {
          phase: outcome === 'Complete' ? 'Succeeded' : 'Failed',
          containerStatuses: [
            { name: 'restore', state: { terminated: { exitCode: outcome === 'Complete' ? 0 : 1, message } } },
          ],
        },
      },
    ]);
  }
}

const IN_PLACE: WebranaRestoreSpec = {
  database: 'webrana',
  service: 'auth-service',
  backup: 'latest',
  target: { inPlace: true },
  scaleDown: true,
};

function setup(spec: WebranaDatabaseSpec = FOUR_SERVICES) {
  const cluster = new RestoreCluster();
  cluster.addDatabase('webrana', structuredClone(spec));
  const make = () =>
    new RestoreReconciler({ view: cluster, writer: cluster, log, instance: 'test-0', now: cluster.now });
  let reconciler = make();
  return {
    cluster,
    reconcile: (name = 'r1') => reconciler.reconcile(`ns/${name}`),
    restart: () => (reconciler = make()),
  };
}
const jobName = (name = 'r1') => restoreJobName(name, `uid-${name}`);
const restoreJobs = (c: FakeCluster) => c.jobNames().filter((n) => n.includes('-restore-'));

describe('WebranaRestore spec validation', () => {
  test('a good spec normalizes with its defaults (deployment = service, latest = no dump name)', () => {
    expect(normalizeRestoreSpec(IN_PLACE)).toEqual({
      ok: true,
      spec: { database: 'webrana', service: 'auth-service', scaleDown: true, deployment: 'auth-service' },
    });
  });

  test('each bad field is named in one message', () => {
    const r = normalizeRestoreSpec({
      database: 'Web_rana',
      service: 'auth-service',
      backup: 'catalog-service-20261130T020000Z.tar.zst',
      target: { inPlace: true, newDatabase: 'x' },
      deployment: 'No',
    });
    expect(r.ok).toBe(false);
    const message = r.ok ? '' : r.message;
    expect(message).toContain('spec.database');
    expect(message).toContain('is not a dump of auth-service');
    expect(message).toContain('spec.target must be exactly one of inPlace: true and newDatabase: NAME');
    expect(message).toContain('spec.deployment');
  });

  test('scaleDown with a new database, a bad database name and a dump name of another shape are refused', () => {
    const bad = (spec: Partial<WebranaRestoreSpec>) => {
      const r = normalizeRestoreSpec({ ...IN_PLACE, ...spec });
      return r.ok ? '' : r.message;
    };
    expect(bad({ target: { newDatabase: 'copy' } })).toContain('spec.scaleDown applies to target inPlace only');
    expect(bad({ scaleDown: false, target: { newDatabase: '1copy' } })).toContain('spec.target.newDatabase');
    expect(bad({ backup: 'auth-service.sql' })).toContain('spec.backup must be "latest"');
    expect(bad({ target: { inPlace: false } })).toContain('spec.target');
  });
});

describe('WebranaRestore CRD', () => {
  test('the chart ships exactly the CRD the source defines', () => {
    const file = path.join(REPO_ROOT, 'charts', 'webrana-operator', 'crds', 'webranarestores.webrana.cloud.yaml');
    expect(yaml.load(fs.readFileSync(file, 'utf8'))).toEqual(webranaRestoreCrd());
  });

  test('is webranarestores.webrana.cloud, namespaced, short name wrs, with printer columns and an immutable spec', () => {
    const crd = webranaRestoreCrd();
    expect(crd.metadata.name).toBe('webranarestores.webrana.cloud');
    expect(crd.spec.scope).toBe('Namespaced');
    expect((crd.spec.names as { shortNames: string[] }).shortNames).toEqual(['wrs']);
    const version = (crd.spec.versions as Record<string, unknown>[])[0]!;
    const columns = (version.additionalPrinterColumns as { name: string; priority?: number }[])
      .filter((c) => !c.priority)
      .map((c) => c.name);
    expect(columns).toEqual(['Database', 'Service', 'Backup', 'Phase', 'Dump', 'Age']);
    expect(JSON.stringify(version.schema)).toContain('self == oldSelf');
  });
});

describe('restore Job', () => {
  const db = (() => {
    const r = normalizeSpec({
      ...FOUR_SERVICES,
      backup: {
        ...FOUR_SERVICES.backup!,
        s3: { bucket: 'dumps', prefix: '/nightly/', credentialsSecretRef: { name: 'c' } },
      },
    });
    if (!r.ok) throw new Error(r.message);
    return r.spec;
  })();
  const spec = (s: Partial<WebranaRestoreSpec>) => {
    const r = normalizeRestoreSpec({ ...IN_PLACE, ...s });
    if (!r.ok) throw new Error(r.message);
    return r.spec;
  };

  test('args: latest or a named dump, from the volume or the bucket, into the service database or a new one; never --force', () => {
    expect(restoreArgs(db, spec({}), 'volume')).toEqual([
      'restore',
      '--service=auth-service',
      '--latest',
      '--dir=/backups',
      '--termination-log=/dev/termination-log',
    ]);
    const named = spec({
      backup: 'auth-service-20261130T020000Z.tar.zst',
      scaleDown: false,
      target: { newDatabase: 'auth_copy' },
    });
    expect(restoreArgs(db, named, 'volume')).toContain(
      '--file=/backups/auth-service/auth-service-20261130T020000Z.tar.zst',
    );
    expect(restoreArgs(db, named, 'volume')).toContain('--into-database=auth_copy');
    expect(restoreArgs(db, named, 'bucket')).toContain(
      '--file=s3://dumps/nightly/auth-service/auth-service-20261130T020000Z.tar.zst',
    );
    expect(restoreArgs(db, spec({}), 'bucket')).toEqual([
      'restore',
      '--service=auth-service',
      '--latest',
      '--termination-log=/dev/termination-log',
    ]);
    expect(restoreArgs(db, named, 'bucket').join(' ')).not.toContain('--force');
  });

  test("the pod is the backup CronJob's pod (image, DATABASE_URL secret, bucket variables), owned by the WebranaRestore, run once", () => {
    const job = restoreJob(
      { name: 'r1', namespace: 'ns', uid: 'u-1' },
      { name: 'webrana', namespace: 'ns', uid: 'u-db' },
      db,
      db.services[0]!,
      spec({}),
      'bucket',
    );
    expect(job.metadata.name).toBe(restoreJobName('r1', 'u-1'));
    expect(job.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'WebranaRestore', name: 'r1', uid: 'u-1', controller: true }),
    ]);
    expect(job.metadata.labels).toMatchObject({
      [LABELS.component]: 'restore',
      [LABELS.database]: 'webrana',
      [LABELS.service]: 'auth-service',
      'webrana.cloud/restore': 'r1',
    });
    expect(job.spec.backoffLimit).toBe(0);
    const pod = job.spec.template.spec as {
      containers: Record<string, unknown>[];
      volumes: { name: string }[];
      automountServiceAccountToken?: boolean;
    };
    const c = pod.containers[0]!;
    expect(c.name).toBe('restore');
    expect(c.image).toBe(FOUR_SERVICES.image);
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    const env = c.env as { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
    expect(env.find((e) => e.name === 'DATABASE_URL')?.valueFrom?.secretKeyRef?.name).toBe('auth-db');
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['BACKUP_S3_URL', 'AWS_ACCESS_KEY_ID']));
    // From the bucket: the volume is not mounted.
    expect(pod.volumes.map((v) => v.name)).toEqual(['tmp']);
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('the name is the same for the same resource (a restarted operator) and differs for a recreated one of the same name', () => {
    expect(restoreJobName('r1', 'u-1')).toBe(restoreJobName('r1', 'u-1'));
    expect(restoreJobName('r1', 'u-2')).not.toBe(restoreJobName('r1', 'u-1'));
    expect(restoreJobName('x'.repeat(63), 'u-1').length).toBeLessThanOrEqual(63);
  });

  test('dump source: the volume by default, the bucket when asked or alone; no backup section is an error', () => {
    expect(dumpSource(db, undefined)).toEqual({ ok: true, source: 'volume' });
    expect(dumpSource(db, 'bucket')).toEqual({ ok: true, source: 'bucket' });
    const noBackup = normalizeSpec({ ...FOUR_SERVICES, backup: undefined });
    expect(noBackup.ok && dumpSource(noBackup.spec, undefined)).toMatchObject({ ok: false });
  });
});

describe('restore state machine (pure parts)', () => {
  test('only a Deployment labelled with the service may be scaled', () => {
    const dep = (labels: Record<string, string>): Deployment => ({ metadata: { name: 'web', labels } });
    expect(deploymentProblem(dep({ [LABELS.name]: 'auth-service' }), 'auth-service')).toBeNull();
    expect(deploymentProblem(dep({ [LABELS.service]: 'auth-service' }), 'auth-service')).toBeNull();
    expect(deploymentProblem(dep({ [LABELS.name]: 'order-service' }), 'auth-service')).toContain(
      "Deployment web is not auth-service's",
    );
    expect(deploymentProblem(dep({}), 'auth-service')).toContain('it was not scaled');
  });

  test("the restore's own errors become reasons", () => {
    expect(failureReason('dump file not found: /backups/auth-service/x.tar.zst (BackoffLimitExceeded)')).toBe(
      'DumpNotFound',
    );
    expect(failureReason('no completed auth-service dump in /backups/auth-service')).toBe('DumpNotFound');
    expect(failureReason('s3://b/p/auth-service/x.tar.zst has no manifest (x.tar.zst.json)')).toBe('DumpNotFound');
    expect(
      failureReason(
        'x.tar.zst was taken at migration 20260101_a, but the database is at 20260301_b: restoring it would',
      ),
    ).toBe('TargetSchemaNewer');
    expect(failureReason('x.tar.zst is corrupted: its sha256 is')).toBe('DumpCorrupted');
    expect(failureReason('something else')).toBe('RestoreJobFailed');
  });

  test('the summary comes from a successful pod only', () => {
    const pod = (exitCode: number, message: string): Pod => ({
      metadata: { name: 'p' },
      status: { containerStatuses: [{ name: 'restore', state: { terminated: { exitCode, message } } }] },
    });
    expect(restoreSummary([pod(0, '{"file":"a.tar.zst","database":"auth"}')])).toEqual({
      file: 'a.tar.zst',
      database: 'auth',
    });
    expect(restoreSummary([pod(1, '{"file":"a.tar.zst"}')])).toBeUndefined();
    expect(restoreSummary([pod(0, 'not json')])).toBeUndefined();
  });

  test('migration and backup Jobs of the service that run hold the restore back; finished ones and other services do not', () => {
    const job = (name: string, service: string, component: string, done = false): Job => ({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, labels: { [LABELS.service]: service, [LABELS.component]: component } },
      spec: { template: { spec: {} } },
      ...(done ? { status: { conditions: [{ type: 'Complete', status: 'True' }] } } : {}),
    });
    expect(
      busyJobs(
        [
          job('m', 'auth-service', 'migration'),
          job('b', 'auth-service', 'backup'),
          job('d', 'auth-service', 'backup', true),
          job('o', 'order-service', 'migration'),
        ],
        'auth-service',
      ),
    ).toEqual(['b', 'm']);
  });

  test('the Complete condition: Unknown while pending or running, True on success, False on failure; finishedAt set once', () => {
    const s1 = nextStatus(undefined, { phase: 'Pending', reason: 'WaitingForJobs', message: 'm' }, 1, 't1');
    expect(s1.conditions?.[0]).toMatchObject({ type: 'Complete', status: 'Unknown', lastTransitionTime: 't1' });
    const s2 = nextStatus(s1, { phase: 'Running', reason: 'Restoring', message: 'm', scaledDown: true }, 1, 't2');
    expect(s2.conditions?.find((c) => c.type === 'Complete')?.lastTransitionTime).toBe('t1');
    expect(s2.conditions?.find((c) => c.type === 'ScaledDown')?.status).toBe('True');
    const s3 = nextStatus(s2, { phase: 'Succeeded', reason: 'Restored', message: 'm', scaledDown: false }, 1, 't3');
    expect(s3.conditions?.find((c) => c.type === 'Complete')).toMatchObject({
      status: 'True',
      lastTransitionTime: 't3',
    });
    expect(s3.finishedAt).toBe('t3');
    expect(nextStatus(undefined, { phase: 'Failed', reason: 'X', message: 'm' }, 1, 't').conditions?.[0]?.status).toBe(
      'False',
    );
  });
});

describe('RestoreReconciler', () => {
  test('in place with scaleDown: records the replicas, scales to 0, waits for the pods, runs one Job, then scales back and reports the dump', async () => {
    const { cluster, reconcile } = setup();
    cluster.addDeployment('auth-service', 'auth-service', 3);
    cluster.addRestore('r1', IN_PLACE);

    await reconcile();
    expect(cluster.writes).toEqual(
      expect.arrayContaining([
        `annotate r1 ${REPLICAS_ANNOTATION}=3`,
        'scale auth-service 0',
        'restore status r1 Pending ScalingDown',
      ]),
    );
    expect(cluster.writes.indexOf(`annotate r1 ${REPLICAS_ANNOTATION}=3`)).toBeLessThan(
      cluster.writes.indexOf('scale auth-service 0'),
    );
    expect(restoreJobs(cluster)).toEqual([]);

    cluster.deploymentPods.set('auth-service', 0); // the pods are gone
    await reconcile();
    expect(restoreJobs(cluster)).toEqual([jobName()]);
    expect(cluster.restoreStatus('r1')).toMatchObject({ phase: 'Running', reason: 'Restoring', job: jobName() });

    await reconcile();
    expect(restoreJobs(cluster)).toEqual([jobName()]);

    cluster.finishRestore(
      jobName(),
      'Complete',
      '{"service":"auth-service","file":"auth-service-20261130T020000Z.tar.zst","database":"auth","bytes":1234,"durationSeconds":2.5}',
    );
    await reconcile();
    expect(cluster.deployments.get('ns/auth-service')?.spec?.replicas).toBe(3);
    expect(cluster.restoreStatus('r1')).toMatchObject({
      phase: 'Succeeded',
      reason: 'Restored',
      dump: 'auth-service-20261130T020000Z.tar.zst',
      targetDatabase: 'auth',
      bytes: 1234,
    });
    expect(cluster.restoreStatus('r1')?.conditions?.find((c) => c.type === 'ScaledDown')?.status).toBe('False');
    expect(cluster.eventReasons()).toEqual(
      expect.arrayContaining(['ScaledDown', 'Restoring', 'ScaledUp', 'RestoreSucceeded']),
    );
    // Terminal: nothing more happens.
    const writes = cluster.writes.length;
    await reconcile();
    expect(cluster.writes.length).toBe(writes);
  });

  test('a restart after scaling down scales back to the recorded replicas, not to 0, and creates no second Job', async () => {
    const { cluster, reconcile, restart } = setup();
    cluster.addDeployment('auth-service', 'auth-service', 2);
    cluster.addRestore('r1', IN_PLACE);
    cluster.deploymentPods.set('auth-service', 0);
    await reconcile();
    expect(restoreJobs(cluster)).toEqual([jobName()]);
    restart();
    // The status write of the previous process was lost: the new one sees only the Job and the annotation.
    cluster.restores.get('ns/r1')!.status = undefined;
    await reconcile();
    await reconcile();
    expect(cluster.writes.filter((w) => w.startsWith('create Job'))).toHaveLength(1);
    cluster.finishRestore(jobName(), 'Failed', 'webrana-jobs: dump file not found: /backups/auth-service/x');
    restart();
    await reconcile();
    expect(cluster.deployments.get('ns/auth-service')?.spec?.replicas).toBe(2);
    expect(cluster.restoreStatus('r1')).toMatchObject({ phase: 'Failed', reason: 'DumpNotFound' });
    expect(cluster.restoreStatus('r1')?.message).toContain('dump file not found');
  });

  test('a Job of the restore that is gone while the status records it fails the restore instead of starting another', async () => {
    const { cluster, reconcile } = setup();
    cluster.addRestore('r1', { ...IN_PLACE, scaleDown: false });
    await reconcile();
    await reconcile(); // the cache shows the Job
    await cluster.deleteJob('ns', jobName());
    await reconcile();
    expect(cluster.writes.filter((w) => w.startsWith('create Job'))).toHaveLength(1);
    expect(cluster.restoreStatus('r1')).toMatchObject({ phase: 'Failed', reason: 'JobDeleted' });
  });

  test('waits while a migration or backup Job of the service runs', async () => {
    const { cluster, reconcile } = setup();
    await cluster.createJob({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'webrana-auth-service-backup-1',
        namespace: 'ns',
        labels: { [LABELS.database]: 'webrana', [LABELS.service]: 'auth-service', [LABELS.component]: 'backup' },
      },
      spec: { template: { spec: {} } },
    });
    cluster.addRestore('r1', { ...IN_PLACE, scaleDown: false });
    const result = await reconcile();
    expect(result.requeueAfterMs).toBeGreaterThan(0);
    expect(cluster.restoreStatus('r1')).toMatchObject({ phase: 'Pending', reason: 'WaitingForJobs' });
    expect(cluster.restoreStatus('r1')?.message).toContain('webrana-auth-service-backup-1');
    expect(restoreJobs(cluster)).toEqual([]);
    cluster.finishJob('webrana-auth-service-backup-1', 'Complete');
    await reconcile();
    expect(restoreJobs(cluster)).toEqual([jobName()]);
  });

  test("fails with the reason named: no such WebranaDatabase, no such service, a Deployment not the service's (left unscaled), no backup section", async () => {
    const { cluster, reconcile } = setup();
    cluster.addRestore('nodb', { ...IN_PLACE, database: 'nope' });
    cluster.addRestore('nosvc', { ...IN_PLACE, service: 'ghost-service' });
    cluster.addDeployment('order-service', 'order-service', 2);
    cluster.addRestore('notmine', { ...IN_PLACE, deployment: 'order-service' });
    cluster.addRestore('nodep', { ...IN_PLACE, deployment: 'missing' });
    for (const n of ['nodb', 'nosvc', 'notmine', 'nodep']) await reconcile(n);
    expect(cluster.restoreStatus('nodb')).toMatchObject({ phase: 'Failed', reason: 'DatabaseNotFound' });
    expect(cluster.restoreStatus('nosvc')).toMatchObject({ phase: 'Failed', reason: 'ServiceNotFound' });
    expect(cluster.restoreStatus('nosvc')?.message).toContain('it has auth-service, catalog-service');
    expect(cluster.restoreStatus('notmine')).toMatchObject({ phase: 'Failed', reason: 'DeploymentNotOwned' });
    expect(cluster.restoreStatus('nodep')).toMatchObject({ phase: 'Failed', reason: 'DeploymentNotFound' });
    expect(cluster.deployments.get('ns/order-service')?.spec?.replicas).toBe(2);
    expect(cluster.writes.filter((w) => w.startsWith('scale'))).toEqual([]);
    expect(restoreJobs(cluster)).toEqual([]);

    const bare = setup({ ...FOUR_SERVICES, backup: undefined });
    bare.cluster.addRestore('r1', { ...IN_PLACE, scaleDown: false });
    await bare.reconcile();
    expect(bare.cluster.restoreStatus('r1')).toMatchObject({ phase: 'Failed', reason: 'NoBackupSource' });
  });

  test('the newer-migration-head refusal of the restore becomes TargetSchemaNewer', async () => {
    const { cluster, reconcile } = setup();
    cluster.addRestore('r1', { ...IN_PLACE, scaleDown: false });
    await reconcile();
    cluster.finishRestore(
      jobName(),
      'Failed',
      '{"level":30}\nwebrana-jobs: auth-service-20261130T020000Z.tar.zst was taken at migration 1_init, but the database is at 2_more: restoring it would put an older schema under newer code. Pass --force if that is what you want',
    );
    await reconcile();
    expect(cluster.restoreStatus('r1')).toMatchObject({ phase: 'Failed', reason: 'TargetSchemaNewer' });
    expect(cluster.eventReasons()).toContain('RestoreFailed');
  });
});

describe('WebranaDatabase reconcile while a restore holds a service', () => {
  class HeldCluster extends RestoreCluster {
    heldServices(namespace: string, database: string) {
      return new Map(
        activeRestores(
          [...this.restores.values()].filter((r) => r.metadata.namespace === namespace),
          database,
        ).map((r) => [r.spec.service, r.metadata.name ?? ''] as const),
      );
    }
  }

  test('no migration Job for the held service, its backup CronJob suspended, RestoreInProgress and an Event; all back after the restore', async () => {
    const cluster = new HeldCluster();
    cluster.addDatabase('webrana', structuredClone(FOUR_SERVICES));
    cluster.addRestore('r1', IN_PLACE);
    const db = new Reconciler({ view: cluster, writer: cluster, log, instance: 't', now: cluster.now });
    await db.reconcile('ns/webrana');
    expect(cluster.jobNames().filter((n) => n.includes('auth-service-migrate'))).toEqual([]);
    expect(cluster.jobNames().some((n) => n.includes('catalog-service-migrate'))).toBe(true);
    const auth = [...cluster.cronJobMap.values()].find((c) => c.metadata.name.includes('auth-service'));
    const catalog = [...cluster.cronJobMap.values()].find((c) => c.metadata.name.includes('catalog-service'));
    expect(auth?.spec.suspend).toBe(true);
    expect(catalog?.spec.suspend).toBe(false);
    const status = cluster.status('ns/webrana');
    expect(status?.services?.find((s) => s.name === 'auth-service')).toMatchObject({ phase: 'Waiting' });
    expect(status?.services?.find((s) => s.name === 'auth-service')?.message).toContain('held by WebranaRestore r1');
    expect(status?.conditions?.find((c) => c.type === 'RestoreInProgress')).toMatchObject({ status: 'True' });
    expect(cluster.eventReasons().filter((r) => r === 'HeldByRestore')).toHaveLength(1);
    await db.reconcile('ns/webrana');
    expect(cluster.eventReasons().filter((r) => r === 'HeldByRestore')).toHaveLength(1);

    cluster.restores.get('ns/r1')!.status = { phase: 'Succeeded' };
    await db.reconcile('ns/webrana');
    expect(cluster.jobNames().some((n) => n.includes('auth-service-migrate'))).toBe(true);
    expect([...cluster.cronJobMap.values()].find((c) => c.metadata.name.includes('auth-service'))?.spec.suspend).toBe(
      false,
    );
    expect(cluster.status('ns/webrana')?.conditions?.find((c) => c.type === 'RestoreInProgress')?.status).toBe('False');
  });
});

describe('post-deploy migrations while a restore holds the service', () => {
  test('the post-deploy Job of a rolled-out Deployment is not created while held, and is once the restore ends', async () => {
    const cluster = new FakeCluster();
    const spec: WebranaDatabaseSpec = {
      image: 'registry.example/webrana/jobs:1.4.0',
      services: [
        { name: 'catalog-service', databaseUrlSecretRef: { name: 'catalog-db', key: 'url' }, deployment: 'catalog' },
      ],
    };
    cluster.addDatabase('webrana', spec);
    let held = new Map([['catalog-service', 'r1']]);
    const rolledOut: K8sDeployment = {
      metadata: { name: 'catalog', namespace: 'ns', generation: 1 },
      spec: { replicas: 2 },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 },
    };
    const view: ClusterView = {
      getDatabase: (n, d) => cluster.getDatabase(n, d),
      jobs: (n, d) => cluster.jobs(n, d),
      cronJobs: (n, d) => cluster.cronJobs(n, d),
      migrationJobStates: () => cluster.migrationJobStates(),
      deployment: () => rolledOut,
      heldServices: () => held,
    };
    const db = new Reconciler({ view, writer: cluster, log, instance: 't', now: cluster.now });
    held = new Map();
    await db.reconcile('ns/webrana'); // the pre-deploy Job, not held yet
    cluster.finishJob('webrana-catalog-service-migrate-g1', 'Complete');
    held = new Map([['catalog-service', 'r1']]);
    await db.reconcile('ns/webrana');
    expect(cluster.jobNames()).toEqual(['webrana-catalog-service-migrate-g1']);
    const postDeploy = () => cluster.status('ns/webrana')?.services?.[0]?.postDeploy;
    expect(postDeploy()).toMatchObject({ phase: 'Waiting' });
    expect(postDeploy()?.message).toContain('held by WebranaRestore r1');
    held = new Map();
    await db.reconcile('ns/webrana');
    expect(cluster.jobNames()).toContain('webrana-catalog-service-postdeploy-g1');
  });
});
