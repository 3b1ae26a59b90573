import * as fs from 'node:fs';
import { SERVICES, dependencyWaves, getService, migrationOrder, schemaPath, withDependencies } from './index';

describe('service registry', () => {
  test('lists the four services with the spec database names and URL variables', () => {
    expect(SERVICES.map((s) => [s.name, s.database, s.urlVariable])).toEqual([
      ['auth-service', 'webrana_auth', 'AUTH_DATABASE_URL'],
      ['catalog-service', 'webrana_catalog', 'CATALOG_DATABASE_URL'],
      ['order-service', 'webrana_order', 'ORDER_DATABASE_URL'],
      ['billing-service', 'webrana_billing', 'BILLING_DATABASE_URL'],
    ]);
  });

  test('each service has its own default HTTP port, auth 3001 to billing 3004', () => {
    expect(SERVICES.map((s) => [s.name, s.defaultPort])).toEqual([
      ['auth-service', 3001],
      ['catalog-service', 3002],
      ['order-service', 3003],
      ['billing-service', 3004],
    ]);
  });

  test('order depends on auth and catalog, billing on order and auth', () => {
    expect(getService('order-service').dependsOn).toEqual(['auth-service', 'catalog-service']);
    expect(getService('billing-service').dependsOn).toEqual(['order-service', 'auth-service']);
  });

  test('every service has a schema.prisma where the registry says', () => {
    for (const s of SERVICES) expect(fs.existsSync(schemaPath(s.name))).toBe(true);
  });

  test('an unknown service name is rejected with the list of known ones', () => {
    expect(() => getService('payment-service')).toThrow(
      /unknown service "payment-service"; expected one of: auth-service/,
    );
  });

  test('migration order is auth, catalog, order, billing', () => {
    expect(migrationOrder().map((s) => s.name)).toEqual([
      'auth-service',
      'catalog-service',
      'order-service',
      'billing-service',
    ]);
  });

  test('independent services share a wave, so they may migrate in parallel', () => {
    expect(dependencyWaves(SERVICES).map((w) => w.map((s) => s.name))).toEqual([
      ['auth-service', 'catalog-service'],
      ['order-service'],
      ['billing-service'],
    ]);
  });

  test('withDependencies gives a service and everything it needs, in order', () => {
    expect(withDependencies('billing-service').map((s) => s.name)).toEqual([
      'auth-service',
      'catalog-service',
      'order-service',
      'billing-service',
    ]);
    expect(withDependencies('catalog-service').map((s) => s.name)).toEqual(['catalog-service']);
  });

  test('a dependency cycle is reported with the services on it', () => {
    const nodes = [
      { name: 'a', dependsOn: [] },
      { name: 'b', dependsOn: ['c'] },
      { name: 'c', dependsOn: ['d'] },
      { name: 'd', dependsOn: ['b'] },
    ];
    expect(() => dependencyWaves(nodes)).toThrow('dependency cycle: b -> c -> d -> b');
  });

  test('a dependency on an unknown service is reported by name', () => {
    expect(() => dependencyWaves([{ name: 'a', dependsOn: ['ghost'] }])).toThrow(
      'a depends on unknown service "ghost"',
    );
  });
});
