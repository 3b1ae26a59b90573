import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromSource, type DatabaseSettings } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { Client } from 'pg';
import { packDirectory } from './archive';
import { abortStaleUploads, applyBucketRetention, packToBucket, uploadDumpFile, writeManifest } from './bucket';
import {
  candidateDumpNames,
  completedDumps,
  manifestName,
  parseDumpFileName,
  parseTempFileName,
  safeHost,
  tempFileName,
  type DumpFormat,
  type DumpKind,
} from './names';
import { policyProblem, retentionDeletions, type KeepPolicy } from './retention';
import { ObjectStore, s3Url, serviceKeyPrefix, type S3Location, type S3Settings } from './s3';
import { dumpRowCounts, type RowCounts } from './rows';
import { runTool, toolPath } from './tools';

export interface BackupTarget {
  service: string;
  databaseUrl: string;
  urlVariable: string;
  /** Volume destination root; dumps go to <dir>/<service>/. */
  dir?: string;
  /** Bucket destination; dumps go to s3://<bucket>/<prefix>/<service>/. With `dir` too: a copy of the volume's dump. */
  s3?: { location: S3Location; settings: S3Settings };
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
  /**
   * Rows per table (schema.table) in the dump's own COPY data (rows.ts); full dumps since restore
   * drills, absent in older manifests.
   */
  rowCounts?: RowCounts;
  /** When a restore drill last passed on this dump (drill.ts). */
  verifiedAt?: string;
  /** A restore drill failed on this dump: restore --latest never picks it. */
  drillFailure?: { at: string; problems: string[] };
}

export interface BackupSummary {
  service: string;
  file: string;
  bytes: number;
  seconds: number;
  kept: number;
  deleted: string[];
  /** The bucket's side, when it is a destination: where the dump went and what its retention did. */
  bucket?: { object: string; kept: number; deleted: string[] };
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
 * Checks that a dump is whole: a full dump (custom-format file or directory) must list in pg_restore
 * (its listing is returned); SQL must end with pg_dump's closing line (returns '').
 */
export async function verifyDump(
  file: string,
  kind: DumpKind,
  env: NodeJS.ProcessEnv,
  name = path.basename(file),
): Promise<string> {
  if (kind === 'full') {
    const listed = await runTool(toolPath('pg_restore', env), ['--list', file], {}, { keepStdout: true });
    if (listed.code !== 0)
      throw new BackupError(`dump ${name} does not verify (pg_restore --list): ${listed.stderr.trim()}`);
    return listed.stdout;
  }
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, 'r');
  const tail = Buffer.alloc(Math.min(size, 512));
  fs.readSync(fd, tail, 0, tail.length, size - tail.length);
  fs.closeSync(fd);
  if (!tail.toString('utf8').includes('PostgreSQL database dump complete')) {
    throw new BackupError(`dump ${name} is incomplete (no "PostgreSQL database dump complete" line)`);
  }
  return '';
}

/** An incomplete multipart upload of ours older than this is a dead run's (a 500 MB dump uploads in seconds). */
export const STALE_UPLOAD_MS = 60 * 60_000;

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
export function writeFileAtomic(file: string, content: string): void {
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
 * With a bucket: the volume's dump is copied there (object, then manifest object), or without a volume
 * the dump streams there from the packer; then the bucket's own retention and stale uploads.
 */
export async function backup(
  target: BackupTarget,
  kind: DumpKind,
  opts: { keep: KeepPolicy; dryRun: boolean; now?: Date; jobs?: number; staleUploadMs?: number },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<BackupSummary> {
  const started = Date.now();
  const now = opts.now ?? new Date();
  const problem = policyProblem(opts.keep);
  if (problem) throw new BackupError(problem); // before dumping: an empty policy is a mistake, not "keep one"
  if (!target.dir && !target.s3) throw new BackupError('no destination: give a directory, a bucket, or both');
  const store = target.s3 ? new ObjectStore(target.s3.location, target.s3.settings) : null;
  try {
    // Before dumping: a store that cannot be reached or refuses us fails the run now, not after pg_dump.
    const inBucket = store
      ? (await store.list(serviceKeyPrefix(store.location, target.service))).map((o) => o.name)
      : [];
    // Parsed once: pg's settings and pg_dump's environment come from the same reading of the URL.
    const db = fromSource({ url: target.databaseUrl, variable: target.urlVariable });
    const info = await describeDatabase(db.settings);
    const pgDump = async (args: string[]) => {
      const dumped = await runTool(
        toolPath('pg_dump', env),
        [...DUMP_FLAGS[kind], ...args, '--no-owner', '--no-privileges'],
        db.libpq,
      );
      if (dumped.code !== 0) throw new BackupError(`pg_dump failed for ${target.service}: ${dumped.stderr.trim()}`);
    };
    const manifestText = (file: string, sha256: string, bytes: number, rowCounts?: RowCounts) => {
      const manifest: Manifest = {
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
        ...(rowCounts ? { rowCounts } : {}),
      };
      return `${JSON.stringify(manifest, null, 2)}\n`;
    };
    const candidates = candidateDumpNames(target.service, now, kind, NAME_ATTEMPTS);
    const written = target.dir
      ? await backupToVolume(target.dir, target.service, kind, candidates, opts.jobs, pgDump, manifestText, env, log)
      : null;
    let name = written?.name;
    let bytes = written?.bytes ?? 0;
    if (store) {
      const folder = serviceKeyPrefix(store.location, target.service);
      if (written) {
        await uploadDumpFile(store, folder + written.name, written.file, written, written.manifest, log);
      } else {
        const taken = new Set(inBucket);
        name = candidates.find((c) => !taken.has(c) && !taken.has(manifestName(c)));
        if (!name)
          throw new BackupError(
            `no free dump name in ${s3Url(store.location, folder)} from ${candidates[0]} to ${candidates.at(-1)}`,
          );
        bytes = await backupToBucket(store, folder + name, kind, opts.jobs, pgDump, manifestText, env, log);
      }
      log.info({ service: target.service, object: s3Url(store.location, folder + name) }, 'dump and manifest uploaded');
    }

    let kept = 0;
    let deleted: string[] = [];
    if (target.dir) {
      const dir = path.join(target.dir, target.service);
      ({ kept, deleted } = applyRetention(dir, target.service, kind, opts, name!, log));
      removeStaleTemporaries(dir, now, opts.dryRun, log);
    }
    let bucket: BackupSummary['bucket'];
    if (store) {
      const folder = serviceKeyPrefix(store.location, target.service);
      const applied = await applyBucketRetention(store, target.service, kind, opts, name!, log);
      if (applied.future.length > 0)
        warnFuture(
          log,
          applied.future.map((n) => ({ name: n })),
          s3Url(store.location, folder),
        );
      await abortStaleUploads(
        store,
        target.service,
        opts.staleUploadMs ?? STALE_UPLOAD_MS,
        new Date(),
        opts.dryRun,
        log,
      );
      bucket = { object: s3Url(store.location, folder + name), kept: applied.kept, deleted: applied.deleted };
      if (!target.dir) ({ kept, deleted } = applied);
    }
    const summary: BackupSummary = {
      service: target.service,
      file: name!,
      bytes,
      seconds: (Date.now() - started) / 1000,
      kept,
      deleted,
      ...(bucket ? { bucket } : {}),
    };
    log.info({ ...summary, dryRun: opts.dryRun }, 'backup finished');
    return summary;
  } finally {
    store?.destroy();
  }
}

type PgDump = (args: string[]) => Promise<void>;
type ManifestText = (file: string, sha256: string, bytes: number, rowCounts?: RowCounts) => string;

/** The volume's part of a run (dump to a temporary name, verify, publish with its manifest). */
async function backupToVolume(
  root: string,
  service: string,
  kind: DumpKind,
  candidates: string[],
  jobs: number | undefined,
  pgDump: PgDump,
  manifestText: ManifestText,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<{ name: string; file: string; bytes: number; sha256: string; manifest: string }> {
  ensurePrivateDir(root);
  const dir = path.join(root, service);
  ensurePrivateDir(dir);
  const temp = tempPathFor(dir, candidates[0]!);
  try {
    createPrivateFile(temp); // pg_dump (or the packer) writes into it and keeps the mode
    let sha256: string;
    let rowCounts: RowCounts | undefined;
    if (kind === 'full') {
      ({ sha256, rowCounts } = await dumpDirectoryInto(
        temp,
        dir,
        candidates[0]!,
        jobs ?? DEFAULT_DUMP_JOBS,
        pgDump,
        env,
      ));
    } else {
      await pgDump([`--file=${temp}`]);
      // Verifying and hashing read the same file: do both at once.
      [, sha256] = await Promise.all([verifyDump(temp, kind, env), sha256File(temp)]);
    }
    fsyncPath(temp);
    const bytes = fs.statSync(temp).size;
    let manifest = '';
    const name = publishDump(
      dir,
      temp,
      candidates,
      (file) => (manifest = manifestText(file, sha256, bytes, rowCounts)),
    );
    log.info({ service, file: name, bytes, sha256 }, 'dump written and verified');
    return { name, file: path.join(dir, name), bytes, sha256, manifest };
  } finally {
    fs.rmSync(temp, { force: true }); // only ours: the name carries host, pid and random bytes
  }
}

/**
 * The bucket-only part of a run: pg_dump into a private folder under TMPDIR (the directory format
 * needs one; removed at the end), then a full dump is packed straight into the upload; SQL dumps are
 * verified there first, then uploaded. The manifest object is written last. Returns the bytes stored.
 */
async function backupToBucket(
  store: ObjectStore,
  key: string,
  kind: DumpKind,
  jobs: number | undefined,
  pgDump: PgDump,
  manifestText: ManifestText,
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<number> {
  const name = path.basename(key);
  const spool = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-backup-')); // 0700
  try {
    let sha256: string;
    let bytes: number;
    if (kind === 'full') {
      const raw = path.join(spool, 'dump');
      await pgDump([`--jobs=${jobs ?? DEFAULT_DUMP_JOBS}`, `--file=${raw}`]);
      const rowCounts = await dumpRowCounts(raw, await verifyDump(raw, 'full', env, name));
      ({ sha256, bytes } = await packToBucket(store, key, raw, log));
      await writeManifest(store, key, manifestText(name, sha256, bytes, rowCounts), log);
    } else {
      const file = path.join(spool, name);
      await pgDump([`--file=${file}`]);
      [, sha256] = await Promise.all([verifyDump(file, kind, env, name), sha256File(file)]);
      bytes = fs.statSync(file).size;
      await uploadDumpFile(store, key, file, { sha256, bytes }, manifestText(name, sha256, bytes), log);
    }
    log.info({ object: s3Url(store.location, key), bytes, sha256 }, 'dump streamed to the bucket and verified');
    return bytes;
  } finally {
    fs.rmSync(spool, { recursive: true, force: true });
  }
}

/**
 * A full dump: pg_dump's directory format into a private temporary directory beside the dump (about
 * 4x the final file, removed before returning), its table of contents read back by pg_restore --list
 * and its rows counted per table, then packed into `file` and checked while written (packDirectory).
 */
async function dumpDirectoryInto(
  file: string,
  dir: string,
  finalName: string,
  jobs: number,
  pgDump: (args: string[]) => Promise<void>,
  env: NodeJS.ProcessEnv,
): Promise<{ sha256: string; bytes: number; rowCounts: RowCounts }> {
  const raw = tempPathFor(dir, `${finalName}.d`);
  fs.mkdirSync(raw, { mode: DIR_MODE });
  try {
    await pgDump([`--jobs=${jobs}`, `--file=${raw}`]);
    const rowCounts = await dumpRowCounts(raw, await verifyDump(raw, 'full', env, finalName));
    return { ...(await packDirectory(raw, file)), rowCounts };
  } finally {
    fs.rmSync(raw, { recursive: true, force: true });
  }
}

/** Completed dumps (final name and manifest) of one kind in a service's directory. */
export function listDumps(dir: string, service: string, kind: DumpKind): { name: string; time: Date }[] {
  return completedDumps(fs.readdirSync(dir), service, kind);
}

/**
 * Deletes what the policy drops among this kind's completed dumps. Dumps dated in the future are
 * reported and left alone (neither counted nor deleted), and the dump this run wrote is never deleted.
 */
export function applyRetention(
  dir: string,
  service: string,
  kind: DumpKind,
  opts: { keep: KeepPolicy; dryRun: boolean },
  justWritten: string,
  log: Logger,
): { kept: number; deleted: string[] } {
  const { current, future, deleted } = retentionDeletions(
    listDumps(dir, service, kind),
    opts.keep,
    justWritten,
    new Date(),
  );
  if (future.length > 0) warnFuture(log, future, dir);
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
