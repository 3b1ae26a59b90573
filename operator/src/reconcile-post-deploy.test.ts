import { createLogger } from '@webrana/logger';
import { FakeCluster } from '../test/fake-cluster';
import type { WebranaDatabaseSpec } from './api/types';
import type { Deployment } from './k8s';
import { Reconciler, type ClusterView } from './reconcile';
import { conditionOf } from './status';

const log = createLogger({ name: 'test', level: 'silent' });
const KEY = 'ns/webrana';
const PRE = 'webrana-catalog-service-migrate-g1';
const POST = 'webrana-catalog-service-postdeploy-g1';

const SPEC: WebranaDatabaseSpec = {
  image: 'registry.example/webrana/jobs:1.4.0',
  services: [
    { name: 'auth-service', databaseUrlSecretRef: { name: 'auth-db', key: 'url' } },
    { name: 'catalog-service', databaseUrlSecretRef: { name: 'catalog-db', key: 'url' }, deployment: 'catalog' },
  ],
};

/** The Deployment as its controller reports it: `observed` generation, `updated` of 2 replicas on the new template. */
function catalogDeployment(generation: number, observed: number, updated: number, total = 2): Deployment {
  return {
    metadata: { name: 'catalog', namespace: 'ns', generation },
    spec: { replicas: 2 },
    status: {
      observedGeneration: observed,
      replicas: total,
      updatedReplicas: updated,
      availableReplicas: updated,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated' }],
    },
  };
}

function setup(spec: WebranaDatabaseSpec = SPEC) {
  const cluster = new FakeCluster();
  cluster.addDatabase('webrana', structuredClone(spec));
  const deployments = new Map<string, Deployment>();
  const view: ClusterView = {
    getDatabase: (n, d) => cluster.getDatabase(n, d),
    jobs: (n, d) => cluster.jobs(n, d),
    cronJobs: (n, d) => cluster.cronJobs(n, d),
    migrationJobStates: () => cluster.migrationJobStates(),
    migrationPods: (n, d) => cluster.migrationPods(n, d),
    deployment: (_n, name) => deployments.get(name),
  };
  const reconciler = () => new Reconciler({ view, writer: cluster, log, instance: 'test-0', now: cluster.now });
  let current = reconciler();
  return {
    cluster,
    deployments,
    reconcile: () => current.reconcile(KEY),
    /** A new operator process (no memory of what the previous one created). */
    restart: () => (current = reconciler()),
    postDeploy: () => cluster.status(KEY)?.services?.find((s) => s.name === 'catalog-service')?.postDeploy,
  };
}

describe('reconcile: post-deploy migrations after the rollout of the named Deployment', () => {
  test('waits for rollout of deployment catalog, then creates one post-deploy Job with --phase=post-deploy, then reports its outcome', async () => {
    const { cluster, deployments, reconcile, postDeploy } = setup();
    deployments.set('catalog', catalogDeployment(5, 4, 0));
    await reconcile();
    expect(cluster.jobNames()).toEqual(['webrana-auth-service-migrate-g1', PRE]);
    expect(postDeploy()).toMatchObject({ phase: 'Pending', deployment: 'catalog', job: POST });

    cluster.finishJob(PRE, 'Complete');
    cluster.finishJob('webrana-auth-service-migrate-g1', 'Complete');
    const waiting = await reconcile();
    expect(cluster.jobNames()).not.toContain(POST);
    expect(postDeploy()).toMatchObject({
      phase: 'Waiting',
      message: 'waiting for rollout of deployment catalog (deployment catalog: generation 5 not observed yet)',
    });
    expect(conditionOf(cluster.status(KEY), 'PostDeployMigrated')).toMatchObject({
      status: 'False',
      reason: 'WaitingForRollout',
    });
    // The pre-deploy side is done: the release can run (Ready), the contract step waits.
    expect(conditionOf(cluster.status(KEY), 'Ready')?.status).toBe('True');
    expect(cluster.eventReasons()).toContain('WaitingForRollout');
    expect(waiting.requeueAfterMs).toBeGreaterThan(0);

    // Half rolled out: still waiting (one old pod serves, and may read what the migration drops).
    deployments.set('catalog', catalogDeployment(5, 5, 1));
    await reconcile();
    expect(cluster.jobNames()).not.toContain(POST);
    expect(postDeploy()?.message).toMatch(/1 of 2 pods updated/);
    deployments.set('catalog', catalogDeployment(5, 5, 2, 3));
    await reconcile();
    expect(postDeploy()?.message).toMatch(/1 old pods pending termination/);
    expect(cluster.jobNames()).not.toContain(POST);

    deployments.set('catalog', catalogDeployment(5, 5, 2));
    await reconcile();
    expect(cluster.jobNames()).toContain(POST);
    const job = cluster.job(POST);
    const container = (job.spec.template.spec.containers as { args: string[] }[])[0]!;
    expect(container.args).toContain('--phase=post-deploy');
    expect(container.args).toContain('--service=catalog-service');
    expect(job.metadata.labels?.['webrana.cloud/migration-phase']).toBe('post-deploy');
    expect(job.spec.template.metadata?.labels?.['webrana.cloud/migration-phase']).toBe('post-deploy');
    expect(postDeploy()).toMatchObject({ phase: 'Running' });
    expect(cluster.eventReasons()).toContain('PostDeployMigrationStarted');

    cluster.finishJob(POST, 'Complete');
    await reconcile();
    expect(postDeploy()).toMatchObject({ phase: 'Succeeded', message: 'post-deploy migrations applied' });
    expect(conditionOf(cluster.status(KEY), 'PostDeployMigrated')).toMatchObject({
      status: 'True',
      reason: 'PostDeployApplied',
    });
    expect(cluster.eventReasons()).toContain('PostDeployMigrationSucceeded');
  });

  test("waits out the old pods' termination grace period after the rollout completed, looking again when it ends", async () => {
    const { cluster, deployments, reconcile, postDeploy } = setup();
    await reconcile();
    cluster.finishJob(PRE, 'Complete');
    const d = catalogDeployment(1, 1, 2);
    d.spec!.template = { spec: { terminationGracePeriodSeconds: 30 } };
    d.status!.conditions = [
      {
        type: 'Progressing',
        status: 'True',
        reason: 'NewReplicaSetAvailable',
        lastUpdateTime: cluster.now().toISOString(),
      },
    ];
    deployments.set('catalog', d);
    cluster.tick(10);
    const early = await reconcile();
    expect(cluster.jobNames()).not.toContain(POST);
    expect(postDeploy()?.message).toMatch(/old pods may still be terminating until .* \(grace period 30 s\)/);
    expect(early.requeueAfterMs).toBe(20_000);
    cluster.tick(21);
    await reconcile();
    expect(cluster.jobNames()).toContain(POST);
  });

  test('never creates the post-deploy Job twice: not on a second reconcile, not after an operator restart', async () => {
    const { cluster, deployments, reconcile, restart } = setup();
    deployments.set('catalog', catalogDeployment(1, 1, 2));
    await reconcile();
    cluster.finishJob(PRE, 'Complete');
    await reconcile();
    await reconcile();
    restart();
    await reconcile();
    expect(cluster.writes.filter((w) => w === `create Job ${POST}`)).toHaveLength(1);
    // Gone after it succeeded (someone deleted it): the recorded success stands, nothing reruns.
    cluster.finishJob(POST, 'Complete');
    await reconcile();
    await cluster.deleteJob('ns', POST);
    restart();
    await reconcile();
    expect(cluster.writes.filter((w) => w === `create Job ${POST}`)).toHaveLength(1);
    expect(cluster.status(KEY)?.services?.[1]?.postDeploy?.phase).toBe('Succeeded');
  });

  test('a failed post-deploy Job makes the resource Degraded with its error, and a Warning Event', async () => {
    const { cluster, deployments, reconcile, postDeploy } = setup();
    deployments.set('catalog', catalogDeployment(1, 1, 2));
    await reconcile();
    cluster.finishJob(PRE, 'Complete');
    await reconcile();
    cluster.finishJob(POST, 'Failed', 'Error: column "description" of relation "vps_plans" does not exist');
    await reconcile();
    expect(postDeploy()).toMatchObject({ phase: 'Failed' });
    expect(postDeploy()?.message).toMatch(/column "description" of relation "vps_plans" does not exist/);
    expect(conditionOf(cluster.status(KEY), 'Degraded')).toMatchObject({ status: 'True', reason: 'PostDeployFailed' });
    expect(cluster.eventReasons()).toContain('PostDeployMigrationFailed');
  });

  test('a rollout past its progress deadline blocks the post-deploy migrations (RolloutFailed), nothing is created', async () => {
    const { cluster, deployments, reconcile, postDeploy } = setup();
    const stuck = catalogDeployment(2, 2, 1, 3);
    stuck.status!.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }];
    deployments.set('catalog', stuck);
    await reconcile();
    cluster.finishJob(PRE, 'Complete');
    await reconcile();
    expect(cluster.jobNames()).not.toContain(POST);
    expect(postDeploy()).toMatchObject({ phase: 'Blocked' });
    expect(cluster.eventReasons()).toContain('RolloutFailed');
  });

  test('without spec.services[].deployment: no post-deploy Job, no postDeploy status, no PostDeployMigrated condition', async () => {
    const spec = structuredClone(SPEC);
    delete spec.services[1]!.deployment;
    const { cluster, reconcile } = setup(spec);
    await reconcile();
    for (const j of cluster.jobNames()) cluster.finishJob(j, 'Complete');
    await reconcile();
    await reconcile();
    expect(cluster.jobNames().some((j) => j.includes('postdeploy'))).toBe(false);
    expect(cluster.status(KEY)?.services?.every((s) => s.postDeploy === undefined)).toBe(true);
    expect(conditionOf(cluster.status(KEY), 'PostDeployMigrated')).toBeUndefined();
    expect(cluster.status(KEY)?.phase).toBe('Ready');
  });
});
