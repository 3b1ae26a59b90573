import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromSource, withDatabase, type DatabaseSettings } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { BackupError, migrationHead, writeFileAtomic, type Manifest } from './backup';
import { readBucketManifest } from './bucket';
import { compactStamp, manifestName } from './names';
import { manifestPath, readManifest, restore, restoreFromBucket, type RestoreTarget } from './restore';
import { rowCountProblems } from './rows';
import { type ObjectStore } from './s3';

/**
 * A restore drill: the dump is restored by restore's own code path into a scratch database on the
 * same server, its migration head and per-table row counts compared with the manifest, and the
 * scratch database dropped whatever happens. The outcome is written into the dump's manifest
 * (verifiedAt, or drillFailure, which restore --latest never picks).
 */

/** Where the dump is: a file on a volume, or an object of a bucket. */
export type DrillSource = { file: string } | { store: ObjectStore; key: string };

export interface DrillResult {
  service: string;
  /** The dump's name. */
  file: string;
  /** When the dump was taken (its manifest). */
  dumpCreatedAt: string;
  passed: boolean;
  /** The manifest now records this drill (false only when it could not be written). */
  recorded: boolean;
  /** The migration head the restored database has (null: no ledger, or the restore failed). */
  migrationHead: string | null;
  /** Tables and rows whose counts were compared (0 for a manifest without row counts). */
  tables: number;
  rows: number;
  /** Why the drill failed, one sentence each; empty when it passed. */
  problems: string[];
  scratchDatabase: string;
  seconds: number;
}

const APP_NAME = 'webrana-jobs-drill';
const SCRATCH_INFIX = '_drill_';
/** PostgreSQL's longest identifier. */
const MAX_NAME = 63;

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A scratch database name unique per run: <db>_drill_<UTC stamp>_<random>, the database's part
 * shortened to fit 63 bytes. Pure.
 */
export function scratchName(database: string, now: Date, random: string): string {
  const suffix = `${SCRATCH_INFIX}${compactStamp(now).toLowerCase()}_${random}`;
  return `${scratchPrefix(database, suffix.length)}${suffix}`;
}

const SUFFIX_LENGTH = `${SCRATCH_INFIX}20260101t000000z_000000`.length;
const scratchPrefix = (database: string, suffixLength = SUFFIX_LENGTH) =>
  Buffer.from(database)
    .subarray(0, MAX_NAME - suffixLength)
    .toString();

/** Whether a database name is a drill's scratch database of `database`. Pure. */
export function isScratchOf(name: string, database: string): boolean {
  const prefix = scratchPrefix(database);
  return (
    name.startsWith(prefix) && /^_drill_\d{8}t\d{6}z_[0-9a-f]{6}$/.test(name.slice(prefix.length)) // exact shape only
  );
}

/** An error of this machine's system calls (EACCES, ENOSPC, EISDIR, ...), as Node raises them. Pure. */
export const isSystemError = (error: unknown): boolean => {
  const e = error as NodeJS.ErrnoException;
  return typeof e?.syscall === 'string' && typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code);
};

async function connect(settings: DatabaseSettings): Promise<Client> {
  const client = new Client({ ...settings.pool, connectionTimeoutMillis: 10_000, application_name: APP_NAME });
  client.on('error', () => undefined); // a dropped scratch database ends its sessions: the query in flight says why
  await client.connect().catch((error: Error) => {
    throw new BackupError(`cannot connect to ${settings.redacted}: ${error.message}`);
  });
  return client;
}

/**
 * Drops the scratch databases of drills that were killed (kill -9, OOM, node lost): a running drill
 * holds a session on its scratch database from creating it to dropping it, so one without any
 * session is a dead drill's. Returns the names dropped.
 */
export async function dropStaleScratch(admin: Client, database: string, log: Logger): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT d.datname FROM pg_database d
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)`,
  );
  const dropped: string[] = [];
  for (const { datname } of rows.filter((r) => isScratchOf(r.datname, database))) {
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`);
      dropped.push(datname);
      log.info({ database: datname }, 'dropped the scratch database of a drill that did not finish');
    } catch (error) {
      log.warn(
        { database: datname, err: { message: (error as Error).message } },
        'could not drop a stale scratch database',
      );
    }
  }
  return dropped;
}

/** The restored database against the manifest: migration head and each table's rows. */
async function checkRestored(
  client: Client,
  manifest: Manifest,
  log: Logger,
): Promise<{ head: string | null; tables: number; rows: number; problems: string[] }> {
  const head = await migrationHead(client);
  const problems: string[] = [];
  if (head !== manifest.migrationHead)
    problems.push(
      `the restored migration head is ${head ?? 'none'}, the manifest says ${manifest.migrationHead ?? 'none'}`,
    );
  const expected = manifest.rowCounts;
  if (!expected) {
    log.warn(
      { file: manifest.file },
      'the manifest has no row counts (written before drills): only the head is checked',
    );
    return { head, tables: 0, rows: 0, problems };
  }
  const actual: Record<string, number | null> = {};
  for (const table of Object.keys(expected)) {
    const dot = table.indexOf('.');
    const qualified = `${quoteIdent(table.slice(0, dot))}.${quoteIdent(table.slice(dot + 1))}`;
    const exists = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [qualified]);
    actual[table] = exists.rows[0]!.ok
      ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${qualified}`)).rows[0]!.n)
      : null;
  }
  problems.push(...rowCountProblems(expected, actual));
  const rows = Object.values(expected).reduce((sum, n) => sum + n, 0);
  return { head, tables: Object.keys(expected).length, rows, problems };
}

/** The manifest with this drill's outcome: verifiedAt on a pass, drillFailure on a failure. Pure. */
export function withDrillOutcome(manifest: Manifest, at: Date, problems: readonly string[]): Manifest {
  const { drillFailure: _previous, ...rest } = manifest;
  return problems.length === 0
    ? { ...rest, verifiedAt: at.toISOString() }
    : { ...rest, drillFailure: { at: at.toISOString(), problems: [...problems] } };
}

/** Writes the new manifest in one step (volume: new file, then rename; bucket: a new manifest object). */
async function recordOutcome(source: DrillSource, manifest: Manifest, log: Logger): Promise<boolean> {
  const text = `${JSON.stringify(manifest, null, 2)}\n`;
  try {
    if ('file' in source) {
      // Retention may have removed the dump meanwhile: never leave a manifest without its dump.
      if (!fs.existsSync(source.file)) return false;
      writeFileAtomic(manifestPath(source.file), text);
    } else {
      await source.store.putText(manifestName(source.key), text);
    }
    return true;
  } catch (error) {
    log.warn(
      { file: manifest.file, err: { message: (error as Error).message } },
      'could not record the drill in the manifest',
    );
    return false;
  }
}

/**
 * Runs one drill. Resolves with the outcome whether the dump passed or failed (a failed dump is
 * marked); throws a BackupError when the drill itself could not run (server unreachable, no CREATEDB,
 * stopped by `signal`): the dump is then not marked. The scratch database is dropped in every case
 * but kill -9, and then by the next drill (dropStaleScratch).
 */
export async function drill(
  target: RestoreTarget,
  source: DrillSource,
  opts: { jobs: number; lockTimeoutMs: number; signal?: AbortSignal },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<DrillResult> {
  const started = Date.now();
  const name = path.basename('file' in source ? source.file : source.key);
  const manifest = 'file' in source ? readManifest(source.file) : await readBucketManifest(source.store, source.key);
  if (manifest.kind !== 'full')
    throw new BackupError(`${name} is a ${manifest.kind}-only dump: a drill restores full dumps (.tar.zst, .dump)`);
  if (manifest.service !== target.service)
    throw new BackupError(
      `${name} is a ${manifest.service} dump, not ${target.service}'s: give --service=${manifest.service}`,
    );
  const settings = fromSource({ url: target.databaseUrl, variable: target.urlVariable }).settings;
  const admin = await connect(settings);
  const scratch = scratchName(settings.database, new Date(), randomBytes(3).toString('hex'));
  let outcome: { head: string | null; tables: number; rows: number; problems: string[] };
  try {
    await dropStaleScratch(admin, settings.database, log);
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0`);
    } catch (error) {
      throw new BackupError(
        `cannot create the scratch database ${scratch} on ${settings.redacted}: ${(error as Error).message} ` +
          '(the drill restores into a scratch database on the same server: the role needs CREATEDB)',
      );
    }
    log.info({ file: name, database: scratch }, 'restore drill: scratch database created');
    // Dropping it ends every session in it (pg_restore's too): the restore then fails, and is not the dump's fault.
    const stop = () =>
      void admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`).catch(() => undefined);
    opts.signal?.addEventListener('abort', stop, { once: true });
    const into = { ...target, databaseUrl: withDatabase(target.databaseUrl, scratch) };
    const keeper = await connect(fromSource({ url: into.databaseUrl, variable: into.urlVariable }).settings);
    try {
      const restoreOpts = { jobs: opts.jobs, force: false, lockTimeoutMs: opts.lockTimeoutMs };
      try {
        if ('file' in source) await restore(into, source.file, restoreOpts, env, log);
        else await restoreFromBucket(into, source.store, source.key, restoreOpts, env, log);
        outcome = await checkRestored(keeper, manifest, log);
      } catch (error) {
        if (opts.signal?.aborted) throw new BackupError(`the drill of ${name} was stopped; the dump is not marked`);
        // This machine failing us (a file we may not read, a full /tmp) says nothing about the dump.
        if (isSystemError(error))
          throw new BackupError(
            `the drill of ${name} could not run: ${(error as Error).message}; the dump is not marked`,
          );
        // The server still answering means the dump (or its archive) is what failed.
        const serverAnswers = await admin.query('SELECT 1').then(
          () => true,
          () => false,
        );
        if (!serverAnswers) throw error;
        outcome = { head: null, tables: 0, rows: 0, problems: [(error as Error).message] };
      }
    } finally {
      opts.signal?.removeEventListener('abort', stop);
      await keeper.end().catch(() => undefined);
    }
  } finally {
    await admin
      .query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`)
      .then(() => log.info({ database: scratch }, 'restore drill: scratch database dropped'))
      .catch((error: Error) =>
        log.warn({ database: scratch, err: { message: error.message } }, 'could not drop the scratch database'),
      );
    await admin.end().catch(() => undefined);
  }
  const recorded = await recordOutcome(source, withDrillOutcome(manifest, new Date(), outcome.problems), log);
  const result: DrillResult = {
    service: target.service,
    file: name,
    dumpCreatedAt: manifest.createdAt,
    passed: outcome.problems.length === 0,
    recorded,
    migrationHead: outcome.head,
    tables: outcome.tables,
    rows: outcome.rows,
    problems: outcome.problems,
    scratchDatabase: scratch,
    seconds: (Date.now() - started) / 1000,
  };
  if (result.passed) log.info(result, 'restore drill passed');
  else log.error(result, `restore drill failed: ${result.problems.join('; ')}`);
  return result;
}
