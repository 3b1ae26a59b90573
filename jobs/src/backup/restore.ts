import * as fs from 'node:fs';
import * as path from 'node:path';
import { libpqEnv, parseDatabaseUrl } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { BackupError, listDumps, migrationHead, sha256File, verifyDump, type Manifest } from './backup';
import { manifestName, parseDumpFileName } from './names';
import { splitFuture } from './retention';
import { runTool, toolPath } from './tools';

export interface RestoreOptions {
  /** pg_restore --jobs; above 1 the restore is not one transaction. */
  jobs: number;
  /** Restore even when the dump's migration head is older than the database's. */
  force: boolean;
}

/**
 * The newest completed full dump of a service under <dir>/<service>/, never one dated in the future
 * (those are returned apart, for a warning).
 */
export function latestDump(dir: string, service: string, now = new Date()): { file: string; future: string[] } {
  const serviceDir = path.join(dir, service);
  const all = fs.existsSync(serviceDir) ? listDumps(serviceDir, service, 'full') : [];
  const { current, future } = splitFuture(all, now);
  if (current.length === 0) {
    const ignored = future.length > 0 ? ` (ignored ${future.length} dated in the future)` : '';
    throw new BackupError(`no completed ${service} dump in ${serviceDir}${ignored}`);
  }
  current.sort((a, b) => b.time.getTime() - a.time.getTime());
  return { file: path.join(serviceDir, current[0]!.name), future: future.map((d) => d.name) };
}

function readManifest(file: string): Manifest {
  const manifestFile = path.join(path.dirname(file), manifestName(path.basename(file)));
  if (!fs.existsSync(manifestFile)) {
    throw new BackupError(
      `${path.basename(file)} has no manifest (${manifestFile}); it is not a completed backup of this project`,
    );
  }
  try {
    return JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
  } catch (error) {
    throw new BackupError(`manifest ${manifestFile} is unreadable: ${(error as Error).message}`);
  }
}

/**
 * Restores a dump into a service's database: the file's sha256 must match its manifest and the dump
 * must read (all before the database is touched); an older schema than the database's is refused
 * unless forced. Custom-format dumps go through pg_restore --clean --if-exists, SQL through psql.
 */
export async function restore(
  target: { service: string; databaseUrl: string; urlVariable: string },
  file: string,
  opts: RestoreOptions,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ service: string; file: string; bytes: number; seconds: number }> {
  const started = Date.now();
  if (!fs.existsSync(file)) throw new BackupError(`dump file not found: ${file}`);
  const manifest = readManifest(file);
  const kind = parseDumpFileName(path.basename(file))?.kind ?? manifest.kind;
  if (manifest.service !== target.service) {
    throw new BackupError(
      `${path.basename(file)} is a ${manifest.service} dump; refusing to restore it into ${target.service}`,
    );
  }
  const sha256 = await sha256File(file);
  if (sha256 !== manifest.sha256) {
    throw new BackupError(
      `${path.basename(file)} is corrupted: its sha256 is ${sha256}, the manifest says ${manifest.sha256} (truncated or altered); nothing was restored`,
    );
  }
  await verifyDump(file, kind, env);

  const settings = parseDatabaseUrl(target.databaseUrl, target.urlVariable);
  const client = new Client({ ...settings.pool, connectionTimeoutMillis: 10_000 });
  await client.connect().catch((error: Error) => {
    throw new BackupError(`cannot connect to ${settings.redacted}: ${error.message}`);
  });
  const current = await migrationHead(client).finally(() => client.end());
  if (!opts.force && current !== null && manifest.migrationHead !== null && manifest.migrationHead < current) {
    throw new BackupError(
      `${path.basename(file)} was taken at migration ${manifest.migrationHead}, but the database is at ${current}: ` +
        `restoring it would put an older schema under newer code. Pass --force if that is what you want`,
    );
  }

  const libpq = libpqEnv(target.databaseUrl, target.urlVariable);
  const result =
    kind === 'full'
      ? await runTool(
          toolPath('pg_restore', env),
          [
            '--clean',
            '--if-exists',
            '--no-owner',
            '--no-privileges',
            '--exit-on-error',
            ...(opts.jobs > 1 ? [`--jobs=${opts.jobs}`] : ['--single-transaction']),
            `--dbname=${settings.database}`,
            file,
          ],
          libpq,
        )
      : await runTool(
          toolPath('psql', env),
          ['--no-psqlrc', '--quiet', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '--file', file],
          libpq,
        );
  if (result.code !== 0) throw new BackupError(`restore of ${path.basename(file)} failed: ${result.stderr.trim()}`);
  const summary = {
    service: target.service,
    file: path.basename(file),
    bytes: manifest.bytes,
    seconds: (Date.now() - started) / 1000,
  };
  log.info(summary, 'restore finished');
  return summary;
}
