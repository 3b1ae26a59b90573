import type { PostDeployStatus, WebranaDatabaseStatus } from './api/types';
import { normalizeSpec, type ServicePlanEntry } from './api/validate';
import type { Deployment, Job } from './k8s';
import type { ServicePlan } from './plan';
import { planPostDeploy, postDeployCondition, postDeployEvents, rolloutOf, type PostDeployInput } from './post-deploy';

function deployment(over: { generation?: number; replicas?: number; status?: Deployment['status'] } = {}): Deployment {
  return {
    metadata: { name: 'catalog', namespace: 'ns', generation: over.generation ?? 3 },
    spec: { replicas: over.replicas ?? 2 },
    status: over.status ?? {
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
      conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
    },
  };
}

describe('rolloutOf: the rules of kubectl rollout status', () => {
  test('done when the newest generation is observed and every replica is updated and available, with no old pod left', () => {
    expect(rolloutOf('catalog', deployment())).toEqual({
      state: 'done',
      message: 'deployment catalog rolled out generation 3',
    });
  });

  test('not done while the controller has not observed the newest generation (a just-edited Deployment)', () => {
    const d = deployment({ generation: 4 });
    expect(rolloutOf('catalog', d)).toEqual({
      state: 'progressing',
      message: 'deployment catalog: generation 4 not observed yet',
    });
  });

  test('not done while pods of the new template are missing, old pods remain, or new pods are not available', () => {
    const base = { observedGeneration: 3, replicas: 3, updatedReplicas: 1, availableReplicas: 2 };
    expect(rolloutOf('catalog', deployment({ status: base })).message).toBe('deployment catalog: 1 of 2 pods updated');
    expect(rolloutOf('catalog', deployment({ status: { ...base, updatedReplicas: 2 } })).message).toBe(
      'deployment catalog: 1 old pods pending termination',
    );
    expect(
      rolloutOf('catalog', deployment({ status: { ...base, replicas: 2, updatedReplicas: 2, availableReplicas: 1 } }))
        .message,
    ).toBe('deployment catalog: 1 of 2 updated pods available');
  });

  test('failed when Progressing says ProgressDeadlineExceeded', () => {
    const d = deployment({
      status: {
        observedGeneration: 3,
        replicas: 3,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "catalog-7d9" has timed out progressing.',
          },
        ],
      },
    });
    expect(rolloutOf('catalog', d)).toEqual({
      state: 'failed',
      message: 'deployment catalog exceeded its progress deadline: ReplicaSet "catalog-7d9" has timed out progressing.',
    });
  });

  test('a missing Deployment is waited for, never taken as rolled out', () => {
    expect(rolloutOf('catalog', undefined)).toEqual({ state: 'progressing', message: 'deployment catalog not found' });
  });

  test("rolled out, but within the pods' termination grace period after completion: not done yet (a terminating old pod may still answer)", () => {
    const d = deployment();
    d.status!.conditions = [
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: '2026-11-30T10:00:00Z' },
    ];
    d.spec!.template = { spec: { terminationGracePeriodSeconds: 30 } };
    expect(rolloutOf('catalog', d, new Date('2026-11-30T10:00:10Z'))).toEqual({
      state: 'progressing',
      message:
        'deployment catalog rolled out; its old pods may still be terminating until 2026-11-30T10:00:30Z (grace period 30 s)',
      recheckInMs: 20_000,
    });
    expect(rolloutOf('catalog', d, new Date('2026-11-30T10:00:30Z')).state).toBe('done');
    // Kubernetes' default grace period when the template sets none.
    delete d.spec!.template;
    expect(rolloutOf('catalog', d, new Date('2026-11-30T10:00:29Z')).state).toBe('progressing');
    // Without the completion time (no such condition) there is nothing to wait from.
    d.status!.conditions = [];
    expect(rolloutOf('catalog', d, new Date('2026-11-30T10:00:01Z')).state).toBe('done');
  });

  test('replicas unset in the spec means 1, as in Kubernetes', () => {
    const d = deployment({ status: { observedGeneration: 3, replicas: 1, updatedReplicas: 1, availableReplicas: 1 } });
    delete d.spec!.replicas;
    expect(rolloutOf('catalog', d).state).toBe('done');
  });
});

function service(deploymentName?: string): ServicePlanEntry {
  const spec = normalizeSpec({
    image: 'webrana/jobs:1',
    services: [
      {
        name: 'catalog-service',
        databaseUrlSecretRef: { name: 's', key: 'CATALOG_DATABASE_URL' },
        ...(deploymentName ? { deployment: deploymentName } : {}),
      },
    ],
  });
  if (!spec.ok) throw new Error(spec.message);
  return spec.spec.services[0]!;
}

const JOB = 'db-catalog-service-postdeploy-g3';
const pre = (phase: ServicePlan['phase']): ServicePlan => ({
  name: 'catalog-service',
  phase,
  job: 'db-catalog-service-migrate-g3',
  message: '',
});

function input(over: Partial<PostDeployInput> = {}): PostDeployInput {
  return {
    database: 'db',
    generation: 3,
    service: service('catalog'),
    preDeploy: pre('Succeeded'),
    jobs: [],
    pods: [],
    recorded: undefined,
    deployment: deployment(),
    ...over,
  };
}

function postJob(condition?: 'Complete' | 'Failed'): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: JOB, namespace: 'ns', uid: 'u1' },
    spec: { backoffLimit: 0, template: { spec: {} } },
    status: {
      startTime: '2026-11-30T10:00:00Z',
      ...(condition
        ? {
            conditions: [{ type: condition, status: 'True' }],
            completionTime: condition === 'Complete' ? '2026-11-30T10:00:09Z' : undefined,
          }
        : { active: 1 }),
    },
  };
}

describe('planPostDeploy: when the post-deploy migration Job is created', () => {
  test('a service without spec.services[].deployment has no post-deploy step: nothing created, no status', () => {
    expect(planPostDeploy(input({ service: service() }))).toEqual({ create: false });
  });

  test('pending while the pre-deploy migration of this generation has not succeeded, whatever the rollout says', () => {
    for (const phase of ['Pending', 'Running', 'Waiting', 'Failed', 'Blocked'] as const) {
      const d = planPostDeploy(input({ preDeploy: pre(phase) }));
      expect(d).toEqual({
        create: false,
        status: {
          phase: 'Pending',
          deployment: 'catalog',
          job: JOB,
          message: 'after the pre-deploy migrations and the rollout of deployment catalog',
        },
      });
    }
  });

  test('waiting for rollout of the deployment while it is not rolled out, saying what it waits for', () => {
    const d = planPostDeploy(input({ deployment: deployment({ generation: 4 }) }));
    expect(d.create).toBe(false);
    expect(d.status).toMatchObject({
      phase: 'Waiting',
      message: 'waiting for rollout of deployment catalog (deployment catalog: generation 4 not observed yet)',
    });
  });

  test('created once the pre-deploy migration succeeded and the deployment reports the new generation available', () => {
    const d = planPostDeploy(input());
    expect(d.create).toBe(true);
    expect(d.status).toMatchObject({ phase: 'Pending', job: JOB });
  });

  test('never created twice: a Job of that name (running, done or failed) is followed, not recreated', () => {
    expect(planPostDeploy(input({ jobs: [postJob()] }))).toMatchObject({ create: false, status: { phase: 'Running' } });
    expect(planPostDeploy(input({ jobs: [postJob('Complete')] }))).toMatchObject({
      create: false,
      status: { phase: 'Succeeded', finishedAt: '2026-11-30T10:00:09Z', message: 'post-deploy migrations applied' },
    });
    expect(
      planPostDeploy(input({ jobs: [postJob('Failed')], failureMessage: 'column "x" does not exist' })),
    ).toMatchObject({ create: false, status: { phase: 'Failed', message: 'column "x" does not exist' } });
  });

  test('a recorded outcome of this generation stays when its Job is gone (not run again after a restart)', () => {
    const recorded: PostDeployStatus = {
      phase: 'Succeeded',
      deployment: 'catalog',
      job: JOB,
      finishedAt: '2026-11-30T10:00:09Z',
      message: 'post-deploy migrations applied',
    };
    expect(planPostDeploy(input({ recorded }))).toEqual({ create: false, status: recorded });
    // A record of another generation does not count.
    const older = { ...recorded, job: 'db-catalog-service-postdeploy-g2' };
    expect(planPostDeploy(input({ recorded: older })).create).toBe(true);
  });

  test('waits out the grace period, and says when to look again', () => {
    const d = deployment();
    d.status!.conditions = [
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', lastUpdateTime: '2026-11-30T10:00:00Z' },
    ];
    const early = planPostDeploy(input({ deployment: d, now: new Date('2026-11-30T10:00:05Z') }));
    expect(early).toMatchObject({ create: false, recheckInMs: 25_000, status: { phase: 'Waiting' } });
    expect(planPostDeploy(input({ deployment: d, now: new Date('2026-11-30T10:00:31Z') })).create).toBe(true);
  });

  test('blocked, never run, when the rollout exceeded its progress deadline', () => {
    const failing = deployment({
      status: {
        observedGeneration: 3,
        replicas: 3,
        updatedReplicas: 1,
        conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      },
    });
    expect(planPostDeploy(input({ deployment: failing }))).toMatchObject({
      create: false,
      status: {
        phase: 'Blocked',
        message: 'deployment catalog exceeded its progress deadline; post-deploy migrations not run',
      },
    });
  });
});

describe('PostDeployMigrated condition and Events', () => {
  const step = (phase: PostDeployStatus['phase'], message: string = phase): PostDeployStatus => ({
    phase,
    deployment: 'catalog',
    job: JOB,
    message,
  });
  const status = (p?: PostDeployStatus): WebranaDatabaseStatus => ({
    observedGeneration: 3,
    services: [{ name: 'catalog-service', phase: 'Succeeded', ...(p ? { postDeploy: p } : {}) }],
  });

  test('absent when no service names a deployment', () => {
    expect(postDeployCondition(status().services!, 3, undefined, 'now')).toBeUndefined();
  });

  test('False WaitingForRollout, False PostDeployRunning, True PostDeployApplied, False PostDeployFailed', () => {
    const reason = (p: PostDeployStatus) => postDeployCondition(status(p).services!, 3, undefined, 'now');
    expect(reason(step('Waiting', 'waiting for rollout of deployment catalog'))).toMatchObject({
      status: 'False',
      reason: 'WaitingForRollout',
      message: 'catalog-service: waiting for rollout of deployment catalog',
    });
    expect(reason(step('Running'))).toMatchObject({ status: 'False', reason: 'PostDeployRunning' });
    expect(reason(step('Succeeded'))).toMatchObject({ status: 'True', reason: 'PostDeployApplied' });
    expect(reason(step('Failed', 'boom'))).toMatchObject({ status: 'False', reason: 'PostDeployFailed' });
    expect(reason(step('Blocked'))).toMatchObject({ status: 'False', reason: 'PostDeployFailed' });
  });

  test('Events: waiting for rollout once, then started, then the outcome, each keyed by the Job (re-sent ones are refused)', () => {
    const waiting = status(step('Waiting', 'waiting for rollout of deployment catalog (1 of 2 pods updated)'));
    expect(postDeployEvents(status(step('Pending')), waiting, [])).toEqual([
      {
        type: 'Normal',
        reason: 'WaitingForRollout',
        message:
          'catalog-service: post-deploy migrations waiting for rollout of deployment catalog (1 of 2 pods updated)',
        key: `WaitingForRollout/${JOB}`,
      },
    ]);
    // Still waiting (another message): no second Event.
    expect(postDeployEvents(waiting, status(step('Waiting', 'other')), [])).toEqual([]);
    expect(postDeployEvents(waiting, status(step('Running')), [JOB]).map((e) => e.reason)).toEqual([
      'PostDeployMigrationStarted',
    ]);
    expect(postDeployEvents(status(step('Running')), status(step('Succeeded')), [])).toMatchObject([
      { type: 'Normal', reason: 'PostDeployMigrationSucceeded' },
    ]);
    expect(postDeployEvents(status(step('Running')), status(step('Failed', 'boom')), [])).toMatchObject([
      {
        type: 'Warning',
        reason: 'PostDeployMigrationFailed',
        message: `catalog-service: post-deploy migration Job ${JOB} failed: boom`,
      },
    ]);
    expect(postDeployEvents(waiting, status(step('Blocked', 'deadline')), [])).toMatchObject([
      { type: 'Warning', reason: 'RolloutFailed', message: 'catalog-service: deadline' },
    ]);
  });
});
