import { FOUR_SERVICES } from '../test/fake-cluster';
import { normalizeSpec } from './api/validate';
import { migrationJobName } from './names';
import { planMigrations } from './plan';
import { backupStatus, canonicalJson, computeStatus, conditionOf, statusEqual } from './status';

const spec = normalizeSpec(FOUR_SERVICES);
if (!spec.ok) throw new Error('fixture');
const empty = planMigrations({
  database: 'db',
  generation: 1,
  spec: spec.spec,
  jobs: [],
  recorded: [],
  failureMessages: new Map(),
});

describe('computeStatus', () => {
  test('every condition carries the observed generation; the transition time moves only when the status does', () => {
    const first = computeStatus({
      generation: 4,
      previous: undefined,
      spec,
      plan: empty,
      backups: new Map(),
      now: 'T1',
    });
    expect(first.conditions?.every((c) => c.observedGeneration === 4 && c.lastTransitionTime === 'T1')).toBe(true);
    const again = computeStatus({ generation: 4, previous: first, spec, plan: empty, backups: new Map(), now: 'T2' });
    expect(statusEqual(first, again)).toBe(true);
  });

  test('Ready, Progressing, Degraded and InvalidSpec are always present', () => {
    const s = computeStatus({ generation: 1, previous: undefined, spec, plan: empty, backups: new Map(), now: 'T' });
    expect(s.conditions?.map((c) => [c.type, c.status])).toEqual([
      ['Ready', 'False'],
      ['Progressing', 'True'],
      ['Degraded', 'False'],
      ['InvalidSpec', 'False'],
    ]);
    expect(s.progress).toBe('0/4');
  });

  test('an invalid spec: InvalidSpec=True with the message, Ready=False, no services', () => {
    const s = computeStatus({
      generation: 2,
      previous: undefined,
      spec: { ok: false, reason: 'DependencyCycle', message: 'dependency cycle: a -> b -> a' },
      backups: new Map(),
      now: 'T',
    });
    expect(s.phase).toBe('InvalidSpec');
    expect(conditionOf(s, 'InvalidSpec')).toMatchObject({
      status: 'True',
      reason: 'DependencyCycle',
      message: 'dependency cycle: a -> b -> a',
    });
    expect(conditionOf(s, 'Ready')?.status).toBe('False');
    expect(s.services).toBeUndefined();
  });

  test('backup status shows the newest backup Job and the failure message', () => {
    const job = (name: string, created: string, type: 'Complete' | 'Failed') => ({
      apiVersion: 'batch/v1' as const,
      kind: 'Job' as const,
      metadata: { name, creationTimestamp: created },
      spec: { template: { spec: {} } },
      status: { conditions: [{ type, status: 'True', lastTransitionTime: created }] },
    });
    const b = backupStatus(
      'cj',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: 'cj' },
        spec: { schedule: '@daily', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { template: { spec: {} } } } },
        status: { lastScheduleTime: 'S', lastSuccessfulTime: 'OK' },
      },
      [job('cj-1', '2026-03-01T02:00:00Z', 'Complete'), job('cj-2', '2026-03-02T02:00:00Z', 'Failed')],
      new Map([['cj-2', 'disk full']]),
    );
    expect(b).toEqual({
      cronJob: 'cj',
      lastScheduleTime: 'S',
      lastSuccessfulTime: 'OK',
      lastJob: 'cj-2',
      lastResult: 'Failed',
      lastFinishedAt: '2026-03-02T02:00:00Z',
      lastMessage: 'disk full',
    });
  });

  test('a failed migration names the Job and the services that never started', () => {
    const failing = planMigrations({
      database: 'db',
      generation: 1,
      spec: spec.spec,
      jobs: [],
      recorded: [
        { name: 'auth-service', phase: 'Succeeded', job: migrationJobName('db', 'auth-service', 1) },
        {
          name: 'catalog-service',
          phase: 'Failed',
          job: migrationJobName('db', 'catalog-service', 1),
          message: 'syntax error at or near "TABLEX"',
        },
      ],
      failureMessages: new Map(),
    });
    const s = computeStatus({ generation: 1, previous: undefined, spec, plan: failing, backups: new Map(), now: 'T' });
    expect(conditionOf(s, 'Degraded')?.message).toBe(
      'catalog-service: migration Job db-catalog-service-migrate-g1 failed: syntax error at or near "TABLEX"; not started because of it: order-service, billing-service',
    );
  });
});

test('canonicalJson ignores key order and undefined members', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: undefined }], c: 'x' } })).toBe(
    canonicalJson({ a: { c: 'x', d: [1, { y: 2 }] }, b: 1 }),
  );
});
