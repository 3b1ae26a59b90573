import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { generate } from '@webrana/datagen';
import { migratedTestDatabase, type TestDatabase } from '@webrana/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers';
import { dropFirstRow, laterName, scratchDatabases, tamperedArchive } from './backup-verify-helpers';
import { startS3Server, type S3Server } from './s3-server';

let s3: S3Server;
let db: TestDatabase;
const bucket = 'drills';
beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket(bucket);
  db = await migratedTestDatabase('order-service');
  await generate('order', db.url, 300);
}, 600_000); // a cold build of the server (once per machine) takes a few minutes
afterAll(async () => {
  await s3?.stop();
  await db?.drop();
});

const url = `s3://${bucket}/nightly`;
const cli = (args: string[], dbUrl = db.url) =>
  runCli([...args, '--service=order-service', `--database-url=${dbUrl}`], s3.env());
const getBytes = async (key: string) =>
  Buffer.from(
    await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
  );
const manifestOf = async (key: string) => JSON.parse((await getBytes(`${key}.json`)).toString('utf8'));
const put = (key: string, body: string | Buffer) =>
  s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

test('a drill from the bucket passes on a good dump and marks a later altered one; restore --latest from the bucket skips the marked one', async () => {
  const backedUp = await cli(['backup', `--s3-url=${url}`]);
  expect(backedUp.code).toBe(0);
  const good = JSON.parse(backedUp.stdout.trim().split('\n').at(-1)!).file as string;
  const goodKey = `nightly/order-service/${good}`;

  const passed = await cli(['backup', 'verify', '--latest', `--s3-url=${url}`]);
  expect(passed.stderr).toBe('');
  expect(passed.code).toBe(0);
  expect((await manifestOf(goodKey)).verifiedAt).toEqual(expect.any(String));

  // A copy under a later name, its orders' data cut by one row and its manifest's sha256 and size made to match.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'drill-s3-'));
  try {
    const later = laterName(good, 60);
    const local = path.join(work, later);
    fs.writeFileSync(local, await getBytes(goodKey));
    const { verifiedAt: _v, ...manifest } = await manifestOf(goodKey);
    fs.writeFileSync(`${local}.json`, JSON.stringify({ ...manifest, file: later }));
    await tamperedArchive(local, (dataFile) => dropFirstRow(dataFile('public.status_history')));
    await put(`nightly/order-service/${later}`, fs.readFileSync(local));
    await put(`nightly/order-service/${later}.json`, fs.readFileSync(`${local}.json`));

    const failed = await cli(['backup', 'verify', '--latest', `--s3-url=${url}`]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`restore drill of ${later} failed: table public.status_history has`);
    expect((await manifestOf(`nightly/order-service/${later}`)).drillFailure.problems).toHaveLength(1);
    expect(await scratchDatabases(db.name)).toEqual([]);

    const target = await migratedTestDatabase('order-service');
    try {
      const restored = await cli(['restore', '--latest', `--s3-url=${url}`], target.url);
      expect(restored.code).toBe(0);
      const finished = restored.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((l) => l.msg === 'restore finished');
      expect(finished.file).toBe(good);
    } finally {
      await target.drop();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}, 180_000);
