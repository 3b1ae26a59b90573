import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { warnFuture } from '../backup/backup';
import { latestBucketDump } from '../backup/bucket';
import { drill, type DrillResult, type DrillSource } from '../backup/drill';
import { LOCK_TIMEOUT_DEFAULT_MS, lockTimeoutProblem } from '../backup/limits';
import { latestDump } from '../backup/restore';
import { ObjectStore, s3Url } from '../backup/s3';
import { bucketDestination, positiveJobs, TERMINATION_MESSAGE_MAX_BYTES } from './backup';
import { databaseUrlFor, parseDuration, requireService, UsageError } from './common';
import type { CommandIO } from './migrate';

export const VERIFY_USAGE = `usage: webrana-jobs backup verify --service=NAME (--file=PATH|s3://... | --latest (--dir=PATH | --s3-url=URL)) [options]

A restore drill: restores the dump, by restore's own code path and checks (sha256, unpacking, the
ledger inside the dump), into a scratch database on the same server as the service's database
(<database>_drill_<UTC time>_<random>, created with the same credentials: the role needs CREATEDB),
then compares the restored migration head and every table's row count with the dump's manifest, and
drops the scratch database, also when the drill fails or gets SIGTERM/SIGINT. A scratch database left
by a drill that was killed (no session in it any more) is dropped by the next drill of that database.
The service's own database is only read from (to connect).

The outcome goes into the dump's manifest, written whole under a new name and renamed (in a bucket:
a new manifest object): "verifiedAt" when the drill passed, "drillFailure" (time and problems) when
it failed. restore --latest never picks a dump with a drillFailure; a drill --latest always takes the
newest dump, so a bad newest dump keeps failing until a good backup follows it. A drill that could
not run (server unreachable, no CREATEDB, a dump file this machine cannot read, stopped) marks
nothing; a restore that fails while the server still answers marks the dump. Manifests written before drills
have no row counts: their drill checks the migration head only (and says so in the log).

  --service=NAME         whose dump and database server (auth-service, catalog-service, ...)
  --file=PATH            the dump to drill (.tar.zst, or an earlier custom-format .dump)
  --file=s3://BUCKET/KEY an object in a bucket, with its manifest object KEY.json beside it
  --latest --dir=PATH    the newest completed full dump under PATH/<service>/
  --latest --s3-url=URL  the newest completed full dump under s3://BUCKET/PREFIX/<service>/ (default:
                         $BACKUP_S3_URL; store settings: the AWS variables listed in "backup --help")
  --database-url=URL     default: the service's variable, then DATABASE_URL (only its server and
                         credentials are used; a URL given here is visible in the process list)
  --jobs=N               parallel pg_restore jobs (default 1)
  --lock-timeout=DUR     longest wait for each lock, 100ms to 60m (default 30s)
  --termination-log=PATH write the outcome there as one JSON line, passed or not: service, file
                         (name only), dumpCreatedAt, passed, recorded (the manifest says so),
                         migrationHead, tables, rows, problems, durationSeconds, startedAt,
                         finishedAt; or, when the drill could not run, passed false and "error".
                         Never a URL or secret; at most 4096 bytes. In Kubernetes: the container's
                         terminationMessagePath (the operator reads it from the pod status)
  -h, --help             this text

Exit status: 0 the drill passed, 1 it failed (the dump is marked) or could not run (see "error").
`;

/** A drill's outcome as the termination message carries it (the operator's condition and metric). */
export type DrillTermination =
  | (Omit<DrillResult, 'seconds' | 'scratchDatabase'> & {
      durationSeconds: number;
      startedAt: string;
      finishedAt: string;
    })
  | { service: string; file?: string; passed: false; error: string; startedAt: string; finishedAt: string };

/** Anything that looks like a URL (a database's, even redacted) is left out of reports. Pure. */
export const withoutUrls = (text: string): string => text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>');

/** The termination message text: one JSON line within the kubelet's limit (problems shortened if need be). Pure. */
export function drillTerminationMessage(report: DrillTermination): string {
  const clean =
    'error' in report
      ? { ...report, error: withoutUrls(report.error).slice(0, 1000) }
      : { ...report, problems: report.problems.map(withoutUrls) };
  let text = `${JSON.stringify(clean)}\n`;
  for (let keep = 10, width = 400; Buffer.byteLength(text) > TERMINATION_MESSAGE_MAX_BYTES && 'problems' in clean;) {
    const problems = clean.problems.slice(0, keep).map((p) => p.slice(0, width));
    if (clean.problems.length > keep) problems.push(`... and ${clean.problems.length - keep} more`);
    text = `${JSON.stringify({ ...clean, problems })}\n`;
    [keep, width] = [Math.max(1, keep - 2), Math.max(80, width - 80)];
    if (keep === 1 && width === 80) break;
  }
  return text.slice(0, TERMINATION_MESSAGE_MAX_BYTES);
}

export async function verifyCommand(args: string[], io: CommandIO): Promise<number> {
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
      'termination-log': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (io.out(VERIFY_USAGE), 0);
  if (values['termination-log'] === '') throw new UsageError('--termination-log needs a PATH');
  const service = requireService(values.service);
  if (Boolean(values.file) === values.latest)
    throw new UsageError('give either --file=PATH (or s3://BUCKET/KEY) or --latest with --dir=PATH or --s3-url=URL');
  if (values.latest && values.dir && values['s3-url'])
    throw new UsageError('--latest takes --dir=PATH or --s3-url=URL, not both');
  if (values.file && (values.dir || values['s3-url']))
    throw new UsageError('--file names the dump itself: leave out --dir and --s3-url');
  const fromBucket = values.file?.startsWith('s3://') || (values.latest && !values.dir);
  const bucket = fromBucket ? bucketDestination(values.file ?? values['s3-url'], io.env) : undefined;
  if (values.latest && !values.dir && !bucket) throw new UsageError('--latest needs --dir=PATH or --s3-url=URL');
  const jobs = positiveJobs(values.jobs, 1, '');
  const lockTimeoutMs =
    values['lock-timeout'] === undefined
      ? LOCK_TIMEOUT_DEFAULT_MS
      : parseDuration(values['lock-timeout'], 'lock-timeout');
  const timeoutProblem = lockTimeoutProblem(lockTimeoutMs);
  if (timeoutProblem) throw new UsageError(timeoutProblem);
  const { url, variable } = databaseUrlFor(service, values['database-url'], io.env);
  const target = { service: service.name, databaseUrl: url, urlVariable: variable };

  const startedAt = new Date();
  const report = (outcome: DrillTermination) => {
    const file = values['termination-log'];
    if (!file) return;
    try {
      fs.writeFileSync(file, drillTerminationMessage(outcome));
    } catch (error) {
      io.log.warn({ file, err: { message: (error as Error).message } }, 'could not write the termination message');
    }
  };
  // SIGTERM (a Job deleted, a node drained) and SIGINT stop the drill, which then drops its scratch database.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const store = bucket ? new ObjectStore(bucket.location, bucket.settings) : null;
  let dumpName: string | undefined;
  try {
    let source: DrillSource;
    if (store) {
      let key = bucket!.location.prefix;
      if (values.latest) {
        const latest = await latestBucketDump(store, service.name, { skipFailedDrills: false });
        if (latest.future.length > 0)
          warnFuture(
            io.log,
            latest.future.map((name) => ({ name })),
            s3Url(store.location),
          );
        key = latest.key;
      }
      source = { store, key };
    } else if (values.file) {
      if (!fs.existsSync(values.file)) throw new UsageError(`dump file not found: ${values.file}`);
      source = { file: values.file };
    } else {
      const latest = latestDump(values.dir!, service.name, { skipFailedDrills: false });
      if (latest.future.length > 0)
        warnFuture(
          io.log,
          latest.future.map((name) => ({ name })),
          values.dir!,
        );
      source = { file: latest.file };
    }
    dumpName = ('file' in source ? source.file : source.key).split('/').pop();
    const {
      seconds,
      scratchDatabase: _scratch,
      ...result
    } = await drill(target, source, { jobs, lockTimeoutMs, signal: stop.signal }, io.env, io.log);
    report({
      ...result,
      durationSeconds: Math.round(seconds * 1000) / 1000,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    });
    if (!result.passed)
      io.err?.(
        `${io.program ?? 'webrana-jobs'}: restore drill of ${result.file} failed: ${result.problems.join('; ')}\n`,
      );
    return result.passed ? 0 : 1;
  } catch (error) {
    if (!(error instanceof UsageError))
      report({
        service: service.name,
        ...(dumpName ? { file: dumpName } : {}),
        passed: false,
        error: (error as Error).message,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
      });
    throw error;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    store?.destroy();
  }
}
