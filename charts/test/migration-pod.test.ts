import { SERVICES } from '@webrana/registry';
import { migrationJob, normalizeSpec, type Owner, type WebranaDatabaseSpec } from '@webrana/operator';
import { BUILD_TIMEOUT_MS, helmBinary, named, podSpecOf, template } from './helm';

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
