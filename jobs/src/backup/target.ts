import { fromSource, withDatabase } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { BackupError } from './backup';
import type { RestoreTarget } from './restore';

/**
 * `restore --into-database=NAME`: the same server and credentials as the service's URL, another
 * database, created when it does not exist yet. A restore to a new database leaves the service's own
 * database alone (the WebranaRestore `target.newDatabase`); the restore's checks then compare the
 * dump with that database (empty when new).
 */

/** Lowercase, as Kubernetes names are; hyphens allowed (the name is always quoted in SQL). */
export const DATABASE_NAME = /^[a-z_][a-z0-9_-]{0,62}$/;

export function databaseNameProblem(name: string): string | null {
  if (DATABASE_NAME.test(name)) return null;
  return `--into-database takes a database name of lowercase letters, digits, "_" and "-" (at most 63, not starting with a digit or "-"); got "${name}"`;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The target moved to database `name` on the same server, which exists afterwards (created if need be). */
export async function intoDatabase(target: RestoreTarget, name: string, log: Logger): Promise<RestoreTarget> {
  const problem = databaseNameProblem(name);
  if (problem) throw new BackupError(problem);
  const settings = fromSource({ url: target.databaseUrl, variable: target.urlVariable }).settings;
  // Connected to the service's own database: CREATE DATABASE works from any database of the server.
  const client = new Client({
    ...settings.pool,
    connectionTimeoutMillis: 10_000,
    application_name: 'webrana-jobs-restore',
  });
  await client.connect().catch((error: Error) => {
    throw new BackupError(`cannot connect to ${settings.redacted}: ${error.message}`);
  });
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rows.length === 0) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        log.info({ database: name }, 'created the target database');
      } catch (error) {
        // Two restores racing for the same name: the other one created it, which is what we wanted.
        if ((error as { code?: string }).code !== '42P04')
          throw new BackupError(
            `cannot create database ${name} on ${settings.redacted}: ${(error as Error).message} ` +
              '(the role needs CREATEDB, or create the database beforehand)',
          );
      }
    } else {
      log.info({ database: name }, 'restoring into an existing database');
    }
  } finally {
    await client.end();
  }
  return { ...target, databaseUrl: withDatabase(target.databaseUrl, name) };
}
