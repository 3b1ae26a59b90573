import * as path from 'node:path';

/** What every tool needs to know about one service's database. */
export interface ServiceSpec {
  readonly name: ServiceName;
  /** PostgreSQL database name the spec gives it. */
  readonly database: string;
  /** Environment variable holding its connection URL. */
  readonly urlVariable: string;
  /** Services whose migrations must be applied first. */
  readonly dependsOn: readonly ServiceName[];
  /** Whether it ships a seed (prisma/seed.ts). */
  readonly hasSeed: boolean;
  /** HTTP port it listens on unless PORT says otherwise (distinct, so all four run side by side). */
  readonly defaultPort: number;
}

export const SERVICE_NAMES = ['auth-service', 'catalog-service', 'order-service', 'billing-service'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export const SERVICES: readonly ServiceSpec[] = [
  {
    name: 'auth-service',
    database: 'webrana_auth',
    urlVariable: 'AUTH_DATABASE_URL',
    dependsOn: [],
    hasSeed: true,
    defaultPort: 3001,
  },
  {
    name: 'catalog-service',
    database: 'webrana_catalog',
    urlVariable: 'CATALOG_DATABASE_URL',
    dependsOn: [],
    hasSeed: true,
    defaultPort: 3002,
  },
  {
    name: 'order-service',
    database: 'webrana_order',
    urlVariable: 'ORDER_DATABASE_URL',
    dependsOn: ['auth-service', 'catalog-service'],
    hasSeed: false,
    defaultPort: 3003,
  },
  {
    name: 'billing-service',
    database: 'webrana_billing',
    urlVariable: 'BILLING_DATABASE_URL',
    dependsOn: ['order-service', 'auth-service'],
    hasSeed: false,
    defaultPort: 3004,
  },
];

/** The repository root (this file lives in packages/registry/{src,dist}/). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export function isServiceName(value: string): value is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(value);
}

export function getService(name: string): ServiceSpec {
  const spec = SERVICES.find((s) => s.name === name);
  if (!spec) {
    throw new Error(`unknown service "${name}"; expected one of: ${SERVICE_NAMES.join(', ')}`);
  }
  return spec;
}

export function serviceDir(name: ServiceName, root = REPO_ROOT): string {
  return path.join(root, 'services', name);
}

export function schemaPath(name: ServiceName, root = REPO_ROOT): string {
  return path.join(serviceDir(name, root), 'prisma', 'schema.prisma');
}

export function migrationsDir(name: ServiceName, root = REPO_ROOT): string {
  return path.join(serviceDir(name, root), 'prisma', 'migrations');
}

export interface DependencyNode {
  readonly name: string;
  readonly dependsOn: readonly string[];
}

/**
 * Groups nodes into waves: every node's dependencies sit in earlier waves, so the nodes of one wave
 * may run in parallel. Within a wave, input order is kept. Throws on unknown dependencies and cycles
 * (naming the cycle).
 */
export function dependencyWaves<T extends DependencyNode>(nodes: readonly T[]): T[][] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const node of nodes) {
    for (const dep of node.dependsOn) {
      if (!byName.has(dep)) throw new Error(`${node.name} depends on unknown service "${dep}"`);
    }
  }
  const done = new Set<string>();
  const waves: T[][] = [];
  let remaining = [...nodes];
  while (remaining.length > 0) {
    const wave = remaining.filter((n) => n.dependsOn.every((d) => done.has(d)));
    if (wave.length === 0) throw new Error(`dependency cycle: ${findCycle(remaining).join(' -> ')}`);
    wave.forEach((n) => done.add(n.name));
    waves.push(wave);
    remaining = remaining.filter((n) => !done.has(n.name));
  }
  return waves;
}

/** A cycle among nodes that all still wait on each other, as a closed path (first name repeated last). */
function findCycle(stuck: readonly DependencyNode[]): string[] {
  const byName = new Map(stuck.map((n) => [n.name, n]));
  const path: string[] = [];
  let current = stuck[0];
  while (current && !path.includes(current.name)) {
    path.push(current.name);
    current = current.dependsOn.map((d) => byName.get(d)).find((n) => n !== undefined);
  }
  const start = current ? path.indexOf(current.name) : 0;
  return [...path.slice(start), path[start] ?? ''];
}

/** Services in an order that respects dependsOn (auth, catalog, order, billing). */
export function migrationOrder(services: readonly ServiceSpec[] = SERVICES): ServiceSpec[] {
  return dependencyWaves(services).flat();
}

/** The service and everything it depends on, transitively, in migration order. */
export function withDependencies(name: ServiceName, services: readonly ServiceSpec[] = SERVICES): ServiceSpec[] {
  const byName = new Map<string, ServiceSpec>(services.map((s) => [s.name, s]));
  const wanted = new Set<string>();
  const visit = (n: string): void => {
    if (wanted.has(n)) return;
    wanted.add(n);
    byName.get(n)?.dependsOn.forEach(visit);
  };
  visit(name);
  return migrationOrder(services).filter((s) => wanted.has(s.name));
}
