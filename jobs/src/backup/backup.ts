import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromSource, type DatabaseSettings } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { packDirectory } from './archive';
import {
  candidateDumpNames,
  manifestName,
  parseDumpFileName,
  parseTempFileName,
  safeHost,
  tempFileName,
  type DumpFormat,
  type DumpKind,
} from './names';
import { planRetention, policyProblem, splitFuture, type KeepPolicy } from './retention';
import { runTool, toolPath } from './tools';

export interface BackupTarget {
  service: string;
  databaseUrl: string;
  urlVariable: string;
  /** Destination root; dumps go to <dir>/<service>/. */
  dir: string;
}

export interface Manifest {
  service: string;
  database: string;
  kind: DumpKind;
  /** Missing in manifests written before full dumps became tar.zst (those dumps are `custom`). */
  format?: DumpFormat;
  file: string;
  serverVersion: string;
  /** Newest applied migration when the dump was taken (null: no ledger). */
  migrationHead: string | null;
  bytes: number;
  sha256: string;
  durationMs: number;
  createdAt: string;
}

export interface BackupSummary {
  service: string;
  file: string;
  bytes: number;
  seconds: number;
  kept: number;
  deleted: string[];
}

/**
 * pg_dump's flags per kind. Full dumps: directory format, uncompressed, written by parallel jobs, then
 * packed and compressed by packDirectory (see archive.ts for why).
 */
const DUMP_FLAGS: Record<DumpKind, string[]> = {
  full: ['--format=directory', '--compress=0'],
  schema: ['--format=plain', '--schema-only'],
  // The data includes rows triggers wrote (status_history); replaying it must not fire them again.
  data: ['--format=plain', '--data-only', '--disable-triggers'],
};
/** pg_dump --jobs for full dumps: one per core of the machine it was measured on; each is a connection. */
export const DEFAULT_DUMP_JOBS = 2;

const DAY_MS = 86_400_000;
/** How many following seconds a run tries when its own second's name is taken by another run. */
const NAME_ATTEMPTS = 60;
/** Dumps hold password hashes and customer data: only the backup user may read them. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

export class BackupError extends Error {}

/** What the database says about itself, for the manifest. */
async function describeDatabase(
  settings: DatabaseSettings,
): Promise<{ serverVersion: string; migrationHead: string | null }> {
  const client = new Client({ ...settings.pool, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new BackupError(`cannot connect to ${settings.redacted}: ${(error as Error).message}`);
  }
  try {
    const version = await client.query<{ server_version: string }>('SHOW server_version');
    return { serverVersion: version.rows[0]!.server_version, migrationHead: await migrationHead(client) };
  } finally {
    await client.end();
  }
}

/** The newest applied migration in a database's Prisma ledger, or null without one. */
export async function migrationHead(client: Client): Promise<string | null> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
  );
  if (!rows[0]?.exists) return null;
  const head = await client.query<{ name: string }>(
    `SELECT max(migration_name) AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return head.rows[0]?.name ?? null;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function fsyncPath(target: string): void {
  const fd = fs.openSync(target, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Checks that a dump is whole: a full dump (custom-format file or directory) must list in pg_restore;
 * SQL must end with pg_dump's closing line.
 */
export async function verifyDump(
  file: string,
  kind: DumpKind,
  env: NodeJS.ProcessEnv,
  name = path.basename(file),
): Promise<void> {
  if (kind === 'full') {
    const listed = await runTool(toolPath('pg_restore', env), ['--list', file], {});
    if (listed.code !== 0)
      throw new BackupError(`dump ${name} does not verify (pg_restore --list): ${listed.stderr.trim()}`);
    return;
  }
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const tail = Buffer.alloc(Math.min(size, 512));
  fs.readSync(fd, tail, 0, tail.length, size - tail.length);
  fs.closeSync(fd);
  if (!tail.toString('utf8').includes('PostgreSQL database dump complete')) {
    throw new BackupError(`dump ${name} is incomplete (no "PostgreSQL database dump complete" line)`);
  }
}

/** A temporary name for `final` that no other run (this host or another pod) can pick. */
export const tempPathFor = (dir: string, final: string): string =>
  path.join(dir, tempFileName(final, os.hostname(), process.pid, randomBytes(4).toString('hex')));

/** Creates an empty file only we may read (0600 whatever the umask); throws EEXIST if the name is taken. */
function createPrivateFile(file: string): void {
  const fd = fs.openSync(file, 'wx', FILE_MODE);
  try {
    fs.fchmodSync(fd, FILE_MODE); // the umask may have removed bits; never added ones, but be exact
  } finally {
    fs.closeSync(fd);
  }
}

/** A directory only we may enter (0700 whatever the umask). */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  fs.chmodSync(dir, DIR_MODE);
}

/** Writes a private file atomically: temporary name (0600), fsync, rename. */
function writeFileAtomic(file: string, content: string): void {
  const temp = tempPathFor(path.dirname(file), path.basename(file));
  try {
    createPrivateFile(temp);
    fs.writeFileSync(temp, content);
    fsyncPath(temp);
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

const isErrno = (error: unknown, code: string) => (error as NodeJS.ErrnoException).code === code;

/**
 * Moves a finished dump to the first free final name: the name is claimed with O_EXCL (two runs in
 * one second never share it; the loser takes the next second), the dump renamed over the claim, and
 * only then the manifest written, so a dump never counts before it is whole. Returns the name.
 */
function publishDump(dir: string, temp: string, candidates: string[], manifestFor: (name: string) => string): string {
  for (const name of candidates) {
    const final = path.join(dir, name);
    try {
      createPrivateFile(final); // an empty claim without a manifest: nobody counts or deletes it
    } catch (error) {
      if (isErrno(error, 'EEXIST')) continue;
      throw error;
    }
    fs.renameSync(temp, final);
    writeFileAtomic(path.join(dir, manifestName(name)), manifestFor(name));
    fsyncPath(dir);
    return name;
  }
  throw new BackupError(
    `no free dump name in ${dir} from ${candidates[0]} to ${candidates.at(-1)}: remove what fills them, then retry`,
  );
}

/**
 * One backup run: dump to a temporary name, verify, fsync, write the manifest, rename into place,
 * then apply retention to that kind of dump. Nothing is deleted unless the new dump is in place.
 */
export async function backup(
  target: BackupTarget,
  kind: DumpKind,
  opts: { keep: KeepPolicy; dryRun: boolean; now?: Date; jobs?: number },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<BackupSummary> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const problem = policyProblem(opts.keep);
  if (problem) throw new BackupError(problem); // before dumping: an empty policy is a mistake, not "keep one"
  ensurePrivateDir(target.dir);
  const dir = path.join(target.dir, target.service);
  ensurePrivateDir(dir);
  // Parsed once: pg's settings and pg_dump's environment come from the same reading of the URL.
  const db = fromSource({ url: target.databaseUrl, variable: target.urlVariable });
  const info = await describeDatabase(db.settings);
  const candidates = candidateDumpNames(target.service, now, kind, NAME_ATTEMPTS);
  const temp = tempPathFor(dir, candidates[0]!);
  let name: string;
  let bytes: number;
  try {
    createPrivateFile(temp); // pg_dump (or the packer) writes into it and keeps the mode
    const pgDump = async (args: string[]) => {
      const dumped = await runTool(
        toolPath('pg_dump', env),
        [...DUMP_FLAGS[kind], ...args, '--no-owner', '--no-privileges'],
        db.libpq,
      );
      if (dumped.code !== 0) throw new BackupError(`pg_dump failed for ${target.service}: ${dumped.stderr.trim()}`);
    };
    let sha256: string;
    if (kind === 'full') {
      ({ sha256 } = await dumpDirectoryInto(temp, dir, candidates[0]!, opts.jobs ?? DEFAULT_DUMP_JOBS, pgDump, env));
    } else {
      await pgDump([`--file=${temp}`]);
      // Verifying and hashing read the same file: do both at once.
      [, sha256] = await Promise.all([verifyDump(temp, kind, env), sha256File(temp)]);
    }
    fsyncPath(temp);
    bytes = fs.statSync(temp).size;
    const manifest = (file: string): Manifest => ({
      service: target.service,
      database: db.settings.database,
      kind,
      format: parseDumpFileName(file)!.format,
      file,
      ...info,
      bytes,
      sha256,
      durationMs: Date.now() - started,
      createdAt: now.toISOString(),
    });
    name = publishDump(dir, temp, candidates, (file) => `${JSON.stringify(manifest(file), null, 2)}\n`);
    log.info({ service: target.service, file: name, bytes, sha256 }, 'dump written and verified');
  } finally {
    fs.rmSync(temp, { force: true }); // only ours: the name carries host, pid and random bytes
  }

  const { kept, deleted } = applyRetention(dir, target.service, kind, opts, name, log);
  removeStaleTemporaries(dir, now, opts.dryRun, log);
  const summary: BackupSummary = {
    service: target.service,
    file: name,
    bytes,
    seconds: (Date.now() - started) / 1000,
    kept,
    deleted,
  };
  log.info({ ...summary, dryRun: opts.dryRun }, 'backup finished');
  return summary;
}

/**
 * A full dump: pg_dump's directory format into a private temporary directory beside the dump (about
 * 4x the final file, removed before returning), its table of contents read back by pg_restore --list,
 * then packed into `file` and checked while written (packDirectory).
 */
async function dumpDirectoryInto(
  file: string,
  dir: string,
  finalName: string,
  jobs: number,
  pgDump: (args: string[]) => Promise<void>,
  env: NodeJS.ProcessEnv,
): Promise<{ sha256: string; bytes: number }> {
  const raw = tempPathFor(dir, `${finalName}.d`);
  fs.mkdirSync(raw, { mode: DIR_MODE });
  try {
    await pgDump([`--jobs=${jobs}`, `--file=${raw}`]);
    await verifyDump(raw, 'full', env, finalName);
    return await packDirectory(raw, file);
  } finally {
    fs.rmSync(raw, { recursive: true, force: true });
  }
}

/** Completed dumps (final name and manifest) of one kind in a service's directory. */
export function listDumps(dir: string, service: string, kind: DumpKind): { name: string; time: Date }[] {
  const names = new Set(fs.readdirSync(dir));
  return [...names]
    .sort()
    .map((name) => ({ name, parsed: parseDumpFileName(name) }))
    .filter(({ name, parsed }) => parsed?.service === service && parsed.kind === kind && names.has(manifestName(name)))
    .map(({ name, parsed }) => ({ name, time: parsed!.time }));
}

/**
 * Deletes what the policy drops among this kind's completed dumps. Dumps dated in the future are
 * reported and left alone (neither counted nor deleted), and the dump this run wrote is never deleted.
 */
function applyRetention(
  dir: string,
  service: string,
  kind: DumpKind,
  opts: { keep: KeepPolicy; dryRun: boolean },
  justWritten: string,
  log: Logger,
): { kept: number; deleted: string[] } {
  const { current, future } = splitFuture(listDumps(dir, service, kind), new Date());
  if (future.length > 0) warnFuture(log, future, dir);
  const plan = planRetention(
    current.map((d) => ({ item: d.name, time: d.time })),
    opts.keep,
  );
  const deleted = plan.delete.filter((name) => name !== justWritten);
  for (const name of deleted) {
    if (opts.dryRun) {
      log.info({ file: name }, 'would delete (dry run)');
      continue;
    }
    fs.rmSync(path.join(dir, name), { force: true });
    fs.rmSync(path.join(dir, manifestName(name)), { force: true });
    log.info({ file: name }, 'deleted by retention');
  }
  return { kept: current.length - deleted.length, deleted };
}

export function warnFuture(log: Logger, future: readonly { name: string }[], dir: string): void {
  log.warn(
    { files: future.map((d) => d.name), dir },
    `ignoring ${future.length} dump(s) dated in the future (${future.map((d) => d.name).join(', ')}): ` +
      'they are neither counted nor deleted by retention and never picked by restore --latest; ' +
      'check the clock of the host that wrote them, then rename or remove them by hand',
  );
}

/** Whether a process with this pid runs on this host (EPERM: it runs, as another user). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM');
  }
}

/**
 * Whether a temporary file is a dead run's leftover: untouched for a day (a running pg_dump keeps
 * writing) and, when it names this host, its pid is gone. Another pod's pid cannot be checked here
 * (pids repeat across pods), so there the day without a write decides.
 */
export function isStaleTemporary(
  temp: { host: string | null; pid: number | null },
  ageMs: number,
  ownHost: string,
  alive: (pid: number) => boolean,
): boolean {
  if (ageMs < DAY_MS) return false;
  if (temp.host === null || temp.pid === null || temp.host !== ownHost) return true;
  return !alive(temp.pid);
}

/** When a temporary file, or a temporary dump directory or any file in it, was last written. */
function lastWriteMs(file: string): number {
  const stat = fs.statSync(file);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(file).reduce((newest, name) => {
    try {
      return Math.max(newest, fs.statSync(path.join(file, name)).mtimeMs);
    } catch {
      return newest; // removed meanwhile
    }
  }, stat.mtimeMs);
}

/** Removes temporary files and directories killed runs left behind (see isStaleTemporary). */
function removeStaleTemporaries(dir: string, now: Date, dryRun: boolean, log: Logger): void {
  const ownHost = safeHost(os.hostname());
  for (const name of fs.readdirSync(dir)) {
    const temp = parseTempFileName(name);
    if (!temp) continue;
    const file = path.join(dir, name);
    let ageMs: number;
    try {
      ageMs = now.getTime() - lastWriteMs(file);
    } catch {
      continue; // its writer finished meanwhile
    }
    if (!isStaleTemporary(temp, ageMs, ownHost, pidAlive)) continue;
    if (!dryRun) fs.rmSync(file, { recursive: true, force: true });
    log.info({ file: name, dryRun }, 'removed a stale temporary file');
  }
}
