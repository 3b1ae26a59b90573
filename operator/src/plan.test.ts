import * as fc from 'fast-check';
import type { ServiceStatus, WebranaDatabaseSpec } from './api/types';
import { normalizeSpec, type NormalizedSpec } from './api/validate';
import type { Job } from './k8s';
import { LABELS, migrationJobName } from './names';
import { planMigrations, type PlanInput } from './plan';

function normalized(services: WebranaDatabaseSpec['services']): NormalizedSpec {
  // The planner is tested on any DAG, not only the registry's services.
  const r = normalizeSpec(
    { image: 'i', services },
    services.map((s) => s.name),
  );
  if (!r.ok) throw new Error(r.message);
  return r.spec;
}
const svc = (name: string, dependsOn: string[] = []) => ({
  name,
  databaseUrlSecretRef: { name: 's', key: 'k' },
  dependsOn,
});
const FOUR = normalized([
  svc('auth-service'),
  svc('catalog-service'),
  svc('order-service', ['auth-service', 'catalog-service']),
  svc('billing-service', ['order-service', 'auth-service']),
]);

type State = 'Running' | 'Complete' | 'Failed';
function job(service: string, state: State, generation = 1): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: migrationJobName('db', service, generation),
      labels: { [LABELS.service]: service, [LABELS.generation]: String(generation), [LABELS.component]: 'migration' },
    },
    spec: { template: { spec: {} } },
    status:
      state === 'Running'
        ? { active: 1, startTime: '2026-03-01T00:00:00Z' }
        : {
            startTime: '2026-03-01T00:00:00Z',
            ...(state === 'Complete' ? { completionTime: '2026-03-01T00:01:00Z' } : {}),
            conditions: [{ type: state, status: 'True', lastTransitionTime: '2026-03-01T00:01:00Z' }],
          },
  };
}
const plan = (jobs: Job[], extra: Partial<PlanInput> = {}) =>
  planMigrations({
    database: 'db',
    generation: 1,
    spec: FOUR,
    jobs,
    recorded: [],
    failureMessages: new Map(),
    ...extra,
  });
const created = (p: ReturnType<typeof plan>) => p.create.map((s) => s.name);

describe('planMigrations', () => {
  test('on empty databases, the first wave (auth, catalog) starts in parallel', () => {
    const p = plan([]);
    expect(created(p)).toEqual(['auth-service', 'catalog-service']);
    expect(p.services.map((s) => [s.name, s.phase])).toEqual([
      ['auth-service', 'Pending'],
      ['catalog-service', 'Pending'],
      ['order-service', 'Waiting'],
      ['billing-service', 'Waiting'],
    ]);
    expect(p.outcome).toBe('Running');
  });

  test('order waits until both auth and catalog succeeded', () => {
    expect(created(plan([job('auth-service', 'Complete'), job('catalog-service', 'Running')]))).toEqual([]);
    expect(created(plan([job('auth-service', 'Complete'), job('catalog-service', 'Complete')]))).toEqual([
      'order-service',
    ]);
  });

  test('billing starts after order; then everything succeeded', () => {
    const done = [
      job('auth-service', 'Complete'),
      job('catalog-service', 'Complete'),
      job('order-service', 'Complete'),
    ];
    expect(created(plan(done))).toEqual(['billing-service']);
    const all = plan([...done, job('billing-service', 'Complete')]);
    expect(all.outcome).toBe('Succeeded');
    expect(all.succeeded).toBe(4);
  });

  test('after a catalog failure, order and billing are Blocked and never created, even once auth finishes', () => {
    const p = plan([job('auth-service', 'Complete'), job('catalog-service', 'Failed')], {
      failureMessages: new Map([[migrationJobName('db', 'catalog-service', 1), 'relation "plans" already exists']]),
    });
    expect(created(p)).toEqual([]);
    expect(p.services.map((s) => s.phase)).toEqual(['Succeeded', 'Failed', 'Blocked', 'Blocked']);
    expect(p.services[1]?.message).toBe('relation "plans" already exists');
    expect(p.services[2]?.message).toBe('not started: catalog-service failed');
    expect(p.services[3]?.message).toBe('not started: order-service failed');
    expect(p.outcome).toBe('Failed');
  });

  test('a failure while a sibling still runs: the outcome stays Running until it finishes', () => {
    const p = plan([job('auth-service', 'Running'), job('catalog-service', 'Failed')]);
    expect(p.outcome).toBe('Running');
    expect(p.failed.map((s) => s.name)).toEqual(['catalog-service']);
  });

  test('the same observations give the same plan (a restarted operator plans exactly what its predecessor did)', () => {
    const jobs = [job('auth-service', 'Complete'), job('catalog-service', 'Complete')];
    expect(plan(jobs)).toEqual(plan(jobs));
  });

  test('Jobs that are gone keep their recorded result for this generation', () => {
    const recorded: ServiceStatus[] = [
      { name: 'auth-service', phase: 'Succeeded', job: migrationJobName('db', 'auth-service', 1) },
      { name: 'catalog-service', phase: 'Succeeded', job: migrationJobName('db', 'catalog-service', 1) },
    ];
    expect(created(plan([], { recorded }))).toEqual(['order-service']);
  });

  test('a new generation re-runs every service, after Jobs of the older one still running', () => {
    const old = [job('auth-service', 'Running', 1), job('catalog-service', 'Complete', 1)];
    const p = plan(old, { generation: 2 });
    expect(created(p)).toEqual(['catalog-service']);
    expect(p.services[0]?.message).toBe('waiting for db-auth-service-migrate-g1 (generation 1) to finish');
    expect(p.deleteJobs).toEqual([]);
  });

  test('finished Jobs of older generations are deleted once the current generation succeeded', () => {
    const jobs = [
      job('auth-service', 'Failed', 1),
      ...['auth-service', 'catalog-service', 'order-service', 'billing-service'].map((s) => job(s, 'Complete', 2)),
    ];
    expect(plan(jobs, { generation: 2 }).deleteJobs).toEqual(['db-auth-service-migrate-g1']);
  });

  test('properties over random DAGs and Job states: never early, never twice, never after a failure', () => {
    // Random DAG: service i may depend on any j < i.
    const dag = fc.integer({ min: 1, max: 7 }).chain((n) =>
      fc.tuple(
        fc.constant(n),
        fc.array(fc.array(fc.boolean(), { minLength: 7, maxLength: 7 }), { minLength: n, maxLength: n }),
        fc.array(fc.constantFrom<State | 'none'>('none', 'Running', 'Complete', 'Failed'), {
          minLength: n,
          maxLength: n,
        }),
      ),
    );
    fc.assert(
      fc.property(dag, ([n, edges, states]) => {
        const names = Array.from({ length: n }, (_, i) => `s${i}`);
        const spec = normalized(
          names.map((name, i) =>
            svc(
              name,
              names.filter((_, j) => j < i && edges[i]![j]),
            ),
          ),
        );
        const jobs = names.flatMap((name, i) => (states[i] === 'none' ? [] : [job(name, states[i] as State)]));
        const p = planMigrations({
          database: 'db',
          generation: 1,
          spec,
          jobs,
          recorded: [],
          failureMessages: new Map(),
        });
        const phase = new Map(p.services.map((s) => [s.name, s.phase]));
        const deps = new Map(spec.services.map((s) => [s.name, s.dependsOn]));
        const failedOrBlocked = (s: string): boolean => {
          const ph = phase.get(s);
          return ph === 'Failed' || ph === 'Blocked';
        };
        for (const s of p.create) {
          // never twice: no Job exists for it
          expect(jobs.some((j) => j.metadata.labels?.[LABELS.service] === s.name)).toBe(false);
          // never early: every dependency succeeded
          for (const d of s.dependsOn) expect(phase.get(d)).toBe('Succeeded');
        }
        for (const s of p.services) {
          // never after a failure: a service with a failed/blocked dependency and no Job is Blocked
          const hasJob = jobs.some((j) => j.metadata.labels?.[LABELS.service] === s.name);
          if (!hasJob && (deps.get(s.name) ?? []).some(failedOrBlocked)) expect(s.phase).toBe('Blocked');
        }
        // progress: when nothing runs and nothing failed, something is created or all succeeded
        if (p.running.length === 0 && p.failed.length === 0 && p.outcome !== 'Succeeded') {
          expect(p.create.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
