import { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';

declare global {
  var __WEBRANA_POSTGRES__: RunningPostgres | undefined;
}

/** Jest global setup: one PostgreSQL for the whole run, unless TEST_DATABASE_URL names one. */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_DATABASE_URL) return;
  const postgres = await startEmbeddedPostgres();
  globalThis.__WEBRANA_POSTGRES__ = postgres;
  // Workers are forked after this and inherit the environment.
  process.env.TEST_DATABASE_URL = postgres.url;
}
