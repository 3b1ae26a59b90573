import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fromSource, type DatabaseSettings } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { pipeline } from 'node:stream/promises';
import { unpackArchive, unpackStream } from './archive';
import { hashedStream, ignoredNote, readBucketManifest } from './bucket';
import { BackupError, listDumps, migrationHead, sha256File, verifyDump, type Manifest } from './backup';
import { migrationsDir, SERVICES } from '@webrana/registry';
import { readLocalMigrations } from '@webrana/migrate';
import { identityProblem, parseLedgerCopy, type LedgerEntry } from './identity';
import { describeHolders, jobsProblem, type LockHolder } from './limits';
import { manifestName, parseDumpFileName, type DumpKind } from './names';
import { splitFuture } from './retention';
import { runTool, toolPath } from './tools';
import type { ObjectStore } from './s3';

export interface RestoreOptions {
  /** pg_restore --jobs; above 1 the restore is not one transaction. */
  jobs: number;
  /** Restore even a dump older than the database's schema, or one that looks like another service's. */
  force: boolean;
  /** How long pg_restore/psql wait for each lock before giving up (lock_timeout). */
  lockTimeoutMs: number;
}

export interface RestoreTarget {
  service: string;
  databaseUrl: string;
  urlVariable: string;
}

/**
 * The newest completed full dump of a service under <dir>/<service>/, never one dated in the future
 * (those are returned apart, for a warning). With `skipFailedDrills` (restore --latest), never one a
 * restore drill marked as failed either (returned apart too); a drill itself takes the newest.
 */
export function latestDump(
  dir: string,
  service: string,
  opts: { now?: Date; skipFailedDrills: boolean },
): { file: string; future: string[]; failedDrills: string[] } {
  const serviceDir = path.join(dir, service);
  const all = fs.existsSync(serviceDir) ? listDumps(serviceDir, service, 'full') : [];
  const { current, future } = splitFuture(all, opts.now ?? new Date());
  current.sort((a, b) => b.time.getTime() - a.time.getTime());
  const failedDrills: string[] = [];
  for (const { name } of current) {
    const file = path.join(serviceDir, name);
    if (opts.skipFailedDrills && readManifest(file).drillFailure) {
      failedDrills.push(name);
      continue;
    }
    return { file, future: future.map((d) => d.name), failedDrills };
  }
  throw new BackupError(`no completed ${service} dump in ${serviceDir}${ignoredNote(future.length, failedDrills)}`);
}

/** The manifest file beside a dump on a volume. */
export const manifestPath = (file: string): string => path.join(path.dirname(file), manifestName(path.basename(file)));

export function readManifest(file: string): Manifest {
  const manifestFile = manifestPath(file);
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

/** The ledger inside a dump: pg_restore reads the one table of a full dump; SQL dumps hold it as COPY. */
async function dumpLedger(file: string, kind: DumpKind, env: NodeJS.ProcessEnv, name: string): Promise<LedgerEntry[]> {
  if (kind === 'full') {
    const out = await runTool(
      toolPath('pg_restore', env),
      ['--data-only', '--table=_prisma_migrations', '--file=-', file],
      {},
      {
        keepStdout: true,
      },
    );
    if (out.code !== 0) throw new BackupError(`cannot read the ledger inside ${name}: ${out.stderr.trim()}`);
    return parseLedgerCopy(out.stdout);
  }
  if (kind === 'schema') return []; // no rows in a schema-only dump
  // Data-only SQL: read up to the end of the ledger's COPY block, not the whole (large) file.
  let text = '';
  let inBlock = false;
  for await (const line of readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
    if (!inBlock && /^COPY \S*_prisma_migrations /.test(line)) inBlock = true;
    if (!inBlock) continue;
    text += `${line}\n`;
    if (line === '\\.') break;
  }
  return parseLedgerCopy(text);
}

/** Each service's migrations as its folder has them (a folder missing in this image is skipped). */
function migrationFolders(): Record<string, LedgerEntry[]> {
  const folders: Record<string, LedgerEntry[]> = {};
  for (const s of SERVICES) {
    try {
      folders[s.name] = readLocalMigrations(migrationsDir(s.name)).map(({ name, checksum }) => ({ name, checksum }));
    } catch {
      // without it, the dump's own ledger and checksums still decide
    }
  }
  return folders;
}

async function targetLedger(client: Client): Promise<LedgerEntry[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return [];
  const ledger = await client.query<LedgerEntry>(
    `SELECT migration_name AS name, checksum FROM _prisma_migrations WHERE rolled_back_at IS NULL ORDER BY 1`,
  );
  return ledger.rows;
}

/** Sessions holding locks on this database's tables (all others, or only `pids`). */
async function lockHolders(client: Client, pids?: number[]): Promise<LockHolder[]> {
  const { rows } = await client.query<LockHolder>(
    `SELECT a.pid, coalesce(a.application_name, '') AS application_name, a.usename, a.state, a.xact_start,
            string_agg(DISTINCT l.relation::regclass::text, ', ') AS relations
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.granted AND l.locktype = 'relation' AND a.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ($1::int[] IS NULL OR a.pid = ANY($1::int[]))
      GROUP BY a.pid, a.application_name, a.usename, a.state, a.xact_start
      ORDER BY a.pid`,
    [pids ?? null],
  );
  return rows;
}

/**
 * Enforces the lock timeout from outside: dumps begin with `SET lock_timeout = 0`, which overrides
 * PGOPTIONS, so a session of ours (found by its application_name) that waits for a lock longer
 * than allowed is cancelled here, and whoever blocks it is remembered for the error. Every first
 * wait is logged with its blockers.
 */
async function watchLocks(
  client: Client,
  appName: string,
  timeoutMs: number,
  log: Logger,
): Promise<{ stop(): Promise<LockHolder[] | null> }> {
  let blocked: LockHolder[] | null = null;
  let logged = false;
  let running: Promise<void> = Promise.resolve();
  const check = async () => {
    const { rows } = await client.query<{ pid: number; blockers: number[]; waited_ms: number }>(
      `SELECT l.pid, pg_blocking_pids(l.pid) AS blockers,
              (extract(epoch FROM clock_timestamp() - l.waitstart) * 1000)::float8 AS waited_ms
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.application_name = $1 AND l.waitstart IS NOT NULL`,
      [appName],
    );
    for (const waiting of rows) {
      const holders = await lockHolders(client, waiting.blockers);
      if (!logged) {
        logged = true;
        log.info(
          { waitingPid: waiting.pid, blockers: waiting.blockers },
          `restore is waiting for a lock held by ${describeHolders(holders) || `pids ${waiting.blockers.join(', ')}`}`,
        );
      }
      if (waiting.waited_ms >= timeoutMs && blocked === null) {
        blocked = holders;
        await client.query('SELECT pg_cancel_backend($1)', [waiting.pid]);
      }
    }
  };
  const timer = setInterval(
    () => {
      running = running
        .then(check)
        .catch((error: Error) => log.warn({ err: { message: error.message } }, 'lock watch failed'));
    },
    Math.min(1000, Math.max(50, timeoutMs / 5)),
  );
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      return blocked;
    },
  };
}

async function connectionBudget(client: Client) {
  const { rows } = await client.query<{ max: number; reserved: number; used: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used`,
  );
  return { maxConnections: rows[0]!.max, reserved: rows[0]!.reserved, inUse: rows[0]!.used };
}

async function connect(settings: DatabaseSettings): Promise<Client> {
  const client = new Client({
    ...settings.pool,
    connectionTimeoutMillis: 10_000,
    application_name: 'webrana-jobs-restore',
  });
  // A session ended by the server (pg_terminate_backend, a dropped database, a restart) must not crash
  // the process: the query in flight fails with the reason, and the restore reports that.
  client.on('error', () => undefined);
  await client.connect().catch((error: Error) => {
    throw new BackupError(`cannot connect to ${settings.redacted}: ${error.message}`);
  });
  return client;
}

/**
 * Restores a dump into a service's database. Before the database is touched: the file's sha256 must
 * match its manifest and the dump must read; the dump (manifest and its own ledger) must be the
 * target's service and the target database must not be another service's; an older schema than the
 * database's is refused; --jobs must fit the server's free connections. The first three yield to
 * --force. Custom-format dumps go through pg_restore --clean --if-exists, SQL through psql, both with
 * a lock timeout, so a restore that cannot get a lock fails naming who holds it instead of waiting.
 */
export async function restore(
  target: RestoreTarget,
  file: string,
  opts: RestoreOptions,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ service: string; file: string; bytes: number; seconds: number }> {
  const started = Date.now();
  if (!fs.existsSync(file)) throw new BackupError(`dump file not found: ${file}`);
  const base = path.basename(file);
  const manifest = readManifest(file);
  const kind = parseDumpFileName(base)?.kind ?? manifest.kind;
  const format = parseDumpFileName(base)?.format ?? manifest.format ?? (kind === 'full' ? 'custom' : 'sql');
  const dump = { base, kind, manifest, started };
  if (format !== 'tar.zst') {
    checkSha256(base, await sha256File(file), manifest);
    return restoreFrom(file, target, dump, opts, env, log);
  }
  // pg_restore reads a directory dump from a directory: unpack it privately (mkdtemp: 0700) under
  // TMPDIR, hashing the file as it is read; nothing reaches the database before the hash matches.
  const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-restore-'));
  try {
    const { sha256 } = await unpackArchive(file, unpacked).catch(async (error: Error) => {
      checkSha256(base, await sha256File(file), manifest); // a damaged file says so first
      throw new BackupError(`${base} does not unpack: ${error.message}; nothing was restored`);
    });
    checkSha256(base, sha256, manifest);
    return await restoreFrom(unpacked, target, dump, opts, env, log);
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}

/**
 * Restores an object of the bucket (`key`, with its manifest object beside it). The object is read once,
 * streaming: a .tar.zst is unpacked under TMPDIR as it downloads, anything else is spooled to a private
 * file there; either way it is hashed on the way and refused, before the database is touched, unless its
 * sha256 and size are the manifest's.
 */
export async function restoreFromBucket(
  target: RestoreTarget,
  store: ObjectStore,
  key: string,
  opts: RestoreOptions,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ service: string; file: string; bytes: number; seconds: number }> {
  const started = Date.now();
  const base = path.basename(key);
  const manifest = await readBucketManifest(store, key);
  const kind = parseDumpFileName(base)?.kind ?? manifest.kind;
  const format = parseDumpFileName(base)?.format ?? manifest.format ?? (kind === 'full' ? 'custom' : 'sql');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-restore-')); // 0700
  try {
    const download = hashedStream(await store.get(key));
    const source = format === 'tar.zst' ? work : path.join(work, base);
    try {
      if (format === 'tar.zst') await unpackStream(download.stream, work, base);
      else await pipeline(download.stream, fs.createWriteStream(source, { mode: 0o600 }));
    } catch (error) {
      throw new BackupError(
        `${base} is corrupted or cut short (it does not ${format === 'tar.zst' ? 'unpack' : 'download whole'}: ` +
          `${(error as Error).message}); nothing was restored`,
      );
    }
    const { sha256, bytes } = download.result();
    checkSha256(base, sha256, manifest);
    if (bytes !== manifest.bytes)
      throw new BackupError(`${base} is ${bytes} bytes, the manifest says ${manifest.bytes}; nothing was restored`);
    return await restoreFrom(source, target, { base, kind, manifest, started }, opts, env, log);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function checkSha256(base: string, sha256: string, manifest: Manifest): void {
  if (sha256 === manifest.sha256) return;
  throw new BackupError(
    `${base} is corrupted: its sha256 is ${sha256}, the manifest says ${manifest.sha256} (truncated or altered); nothing was restored`,
  );
}

/** The restore itself, from a dump pg_restore or psql reads as it is (`source`: a file or a directory). */
async function restoreFrom(
  source: string,
  target: RestoreTarget,
  dump: { base: string; kind: DumpKind; manifest: Manifest; started: number },
  opts: RestoreOptions,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ service: string; file: string; bytes: number; seconds: number }> {
  const { base, kind, manifest, started } = dump;
  // Both read the dump's table of contents: at once.
  const [, insideDump] = await Promise.all([verifyDump(source, kind, env, base), dumpLedger(source, kind, env, base)]);

  // Parsed once: pg's settings and the tools' environment come from the same reading of the URL.
  const db = fromSource({ url: target.databaseUrl, variable: target.urlVariable });
  const settings = db.settings;
  const client = await connect(settings);
  let holders: LockHolder[];
  try {
    const problem = identityProblem({
      dumpService: manifest.service,
      targetService: target.service,
      dumpLedger: insideDump,
      targetLedger: await targetLedger(client),
      targetDatabase: settings.database,
      folders: migrationFolders(),
      specDatabases: Object.fromEntries(SERVICES.map((s) => [s.name, s.database])),
    });
    if (problem && !opts.force) {
      throw new BackupError(
        `refusing to restore ${base} (a ${manifest.service} dump of database ${manifest.database}) into ` +
          `database ${settings.database} for ${target.service}: ${problem}. Nothing was restored. Point ` +
          `${target.urlVariable} at the ${manifest.service} database, or pass --force to replace that database's tables anyway`,
      );
    }
    if (problem)
      log.warn({ file: base, database: settings.database }, `restoring despite a mismatch (--force): ${problem}`);
    else if (manifest.database !== settings.database)
      log.info(
        { file: base, from: manifest.database, into: settings.database },
        'restoring into another database of the same service',
      );
    const current = await migrationHead(client);
    if (!opts.force && current !== null && manifest.migrationHead !== null && manifest.migrationHead < current) {
      throw new BackupError(
        `${base} was taken at migration ${manifest.migrationHead}, but the database is at ${current}: ` +
          `restoring it would put an older schema under newer code. Pass --force if that is what you want`,
      );
    }
    const tooMany = kind === 'full' ? jobsProblem(opts.jobs, await connectionBudget(client)) : null;
    if (tooMany) throw new BackupError(`${tooMany}; nothing was restored`);
    holders = await lockHolders(client);
  } finally {
    await client.end();
  }
  log.info(
    { file: base, database: settings.database, lockTimeoutMs: opts.lockTimeoutMs, holders: holders.length },
    holders.length > 0
      ? `restore will wait at most ${opts.lockTimeoutMs} ms per lock; sessions holding locks now: ${describeHolders(holders)}`
      : `restore will wait at most ${opts.lockTimeoutMs} ms per lock; no other session holds locks`,
  );

  const appName = `webrana-jobs-restore-${randomBytes(4).toString('hex')}`;
  const toolEnv = { ...db.libpq, PGAPPNAME: appName };
  const oneTransaction = kind !== 'full' || opts.jobs <= 1;
  const watcher = await connect(settings);
  let result: Awaited<ReturnType<typeof runTool>>;
  let blocked: LockHolder[] | null;
  try {
    const watch = await watchLocks(watcher, appName, opts.lockTimeoutMs, log);
    try {
      result =
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
                source,
              ],
              toolEnv,
            )
          : await runTool(
              toolPath('psql', env),
              ['--no-psqlrc', '--quiet', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '--file', source],
              toolEnv,
            );
    } finally {
      blocked = await watch.stop();
    }
  } finally {
    await watcher.end();
  }
  if (result.code !== 0 && blocked !== null) {
    throw new BackupError(
      `restore of ${base} could not get its locks within ${opts.lockTimeoutMs} ms ` +
        `(${oneTransaction ? 'nothing was restored: one transaction' : 'with --jobs parts may already be restored'}). ` +
        `Blocked by ${blocked.length > 0 ? describeHolders(blocked) : 'a session that has ended since'}. ` +
        'End or wait for that session (SELECT pg_terminate_backend(pid)), or retry with a larger --lock-timeout',
    );
  }
  if (result.code !== 0) throw new BackupError(`restore of ${base} failed: ${result.stderr.trim()}`);
  const summary = {
    service: target.service,
    file: base,
    bytes: manifest.bytes,
    seconds: (Date.now() - started) / 1000,
  };
  log.info(summary, 'restore finished');
  return summary;
}
