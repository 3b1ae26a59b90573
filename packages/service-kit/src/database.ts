import { PrismaPg } from '@prisma/adapter-pg';
import type { DatabaseSettings } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Pool, type PoolConfig, type QueryConfig } from 'pg';

/**
 * Prisma's own default `pool_timeout` (10 s). pg would wait for a pooled connection forever, and a
 * request stuck that way holds its caller forever too.
 */
export const DEFAULT_POOL_TIMEOUT_MS = 10_000;

/** The generated `PrismaClient` of a service (each service has its own class). */
export type PrismaClientClass<P> = new (options: { adapter: PrismaPg }) => P;

interface Disconnectable {
  $disconnect(): Promise<void>;
}

/** A service's connection to its database: one pg pool, shared by Prisma and the health probe. */
export interface ServiceDatabase<P = unknown> {
  prisma: P;
  pool: Pool;
  /** One `SELECT 1` round trip; a query that gets no answer within `timeoutMs` is abandoned and its connection dropped. */
  ping(timeoutMs: number): Promise<void>;
  /** Disconnects Prisma and closes the pool (waits for checked-out connections to come back). */
  close(): Promise<void>;
}

export interface ServiceDatabaseOptions<P> {
  settings: DatabaseSettings;
  PrismaClient: PrismaClientClass<P>;
  logger: Logger;
  /** Shown in pg_stat_activity (a URL's own application_name wins). */
  applicationName: string;
}

/** pg pool settings for a parsed URL: the URL's options, plus the defaults Prisma users expect. */
export function poolConfigFor(settings: DatabaseSettings, applicationName: string): PoolConfig {
  return {
    connectionTimeoutMillis: DEFAULT_POOL_TIMEOUT_MS,
    application_name: applicationName,
    ...settings.pool,
  };
}

export function createServiceDatabase<P extends Disconnectable>(
  options: ServiceDatabaseOptions<P>,
): ServiceDatabase<P> {
  const pool = new Pool(poolConfigFor(options.settings, options.applicationName));
  // An idle connection the server closed (restart, failover) emits here; unhandled, it would crash the process.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'database connection lost while idle'));
  const prisma = new options.PrismaClient({ adapter: new PrismaPg(pool, { schema: options.settings.schema }) });
  return {
    prisma,
    pool,
    async ping(timeoutMs) {
      // query_timeout makes pg give up on the query and discard its connection instead of reusing it.
      await pool.query({ text: 'SELECT 1', query_timeout: timeoutMs } as QueryConfig);
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}
