import { findDatabaseUrl, MissingDatabaseUrl, type UrlSource } from '@webrana/db';
import { getService, migrationsDir, type ServiceSpec } from '@webrana/registry';
import type { MigrateTarget } from '@webrana/migrate';

/** A bad command line; the CLI prints the message and the command's usage, and exits 2. */
export class UsageError extends Error {}

/** Parses "500ms", "10s", "2m" or a plain number of milliseconds. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new UsageError(`--${flag} takes a duration like 500ms, 10s or 2m; got "${value}"`);
  const factor = { ms: 1, s: 1_000, m: 60_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm'];
  return Number(match[1]) * factor;
}

export function requireService(name: string | undefined): ServiceSpec {
  if (!name) throw new UsageError('--service=NAME is required');
  try {
    return getService(name);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * The service's URL, by @webrana/db's one rule (--database-url, its own variable, DATABASE_URL);
 * `generic: false` for runs over several services. No URL at all is a usage error.
 */
export function databaseUrlFor(
  service: ServiceSpec,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  generic = true,
): UrlSource {
  const found = findDatabaseUrl(service, { flag, env, generic });
  if (!found) throw new UsageError(new MissingDatabaseUrl(service, generic, generic).message);
  return found;
}

export function migrateTarget(
  service: ServiceSpec,
  values: { 'database-url'?: string; 'migrations-dir'?: string },
  env: NodeJS.ProcessEnv,
): MigrateTarget {
  const { url, variable } = databaseUrlFor(service, values['database-url'], env);
  return {
    service: service.name,
    databaseUrl: url,
    urlVariable: variable,
    migrationsDir: values['migrations-dir'] ?? migrationsDir(service.name),
  };
}

export { isProduction } from '@webrana/seeding';
