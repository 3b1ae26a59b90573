import type { Job, Pod } from './k8s';
import { lastBackupSuccess, parseBackupSummary } from './backup-runs';

const job = (name: string, outcome: 'Complete' | 'Failed' | 'Running', completionTime?: string): Job => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, uid: `uid-${name}` },
  spec: { template: { spec: {} } },
  status: {
    ...(completionTime ? { completionTime } : {}),
    conditions: outcome === 'Running' ? [] : [{ type: outcome, status: 'True' }],
  },
});
const pod = (jobName: string, message: string, phase = 'Succeeded'): Pod => ({
  metadata: {
    name: `${jobName}-x`,
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: `uid-${jobName}`, controller: true }],
  },
  status: { phase, containerStatuses: [{ name: 'backup', state: { terminated: { exitCode: 0, message } } }] },
});
const summary = (finishedAt: string, bytes = 10) =>
  JSON.stringify({ service: 's', file: 'f.dump', bytes, durationSeconds: 2, finishedAt, startedAt: finishedAt });

test('a backup summary is read from a JSON termination message; a log tail, cut JSON or missing numbers give none', () => {
  expect(parseBackupSummary(summary('2026-03-01T00:00:00.000Z'))).toEqual({
    file: 'f.dump',
    bytes: 10,
    durationSeconds: 2,
    finishedAt: '2026-03-01T00:00:00.000Z',
  });
  expect(parseBackupSummary('webrana-jobs: pg_dump failed')).toBeUndefined();
  expect(parseBackupSummary('{"bytes": 1')).toBeUndefined();
  expect(parseBackupSummary('{"bytes": 1, "finishedAt": "2026-03-01T00:00:00Z"}')).toBeUndefined();
  expect(parseBackupSummary('[{"bytes":1}]')).toBeUndefined();
  expect(parseBackupSummary(undefined)).toBeUndefined();
});

test('the newest successful backup is the newest succeeded Job with its summary; failed and running Jobs never count', () => {
  const jobs = [
    job('a', 'Complete', '2026-03-01T00:00:00Z'),
    job('b', 'Complete', '2026-03-02T00:00:00Z'),
    job('c', 'Failed'),
    job('d', 'Running'),
  ];
  const pods = [pod('a', summary('2026-03-01T00:00:00Z', 1)), pod('b', summary('2026-03-02T00:00:00Z', 2))];
  expect(lastBackupSuccess(jobs, pods, undefined)).toEqual({
    job: 'b',
    finishedAt: '2026-03-02T00:00:00Z',
    bytes: 2,
    durationSeconds: 2,
    file: 'f.dump',
  });
});

test('a succeeded Job whose pod is gone gives its completion time only; the summary is added when the pod shows up', () => {
  const jobs = [job('a', 'Complete', '2026-03-01T00:00:05Z')];
  const first = lastBackupSuccess(jobs, [], undefined);
  expect(first).toEqual({ job: 'a', finishedAt: '2026-03-01T00:00:05Z' });
  expect(lastBackupSuccess(jobs, [pod('a', summary('2026-03-01T00:00:04.900Z', 7))], first)).toMatchObject({
    job: 'a',
    bytes: 7,
  });
});

test('a recorded success newer than every Job present is kept (Jobs deleted by history limits or TTL)', () => {
  const recorded = { job: 'z', finishedAt: '2026-03-05T00:00:00Z', bytes: 99, durationSeconds: 3 };
  expect(lastBackupSuccess([job('a', 'Complete', '2026-03-01T00:00:00Z')], [], recorded)).toEqual(recorded);
  expect(lastBackupSuccess([], [], recorded)).toEqual(recorded);
});

test('a recorded success keeps its size when its pod is gone but its Job (completed a second later) is still there', () => {
  const recorded = { job: 'a', finishedAt: '2026-03-01T00:00:04Z', bytes: 7, durationSeconds: 1 };
  expect(lastBackupSuccess([job('a', 'Complete', '2026-03-01T00:00:05Z')], [], recorded)).toEqual(recorded);
});

test('a pod of another Job (same name, new uid) never lends its summary', () => {
  const j = job('a', 'Complete', '2026-03-01T00:00:00Z');
  const foreign = pod('a', summary('2026-03-01T00:00:00Z'));
  foreign.metadata.ownerReferences![0]!.uid = 'uid-other';
  expect(lastBackupSuccess([j], [foreign], undefined)).toEqual({ job: 'a', finishedAt: '2026-03-01T00:00:00Z' });
});
