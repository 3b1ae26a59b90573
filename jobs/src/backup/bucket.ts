import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream';
import type { Logger } from '@webrana/logger';
import { packDirectoryTo } from './archive';
import { completedDumps, manifestName, parseDumpFileName, type DumpKind } from './names';
import { retentionDeletions, splitFuture, type KeepPolicy } from './retention';
import type { Manifest } from './backup';
import { ObjectStore, S3Error, s3Url, serviceKeyPrefix } from './s3';

/**
 * The bucket as a destination beside the volume: the same names, manifests and retention, under
 * s3://<bucket>/<prefix>/<service>/. An object counts only once its manifest object exists, and the
 * manifest is written after the dump object is complete and checked, as on the volume.
 */

/** A stream that hashes and counts what passes through it. */
function hashing(): { stream: Transform; result(): { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, result: () => ({ sha256: hash.digest('hex'), bytes }) };
}

/** Removes an object we just wrote when the run fails before its manifest; the store may be gone too. */
async function discard(store: ObjectStore, key: string, log: Logger): Promise<void> {
  await store
    .delete(key)
    .catch((error: Error) =>
      log.warn(
        { key, err: { message: error.message } },
        'could not remove a partial object (it has no manifest, so it never counts)',
      ),
    );
}

/**
 * Packs a dump directory straight into the bucket: tar | zstd streams into a multipart upload while it
 * is checked and hashed (packDirectoryTo); no local copy of the archive. Either side failing stops the other.
 */
export async function packToBucket(
  store: ObjectStore,
  key: string,
  rawDir: string,
  log: Logger,
): Promise<{ sha256: string; bytes: number }> {
  const body = new PassThrough();
  const uploading = store.upload(key, body).catch((error: Error) => {
    body.destroy(error); // the packer then stops on a write error instead of waiting on a full pipe
    throw error;
  });
  const packing = packDirectoryTo(rawDir, body, s3Url(store.location, key)).catch((error: Error) => {
    body.destroy(error); // the upload then aborts instead of completing a short object
    throw error;
  });
  const [up, packed] = await Promise.allSettled([uploading, packing]);
  if (up.status === 'rejected') throw up.reason as Error;
  if (packed.status === 'rejected') {
    await discard(store, key, log);
    throw packed.reason as Error;
  }
  return packed.value;
}

/**
 * Uploads a finished dump file (a volume's, or a spool's), hashing it as it is read; when the bytes sent
 * are not the manifest's, the object is removed and this throws. Then writes the manifest object.
 */
export async function uploadDumpFile(
  store: ObjectStore,
  key: string,
  file: string,
  expected: { sha256: string; bytes: number },
  manifestText: string,
  log: Logger,
): Promise<void> {
  const sent = hashedStream(fs.createReadStream(file));
  await store.upload(key, sent.stream);
  const { sha256, bytes } = sent.result();
  if (sha256 !== expected.sha256 || bytes !== expected.bytes) {
    await discard(store, key, log);
    throw new S3Error(
      `the copy of ${file} sent to ${s3Url(store.location, key)} changed while uploading (sha256 ${sha256}, expected ${expected.sha256})`,
    );
  }
  await writeManifest(store, key, manifestText, log);
}

/** The manifest object, last; when it cannot be written the dump object goes too (best effort: it never counts either way). */
export async function writeManifest(store: ObjectStore, key: string, manifestText: string, log: Logger): Promise<void> {
  try {
    await store.putText(manifestName(key), manifestText);
  } catch (error) {
    await discard(store, key, log);
    throw error;
  }
}

/** What --latest passed over, for its error when nothing is left. Pure. */
export function ignoredNote(future: number, failedDrills: readonly string[]): string {
  const parts = [
    ...(future > 0 ? [`${future} dated in the future`] : []),
    ...(failedDrills.length > 0 ? [`${failedDrills.length} that failed a restore drill`] : []),
  ];
  return parts.length > 0 ? ` (ignored ${parts.join(' and ')})` : '';
}

/** The manifest object beside a dump object. */
export async function readBucketManifest(store: ObjectStore, key: string): Promise<Manifest> {
  const text = await store.getText(manifestName(key));
  if (text === null) {
    throw new S3Error(
      `${s3Url(store.location, key)} has no manifest (${manifestName(path.basename(key))}); it is not a completed backup of this project`,
    );
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (error) {
    throw new S3Error(`manifest of ${s3Url(store.location, key)} is unreadable: ${(error as Error).message}`);
  }
}

/** Completed dumps of one kind under a service's folder in the bucket (every page of the listing). */
export async function listBucketDumps(
  store: ObjectStore,
  service: string,
  kind: DumpKind,
): Promise<{ name: string; time: Date }[]> {
  const names = (await store.list(serviceKeyPrefix(store.location, service))).map((o) => o.name);
  return completedDumps(names, service, kind);
}

/**
 * The newest completed full dump of a service in the bucket, as latestDump picks it on a volume (with
 * `skipFailedDrills`, manifests are read newest first until one carries no failed drill).
 */
export async function latestBucketDump(
  store: ObjectStore,
  service: string,
  opts: { now?: Date; skipFailedDrills: boolean },
): Promise<{ key: string; future: string[]; failedDrills: string[] }> {
  const { current, future } = splitFuture(await listBucketDumps(store, service, 'full'), opts.now ?? new Date());
  current.sort((a, b) => b.time.getTime() - a.time.getTime());
  const folder = serviceKeyPrefix(store.location, service);
  const failedDrills: string[] = [];
  for (const { name } of current) {
    if (opts.skipFailedDrills && (await readBucketManifest(store, folder + name)).drillFailure) {
      failedDrills.push(name);
      continue;
    }
    return { key: folder + name, future: future.map((d) => d.name), failedDrills };
  }
  throw new S3Error(
    `no completed ${service} dump in ${s3Url(store.location, folder)}${ignoredNote(future.length, failedDrills)}`,
  );
}

/**
 * Retention in the bucket, by the volume's rules (retentionDeletions) on the bucket's own completed
 * dumps. The manifest goes first, so a run stopped between the two leaves an object that no longer counts.
 */
export async function applyBucketRetention(
  store: ObjectStore,
  service: string,
  kind: DumpKind,
  opts: { keep: KeepPolicy; dryRun: boolean },
  justWritten: string,
  log: Logger,
): Promise<{ kept: number; deleted: string[]; future: string[] }> {
  const folder = serviceKeyPrefix(store.location, service);
  const { current, future, deleted } = retentionDeletions(
    await listBucketDumps(store, service, kind),
    opts.keep,
    justWritten,
    new Date(),
  );
  for (const name of deleted) {
    if (opts.dryRun) {
      log.info({ object: s3Url(store.location, folder + name) }, 'would delete (dry run)');
      continue;
    }
    await store.delete(folder + manifestName(name));
    await store.delete(folder + name);
    log.info({ object: s3Url(store.location, folder + name) }, 'deleted by retention');
  }
  return { kept: current.length - deleted.length, deleted, future: future.map((d) => d.name) };
}

/**
 * Aborts multipart uploads of our dump names under a service's folder begun more than `staleMs` ago: a
 * run killed mid-upload (or whose store went away) leaves one, and the store keeps its parts, billed,
 * until someone aborts it. Uploads of other names are not ours and are left alone.
 */
export async function abortStaleUploads(
  store: ObjectStore,
  service: string,
  staleMs: number,
  now: Date,
  dryRun: boolean,
  log: Logger,
): Promise<number> {
  const folder = serviceKeyPrefix(store.location, service);
  const stale = (await store.incompleteUploads(folder)).filter(
    (u) =>
      parseDumpFileName(u.key.slice(folder.length))?.service === service &&
      now.getTime() - u.initiated.getTime() >= staleMs,
  );
  for (const u of stale) {
    if (!dryRun) await store.abortUpload(u.key, u.uploadId);
    log.info(
      { object: s3Url(store.location, u.key), initiated: u.initiated.toISOString(), dryRun },
      'aborted an incomplete upload',
    );
  }
  return stale.length;
}

/** A stream's bytes passed on and hashed; an error of the source reaches the reader. */
export function hashedStream(source: Readable): { stream: Readable; result(): { sha256: string; bytes: number } } {
  const seen = hashing();
  pipeline(source, seen.stream, () => undefined); // errors destroy seen.stream, which its reader sees
  return { stream: seen.stream, result: seen.result };
}
