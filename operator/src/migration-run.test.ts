import { migrationRun, podJobUid } from './jobs';
import type { Job, Pod } from './k8s';

const JOB_UID = 'job-uid-1';

function job(over: Partial<Job['spec']> = {}, status: Job['status'] = { active: 1 }, uid = JOB_UID): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'db-auth-service-migrate-g1', namespace: 'ns', uid },
    spec: { backoffLimit: 0, template: { spec: {} }, ...over },
    status,
  };
}

function pod(
  phase: string,
  owner = JOB_UID,
  name = 'db-auth-service-migrate-g1-x1',
  finishedAt = '2026-03-01T00:00:05Z',
): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      uid: `pod-${name}`,
      labels: { 'batch.kubernetes.io/controller-uid': owner },
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: 'db-auth-service-migrate-g1', uid: owner, controller: true },
      ],
    },
    status: {
      phase,
      containerStatuses: [
        {
          name: 'migrate',
          ...(phase === 'Succeeded' || phase === 'Failed'
            ? { state: { terminated: { exitCode: phase === 'Succeeded' ? 0 : 1, finishedAt } } }
            : {}),
        },
      ],
    },
  };
}

describe('migrationRun: a migration is done when its one pod succeeded, before the Job says Complete', () => {
  test('the Job one pod succeeded (backoffLimit 0, one completion, no other pod): Succeeded, at the container exit', () => {
    expect(migrationRun(job(), [pod('Succeeded')])).toEqual({
      outcome: 'Succeeded',
      evidence: 'pod',
      finishedAt: '2026-03-01T00:00:05Z',
    });
  });

  test('a pod still running, pending or failed proves nothing: Running until the Job controller decides', () => {
    for (const phase of ['Pending', 'Running', 'Failed']) {
      expect(migrationRun(job(), [pod(phase)])).toEqual({ outcome: 'Running', evidence: 'none' });
    }
    expect(migrationRun(job(), [])).toEqual({ outcome: 'Running', evidence: 'none' });
  });

  test("a recreated Job (same name, new uid) does not count the old Job's succeeded pod", () => {
    const recreated = job({}, {}, 'job-uid-2');
    expect(migrationRun(recreated, [pod('Succeeded', JOB_UID)]).outcome).toBe('Running');
    // Its own pod does count, beside the old one.
    const own = pod('Succeeded', 'job-uid-2', 'db-auth-service-migrate-g1-y2');
    expect(migrationRun(recreated, [pod('Succeeded', JOB_UID), own]).outcome).toBe('Succeeded');
  });

  test('a second pod of the same Job (succeeded or not) means the pod alone cannot decide', () => {
    const second = pod('Running', JOB_UID, 'db-auth-service-migrate-g1-x2');
    expect(migrationRun(job(), [pod('Succeeded'), second]).outcome).toBe('Running');
    const bothSucceeded = pod('Succeeded', JOB_UID, 'db-auth-service-migrate-g1-x2');
    expect(migrationRun(job(), [pod('Succeeded'), bothSucceeded]).outcome).toBe('Running');
  });

  test('a Job that recorded a failed pod, or may retry, or wants several completions, waits for its condition', () => {
    expect(migrationRun(job({}, { active: 1, failed: 1 }), [pod('Succeeded')]).outcome).toBe('Running');
    expect(migrationRun(job({ backoffLimit: 1 }), [pod('Succeeded')]).outcome).toBe('Running');
    expect(migrationRun(job({ backoffLimit: undefined }), [pod('Succeeded')]).outcome).toBe('Running');
    expect(migrationRun(job({ completions: 2 }), [pod('Succeeded')]).outcome).toBe('Running');
    expect(migrationRun(job({ parallelism: 2 }), [pod('Succeeded')]).outcome).toBe('Running');
  });

  test("the Job's conditions win: Complete and Failed are final whatever the pods show", () => {
    const complete = job(
      {},
      {
        succeeded: 1,
        completionTime: '2026-03-01T00:00:06Z',
        conditions: [{ type: 'Complete', status: 'True' }],
      },
    );
    expect(migrationRun(complete, [])).toEqual({
      outcome: 'Succeeded',
      evidence: 'job',
      finishedAt: '2026-03-01T00:00:06Z',
    });
    const failed = job(
      {},
      { failed: 1, conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: '2026-03-01T00:00:07Z' }] },
    );
    expect(migrationRun(failed, [pod('Succeeded')])).toEqual({
      outcome: 'Failed',
      evidence: 'job',
      finishedAt: '2026-03-01T00:00:07Z',
    });
  });

  test('the Job controller counted the success (succeeded: 1) but has not written Complete yet: Succeeded', () => {
    expect(migrationRun(job({}, { succeeded: 1 }), []).outcome).toBe('Succeeded');
  });

  test("a pod's Job is its controller ownerReference, else the Job controller's controller-uid label", () => {
    const p = pod('Succeeded');
    expect(podJobUid(p)).toBe(JOB_UID);
    p.metadata.ownerReferences = [];
    expect(podJobUid(p)).toBe(JOB_UID);
    p.metadata.labels = {};
    expect(podJobUid(p)).toBeUndefined();
    expect(migrationRun(job(), [p]).outcome).toBe('Running');
  });
});
