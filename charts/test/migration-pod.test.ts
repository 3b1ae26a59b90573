import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { SERVICES } from '@webrana/registry';
import { DEFAULTS, migrationJob, normalizeSpec, type Owner, type WebranaDatabaseSpec } from '@webrana/operator';
import { BUILD_TIMEOUT_MS, CHARTS_DIR, byKind, helmBinary, named, podSpecOf, template, type K8sObject } from './helm';

// One migration pod: the chart's pre-install hook (charts/webrana-service) is the definition, and the
// operator's builder must build the same pod spec for the same inputs, so whoever migrates (the hooks
// or the operator, global.migrateWithOperator) runs the same container the same way.

const IMAGE = { repository: 'registry.example/webrana/jobs', tag: '1.4.0' };
const RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } };
const owner: Owner = { name: 'webrana', namespace: 'ns', uid: 'golden' };

/** The operator's resource for the same inputs: the chart's Secret and key for every service. */
const resource: WebranaDatabaseSpec = {
  image: `${IMAGE.repository}:${IMAGE.tag}`,
  imagePullPolicy: 'IfNotPresent',
  resources: RESOURCES,
  services: SERVICES.map((s) => ({
    name: s.name,
    databaseUrlSecretRef: { name: 'webrana-database', key: s.urlVariable },
    ...(s.dependsOn.length > 0 ? { dependsOn: [...s.dependsOn] } : {}),
  })),
  migration: { backoffLimit: 0, activeDeadlineSeconds: 270 },
};

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

describe.each(SERVICES.map((s) => s.name))('%s migration pod', (service) => {
  const normalized = normalizeSpec(resource);
  if (!normalized.ok) throw new Error(normalized.message);
  const entry = normalized.spec.services.find((s) => s.name === service)!;
  const built = migrationJob(owner, normalized.spec, entry, 1);
  const hook = named(
    template(service, { jobsImage: IMAGE, migrations: { resources: RESOURCES } }, 'webrana').objects,
    'Job',
    `webrana-${service}-migrate`,
  );

  test('the chart hook and the operator build the same pod spec (image, args, env, securityContext, volumes)', () => {
    expect(podSpecOf(hook)).toEqual(built.spec.template.spec);
  });

  test('the chart hook and the operator give the Job the same retries and deadline', () => {
    const spec = hook.spec as { backoffLimit: number; activeDeadlineSeconds: number };
    expect([spec.backoffLimit, spec.activeDeadlineSeconds]).toEqual([
      built.spec.backoffLimit,
      built.spec.activeDeadlineSeconds,
    ]);
  });
});

// ---- Every knob, not only the defaults -----------------------------------------------------------
// One set of umbrella values drives both paths: rendered with the hooks, it gives each service's hook
// Job; rendered with global.migrateWithOperator, the WebranaDatabase from which the operator builds
// its Job. Each service gets its own values, so a knob lost on the way (chart, umbrella or operator)
// makes the two pods differ, and the knob checks below fail if both sides ignored it alike.

const knobs = (i: number) => ({
  nodeSelector: { 'webrana.cloud/pool': `migrations-${i}`, 'kubernetes.io/os': 'linux' },
  tolerations: [
    { key: 'webrana.cloud/dedicated', operator: 'Equal', value: `db-${i}`, effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 + i },
  ],
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [
          { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [`z${i}`] }] },
        ],
      },
    },
  },
  priorityClassName: `webrana-migrations-${i}`,
  podSecurity: { runAsUser: 20000 + i, runAsGroup: 30000 + i, fsGroup: 40000 + i },
  migrations: {
    backoffLimit: i % 2,
    activeDeadlineSeconds: 200 + i,
    wait: `${90 + i}s`,
    lockTimeout: `${7 + i}s`,
    lockWait: `${30 + i}s`,
    statementTimeout: `${15 + i}m`,
    resources: { requests: { cpu: `${200 + i}m`, memory: `${300 + i}Mi` }, limits: { memory: `${600 + i}Mi` } },
  },
});
/** The Job-level fields both Jobs must share. */
const jobSettings = (job: object) => {
  const s = (job as { spec: Record<string, unknown> }).spec;
  return {
    backoffLimit: s.backoffLimit,
    activeDeadlineSeconds: s.activeDeadlineSeconds,
    podReplacementPolicy: s.podReplacementPolicy,
  };
};
const umbrellaValues = Object.fromEntries(SERVICES.map((s, i) => [s.name, knobs(i + 1)]));

describe('with every knob set, through the umbrella chart', () => {
  const rendered: { hooks?: K8sObject[]; resource?: K8sObject } = {};
  beforeAll(() => {
    rendered.hooks = template('webrana', umbrellaValues, 'webrana').objects;
    const withOperator = template('webrana', { ...umbrellaValues, global: { migrateWithOperator: true } }, 'webrana');
    const resources = byKind(withOperator.objects, 'WebranaDatabase');
    expect(resources).toHaveLength(1);
    rendered.resource = resources[0];
  }, BUILD_TIMEOUT_MS);

  const operatorJob = (service: string) => {
    const normalized = normalizeSpec(rendered.resource!.spec as WebranaDatabaseSpec);
    if (!normalized.ok) throw new Error(normalized.message);
    const entry = normalized.spec.services.find((s) => s.name === service)!;
    return migrationJob(owner, normalized.spec, entry, 1);
  };
  const hookJob = (service: string) => named(rendered.hooks!, 'Job', `webrana-${service}-migrate`);

  test.each(SERVICES.map((s, i) => [s.name, i + 1] as const))(
    '%s: the chart hook and the operator build the same pod spec and Job settings',
    (service) => {
      const built = operatorJob(service);
      const hook = hookJob(service);
      expect(podSpecOf(hook)).toEqual(built.spec.template.spec);
      expect(jobSettings(hook)).toEqual(jobSettings(built));
    },
  );

  test.each(SERVICES.map((s, i) => [s.name, i + 1] as const))(
    '%s: every knob reaches both pods (nodeSelector, tolerations, affinity, priority, ids, resources, timeouts, deadline)',
    (service, i) => {
      const k = knobs(i);
      for (const job of [operatorJob(service), hookJob(service)] as object[]) {
        const spec = (job as { spec: unknown }).spec as {
          backoffLimit: number;
          activeDeadlineSeconds: number;
          podReplacementPolicy: string;
        };
        expect(spec).toMatchObject({
          backoffLimit: k.migrations.backoffLimit,
          activeDeadlineSeconds: k.migrations.activeDeadlineSeconds,
          podReplacementPolicy: 'Failed',
        });
        const pod = podSpecOf(job as K8sObject)!;
        expect(pod).toMatchObject({
          nodeSelector: k.nodeSelector,
          tolerations: k.tolerations,
          affinity: k.affinity,
          priorityClassName: k.priorityClassName,
          securityContext: k.podSecurity,
        });
        const [container] = pod.containers;
        expect(container!.resources).toEqual(k.migrations.resources);
        expect(container!.securityContext).toMatchObject({
          runAsUser: k.podSecurity.runAsUser,
          runAsGroup: k.podSecurity.runAsGroup,
        });
        expect((container!.args as string[]).slice(3)).toEqual([
          `--wait=${k.migrations.wait}`,
          `--lock-timeout=${k.migrations.lockTimeout}`,
          `--lock-wait=${k.migrations.lockWait}`,
          `--statement-timeout=${k.migrations.statementTimeout}`,
          '--phase=pre-deploy',
        ]);
      }
    },
  );
});

// ---- Defaults: the chart's values.yaml is the source, the operator's DEFAULTS follow it ------------

describe("the operator's migration defaults are the service chart's", () => {
  const chartValues = yaml.load(fs.readFileSync(path.join(CHARTS_DIR, 'webrana-service', 'values.yaml'), 'utf8')) as {
    migrations: Record<string, unknown>;
    podSecurity: Record<string, number>;
  };

  test("DEFAULTS.migration equals the chart's migrations.* and podSecurity.* defaults (deadline 270 s, below helm's 5m)", () => {
    const m = chartValues.migrations;
    expect(DEFAULTS.migration).toEqual({
      backoffLimit: m.backoffLimit,
      activeDeadlineSeconds: m.activeDeadlineSeconds,
      wait: m.wait,
      lockTimeout: m.lockTimeout,
      lockWait: m.lockWait,
      statementTimeout: m.statementTimeout,
      resources: m.resources,
      ...chartValues.podSecurity,
    });
    expect(DEFAULTS.migration.activeDeadlineSeconds).toBeLessThan(300);
  });

  test.each(SERVICES.map((s) => s.name))(
    '%s: a WebranaDatabase that sets nothing but image and services builds the default hook Job',
    (service) => {
      const bare: WebranaDatabaseSpec = {
        image: `${IMAGE.repository}:${IMAGE.tag}`,
        services: resource.services.map(({ name, databaseUrlSecretRef, dependsOn }) => ({
          name,
          databaseUrlSecretRef,
          ...(dependsOn ? { dependsOn } : {}),
        })),
      };
      const normalized = normalizeSpec(bare);
      if (!normalized.ok) throw new Error(normalized.message);
      const built = migrationJob(
        owner,
        normalized.spec,
        normalized.spec.services.find((s) => s.name === service)!,
        1,
      );
      const hook = named(
        template(service, { jobsImage: IMAGE }, 'webrana').objects,
        'Job',
        `webrana-${service}-migrate`,
      );
      expect(podSpecOf(hook)).toEqual(built.spec.template.spec);
      expect(jobSettings(hook)).toEqual(jobSettings(built));
    },
  );
});

test("through the umbrella, a service's own (empty) scheduling values win over webrana-operator's spec.migration.pod", () => {
  const shared = {
    'webrana-operator': {
      webranaDatabase: {
        spec: {
          image: 'webrana/jobs:0.1.0',
          services: resource.services,
          migration: { pod: { nodeSelector: { pool: 'x' }, tolerations: [{ operator: 'Exists' }], runAsUser: 4242 } },
        },
      },
    },
  };
  const hooksRendered = template('webrana', shared, 'webrana').objects;
  const withOperator = template('webrana', { ...shared, global: { migrateWithOperator: true } }, 'webrana').objects;
  const normalized = normalizeSpec(byKind(withOperator, 'WebranaDatabase')[0]!.spec as WebranaDatabaseSpec);
  if (!normalized.ok) throw new Error(normalized.message);
  for (const entry of normalized.spec.services) {
    const built = migrationJob(owner, normalized.spec, entry, 1);
    const hook = named(hooksRendered, 'Job', `webrana-${entry.name}-migrate`);
    expect(podSpecOf(hook)).toEqual(built.spec.template.spec);
    expect(built.spec.template.spec.nodeSelector).toBeUndefined();
  }
});
