import { SERVICES } from '@webrana/registry';
import { byKind, template } from './helm';

test('the umbrella chart installs no operator by default (the service charts migrate in their hooks)', () => {
  const { objects } = template('webrana', {}, 'webrana');
  expect(byKind(objects, 'WebranaDatabase')).toEqual([]);
  expect(byKind(objects, 'Deployment').map((d) => d.metadata.name)).not.toContain('webrana-webrana-operator');
});

test('with webrana-operator.enabled the umbrella chart installs the operator and a WebranaDatabase of the four services', () => {
  const values = {
    'webrana-operator': { enabled: true },
    ...Object.fromEntries(SERVICES.map((s) => [s.name, { hooks: { enabled: false } }])),
  };
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
