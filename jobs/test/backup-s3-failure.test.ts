import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createLogger } from '@webrana/logger';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { applyRetention } from '../src/backup/backup';
import { applyBucketRetention } from '../src/backup/bucket';
import { dumpFileName, manifestName } from '../src/backup/names';
import { ObjectStore, parseS3Url, s3Settings } from '../src/backup/s3';
import { startCli, runCli, waitFor } from './helpers';
import { startS3Server, type S3Server } from './s3-server';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket('backups');
}, 600_000); // a cold build of the server (once per machine) takes a few minutes
afterAll(async () => {
  await s3?.stop();
});

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: 'backups', Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}
const uploads = async (prefix: string) =>
  (await s3.client.send(new ListMultipartUploadsCommand({ Bucket: 'backups', Prefix: prefix }))).Uploads ?? [];

describe('the object store stopped mid-upload', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await migratedTestDatabase('order-service');
  });
  afterAll(async () => {
    await db.drop();
  });

  test('leaves no object without a manifest and deletes nothing; a later run aborts the incomplete upload', async () => {
    const url = 's3://backups/crash';
    const args = (...extra: string[]) => [
      'backup',
      '--service=order-service',
      `--database-url=${db.url}`,
      `--s3-url=${url}`,
      // A successful run would delete the older dump of the same day: a failed one must not.
      '--keep-daily=1',
      '--keep-weekly=0',
      '--keep-monthly=0',
      ...extra,
    ];
    const first = await runCli(args(), s3.env());
    expect(first.code).toBe(0);
    const before = await keys('crash/');
    expect(before).toHaveLength(2);

    // About 80 MB of hex (half of it after zstd): several 8 MB parts, so the upload is multipart and
    // lasts long enough (about a second here) to be cut.
    await withClient(db.url, (c) =>
      c.query(`CREATE TABLE ballast AS
                 SELECT g AS id, (SELECT string_agg(md5(random()::text || g || i), '') FROM generate_series(1, 32) i) AS fill
                   FROM generate_series(1, 80000) g`),
    );
    await new Promise((r) => setTimeout(r, 1100)); // the next run's dump gets a name of its own second
    const run = startCli(args(), s3.env());
    // Cut as soon as the upload exists: waiting for a stored part raced its completion once packing got
    // faster (ListParts answered NoSuchUpload: the upload had been completed in between).
    const upload = await waitFor('a multipart upload under way', async () => (await uploads('crash/'))[0], 60_000);
    await s3.kill();
    const failed = await run.result;
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('cannot reach the object store');
    expect(failed.stderr).toContain('AWS_ENDPOINT_URL');

    await s3.start();
    expect(await keys('crash/')).toEqual(before); // no new object, nothing deleted
    expect((await uploads('crash/')).map((u) => u.UploadId)).toEqual([upload.UploadId]);

    // A run within the default hour leaves it (it could be another run's, still going) ...
    await withClient(db.url, (c) => c.query('DROP TABLE ballast'));
    const young = await runCli(args(), s3.env());
    expect(young.code).toBe(0);
    expect((await uploads('crash/')).map((u) => u.UploadId)).toEqual([upload.UploadId]);
    // ... a run that counts it as abandoned aborts it, and retention now runs.
    const next = await runCli(args('--s3-stale-upload=0s'), s3.env());
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    expect(next.stdout).toContain('aborted an incomplete upload');
    expect(await uploads('crash/')).toEqual([]);
    const after = await keys('crash/');
    expect(after).toHaveLength(2);
    expect(after).not.toContain(before[0]);
  }, 180_000);
});

test('property: retention in the bucket deletes exactly what it deletes on a volume with the same history', async () => {
  const log = createLogger({ name: 'test', level: 'silent' });
  const store = new ObjectStore(parseS3Url('s3://backups/prop'), s3Settings(s3.env()));
  const now = Date.now();
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: 2 * 365 * 24 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        fc.record({ daily: fc.nat(8), weekly: fc.nat(5), monthly: fc.nat(13) }),
        async (hoursAgo, withManifest, keep) => {
          fc.pre(keep.daily + keep.weekly + keep.monthly > 0);
          const names = hoursAgo.map((h) => dumpFileName('order-service', new Date(now - h * 3_600_000), 'full'));
          const newest = names[hoursAgo.indexOf(Math.min(...hoursAgo))]!;
          // Every dump but the newest may lack its manifest (an unfinished one): it never counts.
          const files = names.flatMap((n, i) => (n === newest || withManifest[i] ? [n, manifestName(n)] : [n]));
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'retention-prop-'));
          const prefix = `prop/${++run}`;
          try {
            const folder = path.join(dir, 'order-service');
            fs.mkdirSync(folder);
            for (const f of files) fs.writeFileSync(path.join(folder, f), 'x');
            await Promise.all(
              files.map((f) =>
                s3.client.send(
                  new PutObjectCommand({ Bucket: 'backups', Key: `${prefix}/order-service/${f}`, Body: 'x' }),
                ),
              ),
            );
            const opts = { keep, dryRun: false };
            const onVolume = applyRetention(folder, 'order-service', 'full', opts, newest, log);
            const caseStore = new ObjectStore(parseS3Url(`s3://backups/${prefix}`), store.settings);
            const inBucket = await applyBucketRetention(caseStore, 'order-service', 'full', opts, newest, log).finally(
              () => caseStore.destroy(),
            );
            expect([...inBucket.deleted].sort()).toEqual([...onVolume.deleted].sort());
            expect(inBucket.kept).toBe(onVolume.kept);
            expect((await keys(`${prefix}/order-service/`)).map((k) => k.slice(prefix.length + 15))).toEqual(
              fs.readdirSync(folder).sort(),
            );
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 30 },
    );
  } finally {
    store.destroy();
  }
}, 180_000);
