import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fromSource, type UrlSource } from '@webrana/db';
import { SERVICES, type ServiceSpec } from '@webrana/registry';
import { backup, BackupError, DEFAULT_DUMP_JOBS, warnFuture, type BackupSummary } from '../backup/backup';
import { parseDumpFileName, type DumpKind } from '../backup/names';
import { latestDump, restore, restoreFromBucket, type RestoreTarget } from '../backup/restore';
import { databaseNameProblem, intoDatabase } from '../backup/target';
import { latestBucketDump } from '../backup/bucket';
import { ObjectStore, parseS3Url, s3Settings, S3Error, s3Url, type S3Location, type S3Settings } from '../backup/s3';
import { STALE_UPLOAD_MS } from '../backup/backup';
import { DEFAULT_KEEP, planRetention, policyProblem, type KeepPolicy } from '../backup/retention';
import { LOCK_TIMEOUT_DEFAULT_MS, lockTimeoutProblem } from '../backup/limits';
import { databaseUrlFor, parseDuration, requireService, UsageError } from './common';
import type { CommandIO } from './migrate';

export const BACKUP_USAGE = `usage: webrana-jobs backup (--dir=PATH | --s3-url=s3://BUCKET/PREFIX | both) [--service=NAME] [options]

Dumps each service's database (or the one --service names) to <dir>/<service>/<service>-<UTC time>.tar.zst:
pg_dump's directory format (--jobs in parallel, uncompressed) in a temporary folder beside it (about 4x
the final file, removed at the end), listed by pg_restore, then packed by tar and zstd into one file that
is decompressed and listed while written (needs tar and zstd on PATH). Then it fsyncs it, writes
<file>.json beside it (service, database, server version, migration head, bytes, sha256, duration),
then applies retention to that kind of dump. A failed dump deletes nothing and leaves no file under a final name. Files are 0600 in
0700 folders. A run whose second is taken by another run uses the next free second.

  --service=NAME         auth-service, catalog-service, order-service or billing-service (default: all
                         four, one after the other; a failing one never skips the others: each failure
                         is reported and the exit status is 1 at the end)
  --dir=PATH             destination root (in Kubernetes, the mounted backup volume)
  --s3-url=URL           s3://BUCKET/PREFIX (default: $BACKUP_S3_URL): dumps go to PREFIX/<service>/ in the
                         bucket, with the same names, manifests and retention as on a volume. Without
                         --dir, pg_dump writes its folder under $TMPDIR and the archive streams from the
                         packer into a multipart upload (no local copy of it); with --dir, the volume's
                         verified dump is uploaded, hashed again while read. The manifest object is
                         written last: an object without one never counts and is never deleted by
                         retention. Objects under the prefix that are not our dump names are never touched.
                         Incomplete multipart uploads of our names older than --s3-stale-upload are
                         aborted (a run killed mid-upload leaves one).
                         Store settings, from the standard variables: AWS_ENDPOINT_URL (or
                         AWS_ENDPOINT_URL_S3; unset: AWS S3), AWS_REGION (or AWS_DEFAULT_REGION; default
                         us-east-1), AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN; unset:
                         the SDK's default chain, e.g. web identity), AWS_S3_FORCE_PATH_STYLE=true for
                         path-style URLs (most self-hosted stores), BACKUP_S3_SSE=AES256|aws:kms and
                         BACKUP_S3_SSE_KMS_KEY_ID for server-side encryption. Credentials are never logged.
  --s3-stale-upload=DUR  age of an incomplete upload that counts as abandoned (default 60m)
  --jobs=N               parallel pg_dump jobs for full dumps (default 2; each is a connection, plus one)
  --database-url=URL     default: the service's variable (AUTH_DATABASE_URL, ...), then DATABASE_URL
                         (only with --service; a run over all four reads only their own variables)
                         (a URL given here is visible to other users in the process list; prefer the variables)
  --schema-only          plain SQL of the schema (<service>-<time>-schema.sql)
  --data-only            plain SQL of the data (<service>-<time>-data.sql)
  --keep-daily=N         newest dump of each of the last N UTC days that have one (default 7)
  --keep-weekly=N        ... of each of the last N ISO weeks (default 4)
  --keep-monthly=N       ... of each of the last N months (default 12)
                         (restic forget's rules: the oldest dump is also kept while a count is left;
                         all three 0 is refused)
  --dry-run              dump, but only print what retention would delete
  --termination-log=PATH after a successful run, write its summary there as one JSON line (with
                         --service an object, else an array with one object per service dumped):
                         service, kind, file (name only), bytes, durationSeconds, startedAt,
                         finishedAt, kept, deleted (a count); never a URL or secret; at most 4096
                         bytes. In Kubernetes: the container's terminationMessagePath, which the
                         kubelet copies into the pod status (the operator's metrics read it there)
  -h, --help             this text

Retention never deletes the dump the run just wrote. Dumps dated more than 5 minutes in the future
are reported and left alone (neither counted nor deleted). The last log line is a JSON summary:
service, file, bytes, seconds, kept, deleted.

Full dumps' manifests also hold each table's row count (counted in the dump's own COPY data) for
restore drills: "webrana-jobs backup verify --help".
`;

export const RESTORE_USAGE = `usage: webrana-jobs restore --service=NAME (--file=PATH|s3://... | --latest (--dir=PATH | --s3-url=URL)) [options]

Checks the dump against its manifest (sha256), unpacks a .tar.zst under $TMPDIR (about 4x the file,
removed afterwards) and reads it before touching the database, then restores: full dumps (.tar.zst, and
the earlier custom-format .dump) with pg_restore --clean --if-exists (one transaction unless --jobs),
SQL files with psql -v ON_ERROR_STOP=1 in one transaction. Refused unless --force: a dump of another
service than the target database's (manifest, the ledger inside the dump and the database's ledger
are compared), and a dump older than the database's newest migration. Every lock is waited for at
most --lock-timeout; a restore that cannot get one fails naming the session that holds it.

  --service=NAME         the service whose database receives the dump
  --file=PATH            the dump to restore
  --file=s3://BUCKET/KEY an object in a bucket, with its manifest object KEY.json beside it
  --latest --dir=PATH    the newest completed full dump under PATH/<service>/
  --latest --s3-url=URL  the newest completed full dump under s3://BUCKET/PREFIX/<service>/ (default:
                         $BACKUP_S3_URL). An object is read once, streaming: a .tar.zst is unpacked under
                         $TMPDIR as it downloads, other dumps are spooled there; it is hashed on the way
                         and refused unless sha256 and size are its manifest's, before the database is
                         touched. Store settings: the AWS variables listed in "backup --help"
  --database-url=URL     default: the service's variable, then DATABASE_URL
                         (a URL given here is visible to other users in the process list; prefer the variables)
  --jobs=N               parallel pg_restore jobs (default 1: a single transaction); refused when the
                         server has fewer free connections than N + 1
  --lock-timeout=DUR     longest wait for each lock, 100ms to 60m (default 30s)
  --force                restore even a dump older than the database's schema, or one that looks
                         like another service's
  --into-database=NAME   restore into database NAME on the same server, with the same credentials,
                         instead of the URL's own database; created when missing (the role needs
                         CREATEDB). The service's database is not touched
  --termination-log=PATH after a successful restore, write one JSON line there: service, file (name
                         only), database (name only), bytes, durationSeconds, startedAt, finishedAt;
                         never a URL or secret (the WebranaRestore's Job reports it in its status)
  -h, --help             this text
`;

export const RETENTION_USAGE = `usage: webrana-jobs retention plan [--keep-daily=N] [--keep-weekly=N] [--keep-monthly=N]

Reads lines on stdin, each an ISO-8601 UTC time (2026-03-01T02:00:00Z) or a dump file name of this
project, and prints {"keep":[...],"delete":[...]} with the lines as given (restic forget's rules; all
three counts 0 is refused). Touches no file.
`;

const KEEP_OPTIONS = {
  'keep-daily': { type: 'string' },
  'keep-weekly': { type: 'string' },
  'keep-monthly': { type: 'string' },
} as const;

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} takes a whole number (0 or more); got "${value}"`);
  return Number(value);
}

/** The --keep-* policy; an all-zero one is refused here, before anything is dumped or deleted. */
function keepPolicy(values: Partial<Record<keyof typeof KEEP_OPTIONS, string>>): KeepPolicy {
  const keep = {
    daily: count(values['keep-daily'], 'keep-daily', DEFAULT_KEEP.daily),
    weekly: count(values['keep-weekly'], 'keep-weekly', DEFAULT_KEEP.weekly),
    monthly: count(values['keep-monthly'], 'keep-monthly', DEFAULT_KEEP.monthly),
  };
  const problem = policyProblem(keep);
  if (problem) throw new UsageError(problem);
  return keep;
}

/**
 * A finished backup as the termination message carries it: what the operator's metrics need, and
 * nothing that could hold a secret (no URL, no path outside the dump's own name). Pure.
 */
export interface TerminationSummary {
  service: string;
  kind: DumpKind;
  file: string;
  bytes: number;
  durationSeconds: number;
  startedAt: string;
  finishedAt: string;
  kept: number;
  deleted: number;
}

export function terminationSummary(
  summary: BackupSummary,
  kind: DumpKind,
  startedAt: Date,
  finishedAt: Date,
): TerminationSummary {
  return {
    service: summary.service,
    kind,
    file: summary.file.split('/').pop() ?? summary.file,
    bytes: summary.bytes,
    durationSeconds: Math.round(summary.seconds * 1000) / 1000,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    kept: summary.kept,
    deleted: summary.deleted.length,
  };
}

/** The kubelet reads at most this many bytes of a termination message. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096;

/** The termination message text: one JSON line, within the kubelet's limit (fields dropped from the end if ever needed). */
export function terminationMessage(summaries: readonly TerminationSummary[], single: boolean): string {
  const text = `${JSON.stringify(single ? summaries[0] : summaries)}\n`;
  if (Buffer.byteLength(text) <= TERMINATION_MESSAGE_MAX_BYTES) return text;
  // Only a run over many services could get here: keep the numbers, drop the names of the files.
  const slim = summaries.map(({ file: _file, ...rest }) => rest);
  return `${JSON.stringify(single ? slim[0] : slim)}\n`.slice(0, TERMINATION_MESSAGE_MAX_BYTES);
}

export async function backupCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      service: { type: 'string' },
      dir: { type: 'string' },
      's3-url': { type: 'string' },
      's3-stale-upload': { type: 'string' },
      'database-url': { type: 'string' },
      'schema-only': { type: 'boolean', default: false },
      'data-only': { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      'termination-log': { type: 'string' },
      jobs: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...KEEP_OPTIONS,
    },
  });
  if (values.help) return (io.out(BACKUP_USAGE), 0);
  if (values['termination-log'] === '') throw new UsageError('--termination-log needs a PATH');
  const s3 = bucketDestination(values['s3-url'], io.env);
  if (!values.dir && !s3)
    throw new UsageError(
      'give --dir=PATH, --s3-url=s3://BUCKET/PREFIX (or BACKUP_S3_URL), or both: where dumps are written',
    );
  const staleUploadMs =
    values['s3-stale-upload'] === undefined
      ? STALE_UPLOAD_MS
      : parseDuration(values['s3-stale-upload'], 's3-stale-upload');
  if (values['schema-only'] && values['data-only'])
    throw new UsageError('--schema-only and --data-only exclude each other');
  const keep = keepPolicy(values);
  const jobs = positiveJobs(values.jobs, DEFAULT_DUMP_JOBS, '');
  const kind: DumpKind = values['schema-only'] ? 'schema' : values['data-only'] ? 'data' : 'full';
  const done: TerminationSummary[] = [];
  const backupOne = async (service: ServiceSpec, source: UrlSource) => {
    const startedAt = new Date();
    const summary = await backup(
      { service: service.name, databaseUrl: source.url, urlVariable: source.variable, dir: values.dir, s3 },
      kind,
      { keep, dryRun: values['dry-run'], jobs, staleUploadMs },
      io.env,
      io.log,
    );
    done.push(terminationSummary(summary, kind, startedAt, new Date()));
  };
  const writeTerminationLog = (single: boolean) => {
    const file = values['termination-log'];
    if (!file || done.length === 0) return;
    try {
      fs.writeFileSync(file, terminationMessage(done, single));
    } catch (error) {
      // The dump is good; only the report is lost (the operator then has the Job's own completion time).
      io.log.warn({ file, err: { message: (error as Error).message } }, 'could not write the termination message');
    }
  };
  if (values.service) {
    const service = requireService(values.service);
    await backupOne(service, databaseUrlFor(service, values['database-url'], io.env));
    writeTerminationLog(true);
    return 0;
  }
  if (values['database-url'])
    throw new UsageError('--database-url needs --service (each service has its own database)');
  const code = await backupAll(backupOne, io);
  // A run with a failure exits 1: the kubelet then shows the log tail (FallbackToLogsOnError) only
  // when the file is empty, so the file is written for a fully successful run alone.
  if (code === 0) writeTerminationLog(false);
  return code;
}

/** The bucket from --s3-url or BACKUP_S3_URL with the store's settings from the AWS variables; undefined without one. */
export function bucketDestination(
  url: string | undefined,
  env: NodeJS.ProcessEnv,
): { location: S3Location; settings: S3Settings } | undefined {
  const given = url ?? (env.BACKUP_S3_URL || undefined);
  if (given === undefined) return undefined;
  try {
    return { location: parseS3Url(given), settings: s3Settings(env) };
  } catch (error) {
    if (error instanceof S3Error) throw new UsageError(error.message);
    throw error;
  }
}

/** What a one-service run would have exited with, for the report of a failed service. */
const exitCodeOf = (error: unknown) => (error instanceof UsageError ? 2 : 1);

/** Every service in turn: a failure is reported and never skips the others; exit 1 at the end if any failed. */
async function backupAll(
  backupOne: (service: ServiceSpec, source: UrlSource) => Promise<void>,
  io: CommandIO,
): Promise<number> {
  const program = io.program ?? 'webrana-jobs';
  const err = io.err ?? io.out;
  const failed: string[] = [];
  for (const service of SERVICES) {
    try {
      await backupOne(service, databaseUrlFor(service, undefined, io.env, false));
    } catch (error) {
      const message = (error as Error).message;
      io.log.error({ service: service.name, err: { message } }, `backup of ${service.name} failed`);
      err(`${program}: ${message}\n`);
      err(`${program}: backup of ${service.name} failed (exit ${exitCodeOf(error)}); continuing with the others\n`);
      failed.push(service.name);
    }
  }
  if (failed.length === 0) return 0;
  err(
    `${program}: ${failed.length} of ${SERVICES.length} backups failed: ${failed.join(' ')} (see the errors above)\n`,
  );
  return 1;
}

/** --jobs: a positive whole number (whether the server can take that many is checked on connecting). */
export function positiveJobs(value: string | undefined, fallback: number, hint: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--jobs takes a positive whole number${hint}; got "${value}"`);
  return Number(value);
}

export async function restoreCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      service: { type: 'string' },
      file: { type: 'string' },
      latest: { type: 'boolean', default: false },
      dir: { type: 'string' },
      's3-url': { type: 'string' },
      'database-url': { type: 'string' },
      jobs: { type: 'string' },
      'lock-timeout': { type: 'string' },
      force: { type: 'boolean', default: false },
      'into-database': { type: 'string' },
      'termination-log': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (io.out(RESTORE_USAGE), 0);
  if (values['termination-log'] === '') throw new UsageError('--termination-log needs a PATH');
  const intoProblem = values['into-database'] === undefined ? null : databaseNameProblem(values['into-database']);
  if (intoProblem) throw new UsageError(intoProblem);
  const service = requireService(values.service);
  if (Boolean(values.file) === values.latest)
    throw new UsageError('give either --file=PATH (or s3://BUCKET/KEY) or --latest with --dir=PATH or --s3-url=URL');
  const fromBucket = values.file?.startsWith('s3://') || (values.latest && !values.dir);
  if (values.latest && values.dir && values['s3-url'])
    throw new UsageError('--latest takes --dir=PATH or --s3-url=URL, not both');
  const bucket = fromBucket ? bucketDestination(values.file ?? values['s3-url'], io.env) : undefined;
  if (values.latest && !values.dir && !bucket) throw new UsageError('--latest needs --dir=PATH or --s3-url=URL');
  const jobs = positiveJobs(values.jobs, 1, ' (1 = one transaction)');
  const lockTimeoutMs =
    values['lock-timeout'] === undefined
      ? LOCK_TIMEOUT_DEFAULT_MS
      : parseDuration(values['lock-timeout'], 'lock-timeout');
  const timeoutProblem = lockTimeoutProblem(lockTimeoutMs);
  if (timeoutProblem) throw new UsageError(timeoutProblem);
  const { url, variable } = databaseUrlFor(service, values['database-url'], io.env);
  const given: RestoreTarget = { service: service.name, databaseUrl: url, urlVariable: variable };
  // A new database is created once the dump is found (not for a run that fails to find one).
  const into = values['into-database'];
  const targetDatabase = () => (into ? intoDatabase(given, into, io.log) : Promise.resolve(given));
  const startedAt = new Date();
  const report = (restoreTarget: typeof given, summary: { file: string; bytes: number }) =>
    writeRestoreTerminationLog(values['termination-log'], restoreTarget, summary, startedAt, io);
  if (bucket) {
    const store = new ObjectStore(bucket.location, bucket.settings);
    try {
      let key = bucket.location.prefix;
      if (values.latest) {
        const latest = await latestBucketDump(store, service.name, { skipFailedDrills: true });
        if (latest.future.length > 0)
          warnFuture(
            io.log,
            latest.future.map((name) => ({ name })),
            s3Url(bucket.location),
          );
        warnFailedDrills(io.log, latest.failedDrills);
        key = latest.key;
      }
      const restoreTarget = await targetDatabase();
      report(
        restoreTarget,
        await restoreFromBucket(
          restoreTarget,
          store,
          key,
          { jobs, force: values.force, lockTimeoutMs },
          io.env,
          io.log,
        ),
      );
    } finally {
      store.destroy();
    }
    return 0;
  }
  let file = values.file;
  if (!file) {
    const latest = latestDump(values.dir!, service.name, { skipFailedDrills: true });
    if (latest.future.length > 0)
      warnFuture(
        io.log,
        latest.future.map((name) => ({ name })),
        values.dir!,
      );
    warnFailedDrills(io.log, latest.failedDrills);
    file = latest.file;
  }
  if (!fs.existsSync(file)) throw new BackupError(`dump file not found: ${file}`);
  const restoreTarget = await targetDatabase();
  report(
    restoreTarget,
    await restore(restoreTarget, file, { jobs, force: values.force, lockTimeoutMs }, io.env, io.log),
  );
  return 0;
}

/** A finished restore as its termination message carries it: names and numbers only, never a URL. */
export interface RestoreTerminationSummary {
  service: string;
  file: string;
  database: string;
  bytes: number;
  durationSeconds: number;
  startedAt: string;
  finishedAt: string;
}

function writeRestoreTerminationLog(
  file: string | undefined,
  target: RestoreTarget,
  summary: { file: string; bytes: number },
  startedAt: Date,
  io: CommandIO,
): void {
  if (!file) return;
  const finishedAt = new Date();
  const line: RestoreTerminationSummary = {
    service: target.service,
    file: summary.file.split('/').pop() ?? summary.file,
    database: fromSource({ url: target.databaseUrl, variable: target.urlVariable }).settings.database,
    bytes: summary.bytes,
    durationSeconds: Math.round(finishedAt.getTime() - startedAt.getTime()) / 1000,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
  };
  try {
    fs.writeFileSync(file, `${JSON.stringify(line)}\n`);
  } catch (error) {
    // The database is restored; only the report is lost.
    io.log.warn({ file, err: { message: (error as Error).message } }, 'could not write the termination message');
  }
}

/** restore --latest passed over newer dumps that failed a restore drill: say which, and what it took instead. */
function warnFailedDrills(log: CommandIO['log'], names: readonly string[]): void {
  if (names.length === 0) return;
  log.warn(
    { files: names },
    `passed over ${names.length} newer dump(s) that failed a restore drill (${names.join(', ')}): ` +
      'their manifests carry drillFailure; restore one with --file only if you know why',
  );
}

/** A line of `retention plan` input: an ISO-8601 UTC time or a dump file name. */
export function timeOfLine(line: string): Date | null {
  const fromName = parseDumpFileName(line.trim());
  if (fromName) return fromName.time;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$/.test(line.trim())) return null;
  const time = new Date(line.trim());
  return Number.isNaN(time.getTime()) ? null : time;
}

export async function retentionCommand(args: string[], io: CommandIO, stdin: NodeJS.ReadableStream): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { ...KEEP_OPTIONS, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return (io.out(RETENTION_USAGE), 0);
  if (positionals[0] !== 'plan') throw new UsageError('the retention command is "retention plan"');
  const keep = keepPolicy(values);
  let input = '';
  for await (const chunk of stdin) input += chunk.toString();
  const lines = input.split('\n').filter((l) => l.trim() !== '');
  const dated = lines.map((line, i) => {
    const time = timeOfLine(line);
    if (!time)
      throw new UsageError(
        `line ${i + 1} is neither an ISO-8601 UTC time (2026-03-01T02:00:00Z) nor a dump file name: "${line}"`,
      );
    return { item: line, time };
  });
  io.out(`${JSON.stringify(planRetention(dated, keep))}\n`);
  return 0;
}
