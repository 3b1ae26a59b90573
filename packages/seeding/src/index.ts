import { createLogger, type Logger } from '@webrana/logger';
import { findDatabaseUrl, urlVariables } from '@webrana/db';
import { getService } from '@webrana/registry';

/** How one seeded row ended up. */
export type RowOutcome = 'created' | 'updated' | 'unchanged';

export interface SeedReport {
  created: number;
  updated: number;
  unchanged: number;
}

export const emptyReport = (): SeedReport => ({ created: 0, updated: 0, unchanged: 0 });

export function count(report: SeedReport, outcome: RowOutcome): void {
  report[outcome] += 1;
}

/** The slice of a Prisma model delegate that seeding needs (any model's delegate fits). */
export interface ModelDelegate {
  /* eslint-disable @typescript-eslint/no-explicit-any -- Prisma's per-model argument types differ */
  findUnique(args: { where: any }): Promise<Record<string, unknown> | null>;
  create(args: { data: any }): Promise<unknown>;
  update(args: { where: any; data: any }): Promise<unknown>;
  /* eslint-enable @typescript-eslint/no-explicit-any */
}

function sameValue(stored: unknown, wanted: unknown): boolean {
  if (stored instanceof Date && wanted instanceof Date) return stored.getTime() === wanted.getTime();
  return stored === wanted;
}

/** The fields of `wanted` whose stored value differs. */
export function changedFields(
  stored: Record<string, unknown>,
  wanted: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(Object.entries(wanted).filter(([key, value]) => !sameValue(stored[key], value)));
}

/**
 * An upsert that writes nothing when the row already holds `data`: a second seed run leaves every row,
 * updated_at included, untouched (Prisma's own upsert always updates).
 */
export async function upsertIfChanged(
  delegate: ModelDelegate,
  where: Record<string, unknown>,
  data: Record<string, unknown>,
): Promise<RowOutcome> {
  const stored = await delegate.findUnique({ where });
  if (!stored) {
    await delegate.create({ data });
    return 'created';
  }
  const changes = changedFields(stored, data);
  if (Object.keys(changes).length === 0) return 'unchanged';
  await delegate.update({ where, data: changes });
  return 'updated';
}

/** A seed of one service: writes through `tx` (one transaction), reads settings from `env`. */
export type Seed<Tx> = (tx: Tx, env: NodeJS.ProcessEnv, log: Logger) => Promise<SeedReport>;

/** Thrown for a seed that must not run as configured (nothing has been written). */
export class SeedRefused extends Error {}

/** NODE_ENV=production (or WEBRANA_ENV=production) marks a production run. */
export function isProduction(env: NodeJS.ProcessEnv): boolean {
  return env.NODE_ENV === 'production' || env.WEBRANA_ENV === 'production';
}

interface TransactionalClient<Tx> {
  $transaction<T>(fn: (tx: Tx) => Promise<T>, options: { timeout: number; maxWait: number }): Promise<T>;
}

/** Seeds hold this transaction-scoped advisory lock, so two seed Jobs never race on the same rows. */
export const SEED_LOCK = 72707370;

/**
 * Runs a seed in one transaction under an advisory lock: it writes everything or nothing, and a
 * second copy waits for the first instead of racing it.
 */
export async function runSeed<Tx extends { $executeRawUnsafe(sql: string): Promise<number> }>(
  prisma: TransactionalClient<Tx>,
  seed: Seed<Tx>,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<SeedReport> {
  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${SEED_LOCK})`);
      return seed(tx, env, log);
    },
    // bcrypt at cost 12 takes about 0.25 s a hash; leave room for several.
    { timeout: 120_000, maxWait: 120_000 },
  );
}

/** What a service's prisma/seed.ts exports. */
export interface SeedModule<Tx> {
  seed: Seed<Tx>;
  /** A Prisma client of the service's own generated kind, connected through the pg adapter. */
  createClient(databaseUrl: string, variable: string): TransactionalClient<Tx> & { $disconnect(): Promise<void> };
}

/** Connects, seeds in one transaction, disconnects; logs a summary. */
export async function seedService<Tx extends { $executeRawUnsafe(sql: string): Promise<number> }>(
  module: SeedModule<Tx>,
  service: string,
  database: { url: string; variable: string },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<SeedReport> {
  const started = Date.now();
  const prisma = module.createClient(database.url, database.variable);
  try {
    const report = await runSeed(prisma, module.seed, env, log);
    log.info({ service, ...report, durationMs: Date.now() - started }, 'seed finished');
    return report;
  } catch (error) {
    // Prisma P2021: a table the seed writes does not exist.
    if ((error as { code?: string }).code === 'P2021') {
      throw new SeedRefused(
        `the ${service} database is not migrated (a seeded table is missing): run scripts/migrate.sh --service=${service} first`,
      );
    }
    throw error;
  } finally {
    await prisma.$disconnect();
  }
}

/** Entry point of a seed file run directly (`prisma db seed`): exit 0 when seeded, 1 otherwise. */
export function seedFromCommandLine<Tx extends { $executeRawUnsafe(sql: string): Promise<number> }>(
  module: SeedModule<Tx>,
  serviceName: string,
): void {
  const service = getService(serviceName);
  const log = createLogger({ name: 'seed', level: process.env.LOG_LEVEL });
  const database = findDatabaseUrl(service, { env: process.env });
  if (!database) {
    process.stderr.write(`seed: set ${urlVariables(service)} to the ${service.name} database URL\n`);
    process.exitCode = 1;
    return;
  }
  seedService(module, service.name, database, process.env, log).catch((error: Error) => {
    process.stderr.write(`seed: ${error.message}\n`);
    process.exitCode = 1;
  });
}
