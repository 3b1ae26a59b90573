import { randomUUID } from 'node:crypto';
import { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';

declare global {
  var __WEBRANA_POSTGRES__: RunningPostgres | undefined;
}

/**
 * Jest global setup: an id for this run (the real node a test file starts belongs to it: see
 * useRealNode), and one PostgreSQL for the whole run, unless TEST_DATABASE_URL names one. Workers are
 * forked after this and inherit the environment.
 */
export default async function globalSetup(): Promise<void> {
  process.env.WEBRANA_TEST_RUN ??= randomUUID();
  if (process.env.TEST_DATABASE_URL) return;
  const postgres = await startEmbeddedPostgres();
  globalThis.__WEBRANA_POSTGRES__ = postgres;
  process.env.TEST_DATABASE_URL = postgres.url;
}
