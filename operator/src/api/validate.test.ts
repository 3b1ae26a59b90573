import { SERVICES } from '@webrana/registry';
import type { WebranaDatabaseSpec } from './types';
import { normalizeSpec, urlVariableFor } from './validate';

const svc = (name: string, dependsOn?: string[]) => ({
  name,
  databaseUrlSecretRef: { name: `${name}-db`, key: 'url' },
  ...(dependsOn ? { dependsOn } : {}),
});
const spec = (
  services: WebranaDatabaseSpec['services'],
  extra: Partial<WebranaDatabaseSpec> = {},
): WebranaDatabaseSpec => ({
  image: 'webrana/jobs:1',
  services,
  ...extra,
});

describe('normalizeSpec', () => {
  test('fills in the defaults and groups services in dependency waves', () => {
    const r = normalizeSpec(
      spec(
        [
          svc('auth-service'),
          svc('catalog-service'),
          svc('order-service', ['auth-service', 'catalog-service']),
          svc('billing-service', ['order-service', 'auth-service']),
        ],
        { backup: { schedule: '0 2 * * *', volumeClaimName: 'b' } },
      ),
    );
    if (!r.ok) throw new Error(r.message);
    expect(r.spec.waves.map((w) => w.map((s) => s.name))).toEqual([
      ['auth-service', 'catalog-service'],
      ['order-service'],
      ['billing-service'],
    ]);
    expect(r.spec.migration).toEqual({ backoffLimit: 0, activeDeadlineSeconds: 270 });
    expect(r.spec.imagePullPolicy).toBe('IfNotPresent');
    expect(r.spec.backup).toMatchObject({
      retention: { daily: 7, weekly: 4, monthly: 12 },
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
  });

  test('a dependency cycle is InvalidSpec with the cycle named', () => {
    const r = normalizeSpec(spec([svc('a'), svc('b', ['c']), svc('c', ['d']), svc('d', ['b'])]));
    expect(r).toEqual({ ok: false, reason: 'DependencyCycle', message: 'dependency cycle: b -> c -> d -> b' });
  });

  test.each([
    ['an unknown dependency', spec([svc('a', ['ghost'])]), 'UnknownDependency', 'a depends on unknown service "ghost"'],
    ['a self-dependency', spec([svc('a', ['a'])]), 'UnknownDependency', 'service a cannot depend on itself'],
    ['a duplicate service', spec([svc('a'), svc('a')]), 'DuplicateService', 'service a is listed twice'],
    [
      'a negative retention',
      spec([svc('a')], { backup: { schedule: '@daily', volumeClaimName: 'v', retention: { daily: -1 } } }),
      'InvalidField',
      'spec.backup.retention.daily must be 0 or more',
    ],
    [
      'a malformed schedule',
      spec([svc('a')], { backup: { schedule: 'daily at 2', volumeClaimName: 'v' } }),
      'InvalidField',
      'is not a cron expression',
    ],
    [
      'a backwards cron range',
      spec([svc('a')], { backup: { schedule: '0 5-1 * * *', volumeClaimName: 'v' } }),
      'InvalidField',
      'runs backwards',
    ],
    ['no services', spec([]), 'InvalidField', 'lists no service'],
    ['a bad service name', spec([svc('Auth_Service')]), 'InvalidField', 'is not a valid service name'],
  ])('%s is refused (what the CRD also rejects at admission)', (_what, s, reason, message) => {
    const r = normalizeSpec(s);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe(reason);
      expect(r.message).toContain(message);
    }
  });

  test("each service's URL variable is the one @webrana/registry gives it", () => {
    for (const s of SERVICES) expect(urlVariableFor(s.name)).toBe(s.urlVariable);
    expect(urlVariableFor('audit-log-service')).toBe('AUDIT_LOG_DATABASE_URL');
  });
});

describe('normalizeSpec: service names come from the registry', () => {
  test('an unknown service name is InvalidSpec (UnknownService) naming the known ones', () => {
    const r = normalizeSpec(spec([svc('auth-service'), svc('audit-service', ['auth-service'])]));
    expect(r).toEqual({
      ok: false,
      reason: 'UnknownService',
      message:
        'spec.services: "audit-service" is not a known service; known services: ' +
        [...SERVICES.map((s) => s.name)].sort().join(', '),
    });
  });
});

describe('normalizeSpec: migration settings (the service chart migration values)', () => {
  const four = () => [svc('auth-service'), svc('catalog-service')];

  test("with none given, every service gets the service chart's defaults", () => {
    const r = normalizeSpec(spec(four()));
    if (!r.ok) throw new Error(r.message);
    expect(r.spec.services[0]!.migration).toEqual({
      backoffLimit: 0,
      activeDeadlineSeconds: 270,
      wait: '60s',
      lockTimeout: '5s',
      lockWait: '120s',
      statementTimeout: '0',
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
    });
  });

  test('services[].migration replaces spec.migration field by field; spec.resources stays the fallback', () => {
    const r = normalizeSpec(
      spec(
        [
          { ...svc('auth-service'), migration: { wait: '5s', pod: { runAsUser: 2000, tolerations: [] } } },
          svc('catalog-service'),
        ],
        {
          resources: { limits: { memory: '1Gi' } },
          migration: {
            activeDeadlineSeconds: 100,
            wait: '10s',
            pod: { runAsUser: 3000, nodeSelector: { pool: 'db' }, tolerations: [{ key: 'k', operator: 'Exists' }] },
          },
        },
      ),
    );
    if (!r.ok) throw new Error(r.message);
    const [auth, catalog] = r.spec.services;
    expect(auth!.migration).toMatchObject({ activeDeadlineSeconds: 100, wait: '5s', runAsUser: 2000 });
    expect(auth!.migration.nodeSelector).toEqual({ pool: 'db' });
    expect(auth!.migration.tolerations).toBeUndefined(); // an empty list is no tolerations, as in the chart
    expect(auth!.migration.resources).toEqual({ limits: { memory: '1Gi' } });
    expect(catalog!.migration).toMatchObject({
      wait: '10s',
      runAsUser: 3000,
      tolerations: [{ key: 'k', operator: 'Exists' }],
    });
  });

  test.each([
    [{ migration: { wait: '10 s' } }, 'spec.migration.wait must be a duration'],
    [{ migration: { pod: { runAsUser: 0 } } }, 'spec.migration.pod.runAsUser must be 1 or more (never root)'],
    [
      { migration: { pod: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } } },
      'operator Exists takes no value',
    ],
    [{ migration: { pod: { tolerations: [{ value: 'v' }] } } }, 'an empty key needs operator Exists'],
    [{ migration: { pod: { affinity: { nodeSelector: {} } } } }, 'is not nodeAffinity, podAffinity or podAntiAffinity'],
    [{ migration: { pod: { nodeSelector: { a: 1 } } } }, 'nodeSelector must map label names to strings'],
  ])('%j is InvalidField', (extra, message) => {
    const r = normalizeSpec(spec(four(), extra as Partial<WebranaDatabaseSpec>));
    expect(r).toMatchObject({ ok: false, reason: 'InvalidField' });
    expect((r as { message: string }).message).toContain(message);
  });

  test('a service-level problem names the service', () => {
    const r = normalizeSpec(spec([{ ...svc('auth-service'), migration: { lockWait: 'soon' } }]));
    expect(r).toMatchObject({ ok: false, reason: 'InvalidField' });
    expect((r as { message: string }).message).toContain('auth-service.migration.lockWait');
  });
});
