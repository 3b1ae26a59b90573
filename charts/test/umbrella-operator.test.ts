import { SERVICES } from '@webrana/registry';
import { byKind, hooks, template } from './helm';

test('the umbrella chart installs no operator by default (the service charts migrate in their hooks)', () => {
  const { objects } = template('webrana', {}, 'webrana');
  expect(byKind(objects, 'WebranaDatabase')).toEqual([]);
  expect(byKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain('webrana-webrana-operator');
});

test('with global.migrateWithOperator the umbrella chart installs the operator and a WebranaDatabase of the four services', () => {
  const values = { global: { migrateWithOperator: true } };
  const { objects } = template('webrana', values, 'webrana');
  const [resource] = byKind(objects, 'WebranaDatabase');
  const services = (resource!.spec as { services: { name: string; dependsOn?: string[] }[] }).services;
  expect(services.map((s) => [s.name, s.dependsOn ?? []])).toEqual(SERVICES.map((s) => [s.name, [...s.dependsOn]]));
  expect(
    byKind(objects, 'Deployment').filter(
      (d) => (d.metadata.labels as Record<string, string>)['app.kubernetes.io/component'] === 'operator',
    ),
  ).toHaveLength(1);
  expect(byKind(objects, 'Job')).toEqual([]); // the operator, not hooks, migrates
});

test('with global.migrateWithOperator no service renders a migration or seed hook, even with hooks.enabled left on', () => {
  const values = {
    global: { migrateWithOperator: true },
    ...Object.fromEntries(SERVICES.map((s) => [s.name, { hooks: { enabled: true } }])),
  };
  const { objects } = template('webrana', values, 'webrana');
  expect(hooks(objects).filter((o) => o.metadata.annotations?.['helm.sh/hook'] !== 'test')).toEqual([]);
  expect(byKind(objects, 'Deployment').filter((d) => d.metadata.name !== 'webrana-webrana-operator')).toHaveLength(
    SERVICES.length,
  );
});

test('by default every service migrates in its own hook and no operator runs, so exactly one side migrates', () => {
  const { objects } = template('webrana', {}, 'webrana');
  expect(
    byKind(objects, 'Job')
      .filter((j) => j.metadata.annotations?.['helm.sh/hook'] === 'pre-install,pre-upgrade')
      .map((j) => j.metadata.name)
      .sort(),
  ).toEqual(SERVICES.map((s) => `webrana-${s.name}-migrate`).sort());
  expect(byKind(objects, 'CustomResourceDefinition')).toEqual([]);
});

test("with global.migrateWithOperator each service names its own Deployment (services[].deployment), so the operator's post-deploy migrations wait for that rollout; not with migrations.postDeploy.enabled false", () => {
  const values = {
    global: { migrateWithOperator: true },
    'billing-service': { migrations: { postDeploy: { enabled: false } } },
    'order-service': { fullnameOverride: 'orders' },
  };
  const { objects } = template('webrana', values, 'shop');
  const [resource] = byKind(objects, 'WebranaDatabase');
  const named = (resource!.spec as { services: { name: string; deployment?: string }[] }).services.map((s) => [
    s.name,
    s.deployment,
  ]);
  const deployments = byKind(objects, 'Deployment').map((d) => d.metadata.name);
  expect(named).toEqual([
    ['auth-service', 'shop-auth-service'],
    ['catalog-service', 'shop-catalog-service'],
    ['order-service', 'orders'],
    ['billing-service', undefined],
  ]);
  for (const [, deployment] of named.filter(([, d]) => d)) expect(deployments).toContain(deployment);
});
