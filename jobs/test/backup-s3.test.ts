import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { generate } from '@webrana/datagen';
import { freePort, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Readable } from 'node:stream';
import { ObjectStore, parseS3Url, s3Settings } from '../src/backup/s3';
import { runCli } from './helpers';
import { startS3Server, type S3Server } from './s3-server';

let s3: S3Server;
let db: TestDatabase;
let bucket: string;
let buckets = 0;
beforeAll(async () => {
  s3 = await startS3Server();
}, 600_000); // a cold build of the server (once per machine) takes a few minutes
afterAll(async () => {
  await s3?.stop();
});
beforeEach(async () => {
  db = await migratedTestDatabase('order-service');
  bucket = `backups-${++buckets}`;
  await s3.createBucket(bucket);
});
afterEach(async () => {
  await db.drop();
});

const backup = (env: NodeJS.ProcessEnv, ...extra: string[]) =>
  runCli(['backup', '--service=order-service', `--database-url=${db.url}`, ...extra], { ...s3.env(), ...env });
const restore = (url: string, ...extra: string[]) =>
  runCli(['restore', '--service=order-service', `--database-url=${url}`, ...extra], s3.env());

/** Every key in the bucket (the server's listing, all pages). */
async function keys(prefix = ''): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    out.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.NextContinuationToken;
  } while (token);
  return out.sort();
}
const getText = async (key: string) =>
  (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
const getBytes = async (key: string) =>
  Buffer.from(
    await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray(),
  );
const put = (key: string, body: string | Buffer) =>
  s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

/** pg_dump --data-only without its varying header lines: equal text means equal rows. */
async function dataDump(url: string): Promise<string> {
  const { stdout } = await promisify(execFile)('pg_dump', ['--data-only', '--no-owner', url], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('--') && !l.startsWith('\\restrict') && !l.startsWith('\\unrestrict'))
    .join('\n');
}

const orderCount = (url: string) =>
  withClient(url, (c) => c.query('SELECT count(*)::int AS n FROM orders').then((r) => r.rows[0].n as number));

test('bucket only: backup streams a full dump and its manifest to the bucket; restore --latest gives back the same data', async () => {
  await generate('order', db.url, 2000);
  const backedUp = await backup({}, `--s3-url=s3://${bucket}/nightly`);
  expect(backedUp.stderr).toBe('');
  expect(backedUp.code).toBe(0);
  const [dump, manifest, ...rest] = await keys();
  expect(rest).toEqual([]);
  expect(dump).toMatch(/^nightly\/order-service\/order-service-\d{8}T\d{6}Z\.tar\.zst$/);
  expect(manifest).toBe(`${dump}.json`);
  const written = JSON.parse(await getText(manifest!));
  const bytes = await getBytes(dump!);
  expect(written).toMatchObject({ service: 'order-service', database: db.name, kind: 'full', bytes: bytes.length });
  expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
  // The log says where it went, and no local file was left behind under a final name.
  expect(backedUp.stdout).toContain(`s3://${bucket}/nightly/order-service/`);

  const target = await migratedTestDatabase('order-service');
  try {
    const restored = await restore(target.url, '--latest', `--s3-url=s3://${bucket}/nightly`);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(await orderCount(target.url)).toBe(2000);
    expect(await dataDump(target.url)).toBe(await dataDump(db.url));
  } finally {
    await target.drop();
  }
}, 120_000);

test('volume and bucket together: the same dump and manifest in both; --file=s3://... restores it; BACKUP_S3_URL works as --s3-url', async () => {
  await generate('order', db.url, 300);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backups-'));
  try {
    const backedUp = await backup({ BACKUP_S3_URL: `s3://${bucket}` }, `--dir=${dir}`);
    expect(backedUp.stderr).toBe('');
    expect(backedUp.code).toBe(0);
    const local = fs.readdirSync(path.join(dir, 'order-service')).sort();
    expect(local).toHaveLength(2);
    expect(await keys()).toEqual(local.map((n) => `order-service/${n}`));
    expect(await getBytes(`order-service/${local[0]}`)).toEqual(
      fs.readFileSync(path.join(dir, 'order-service', local[0]!)),
    );
    expect(await getText(`order-service/${local[1]}`)).toBe(
      fs.readFileSync(path.join(dir, 'order-service', local[1]!), 'utf8'),
    );
    await withClient(db.url, (c) => c.query('DELETE FROM order_items'));
    const restored = await restore(db.url, `--file=s3://${bucket}/order-service/${local[0]}`);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM order_items'))).toMatchObject({
      rows: [{ n: expect.any(Number) }],
    });
    expect(
      (await withClient(db.url, (c) => c.query('SELECT count(*)::int AS n FROM order_items'))).rows[0].n,
    ).toBeGreaterThan(0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('a truncated or altered object is refused before the database is touched', async () => {
  await generate('order', db.url, 300);
  expect((await backup({}, `--s3-url=s3://${bucket}/p`)).code).toBe(0);
  const dump = (await keys()).find((k) => k.endsWith('.tar.zst'))!;
  const good = await getBytes(dump);
  await withClient(db.url, (c) => c.query(`CREATE TABLE marker (id int)`));
  const untouched = async () =>
    expect(await withClient(db.url, (c) => c.query(`SELECT to_regclass('marker') IS NOT NULL AS ok`))).toMatchObject({
      rows: [{ ok: true }],
    });

  await put(dump, good.subarray(0, Math.floor(good.length / 2)));
  const truncated = await restore(db.url, `--file=s3://${bucket}/${dump}`);
  expect(truncated.code).toBe(1);
  expect(truncated.stderr).toMatch(/corrupted|cut short/);
  expect(truncated.stderr).toContain('nothing was restored');
  await untouched();

  const altered = Buffer.from(good);
  altered[Math.floor(altered.length / 2)]! ^= 0xff;
  await put(dump, altered);
  const changed = await restore(db.url, '--latest', `--s3-url=s3://${bucket}/p`);
  expect(changed.code).toBe(1);
  expect(changed.stderr).toMatch(/corrupted/);
  expect(changed.stderr).toContain('nothing was restored');
  await untouched();

  // An object without its manifest is not a backup: refused, and --latest does not see it.
  await put('p/order-service/order-service-20300101T000000Z.tar.zst', good);
  const orphan = await restore(db.url, `--file=s3://${bucket}/p/order-service/order-service-20300101T000000Z.tar.zst`);
  expect(orphan.code).toBe(1);
  expect(orphan.stderr).toContain('has no manifest');
  await untouched();
}, 120_000);

test('wrong credentials: a clear error naming the variables to fix, before pg_dump runs, and no secret in any output', async () => {
  const secret = 'wrong-secret-value-that-must-not-appear';
  // The database URL leads nowhere: the store is asked first, so its error is the one reported.
  const nowhere = `postgresql://u:p@127.0.0.1:${await freePort()}/db`;
  const result = await runCli(
    ['backup', '--service=order-service', `--database-url=${nowhere}`, `--s3-url=s3://${bucket}/x`],
    { ...s3.env(), AWS_SECRET_ACCESS_KEY: secret },
  );
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('refused the credentials');
  expect(result.stderr).toContain('AWS_SECRET_ACCESS_KEY');
  for (const text of [result.stdout, result.stderr]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(s3.secretKey);
  }
  expect(await keys()).toEqual([]);

  const unknownKey = await backup({ AWS_ACCESS_KEY_ID: 'NOSUCHKEY' }, `--s3-url=s3://${bucket}/x`);
  expect(unknownKey.code).toBe(1);
  expect(unknownKey.stderr).toMatch(
    /refused the credentials \((InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch|XAdminUserNotFound)\)/,
  );
  expect(unknownKey.stderr).toContain('AWS_ACCESS_KEY_ID');

  const restored = await runCli(
    ['restore', '--service=order-service', `--database-url=${db.url}`, '--latest', `--s3-url=s3://${bucket}/x`],
    { ...s3.env(), AWS_SECRET_ACCESS_KEY: secret },
  );
  expect(restored.code).toBe(1);
  expect(restored.stderr).toContain('AWS_SECRET_ACCESS_KEY');
  expect(restored.stderr + restored.stdout).not.toContain(secret);
}, 60_000);

test('an endpoint nobody listens on: a clear error naming AWS_ENDPOINT_URL', async () => {
  const port = await freePort();
  const result = await backup({ AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` }, `--s3-url=s3://${bucket}/x`);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`cannot reach the object store at http://127.0.0.1:${port} (ECONNREFUSED)`);
  expect(result.stderr).toContain('AWS_ENDPOINT_URL');
}, 60_000);

test('the AWS SDK is loaded only by runs that reach a bucket, not by every webrana-jobs start (each migration Job is one)', async () => {
  // NODE_DEBUG=module has Node name every module it resolves on stderr.
  const loadsSdk = (r: { stderr: string }) => r.stderr.includes('@aws-sdk/client-s3');
  const migrate = await runCli(['migrate', 'status', '--help'], { NODE_DEBUG: 'module' });
  expect(migrate.stderr).toContain('@webrana/registry'); // the probe sees module loads at all
  expect(loadsSdk(migrate)).toBe(false);
  expect(loadsSdk(await runCli(['backup', '--help'], { NODE_DEBUG: 'module' }))).toBe(false);
  const port = await freePort();
  const toBucket = await backup(
    { NODE_DEBUG: 'module', AWS_ENDPOINT_URL: `http://127.0.0.1:${port}` },
    `--s3-url=s3://${bucket}/x`,
  );
  expect(loadsSdk(toBucket)).toBe(true);
}, 60_000);

test('a successful run logs and stores no credential anywhere (debug logging, server-side encryption asked for)', async () => {
  const result = await backup(
    { LOG_LEVEL: 'debug', BACKUP_S3_SSE: 'AES256' },
    `--s3-url=s3://${bucket}/enc`,
    '--data-only',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const all = await keys();
  expect(all).toHaveLength(2);
  for (const text of [result.stdout, result.stderr, ...(await Promise.all(all.map(getText)))]) {
    expect(text).not.toContain(s3.secretKey);
    expect(text).not.toContain(s3.accessKey);
  }
}, 60_000);

test('server-side encryption settings reach the store on every object written, multipart included', async () => {
  // versitygw's posix backend stores objects without encrypting or echoing SSE, so what is checked is
  // the requests the SDK really sent to it, read off the wire side of the SDK's middleware stack.
  const settings = s3Settings({ ...s3.env(), BACKUP_S3_SSE: 'aws:kms', BACKUP_S3_SSE_KMS_KEY_ID: 'backup-key-1' });
  const store = new ObjectStore(parseS3Url(`s3://${bucket}/sse`), settings);
  const sent: { op: string; headers: Record<string, string> }[] = [];
  store.client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({
        op: context.commandName!,
        headers: { ...(args.request as { headers: Record<string, string> }).headers },
      });
      return next(args);
    },
    { step: 'finalizeRequest' },
  );
  try {
    await store.upload('sse/big.bin', Readable.from([Buffer.alloc(9 * 1024 * 1024, 1)]));
    await store.putText('sse/big.bin.json', '{}');
  } finally {
    store.destroy();
  }
  const writes = sent.filter((r) => ['CreateMultipartUploadCommand', 'PutObjectCommand'].includes(r.op));
  expect(writes.map((r) => r.op).sort()).toEqual(['CreateMultipartUploadCommand', 'PutObjectCommand']);
  expect(sent.some((r) => r.op === 'UploadPartCommand')).toBe(true);
  for (const { headers } of writes) {
    expect(headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('backup-key-1');
  }
  expect(await keys('sse/')).toEqual(['sse/big.bin', 'sse/big.bin.json']);
}, 60_000);

test('retention in the bucket: restic rules over more than 1,000 listed objects; objects that are not ours, and dumps without a manifest, are never touched', async () => {
  const folder = 'r/order-service/';
  // 1,050 objects that are not ours, listed on the same pages as the dumps.
  const foreign = Array.from({ length: 1050 }, (_, i) => `${folder}notes-${String(i).padStart(4, '0')}.txt`);
  // 20 daily dumps of ours (tiny stand-ins with manifests), and one old dump without a manifest.
  const day = (i: number) => new Date(Date.UTC(2026, 0, 1 + i, 2));
  const stamp = (t: Date) =>
    t
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, '');
  const ours = Array.from({ length: 20 }, (_, i) => `order-service-${stamp(day(i))}.tar.zst`);
  const orphan = `${folder}order-service-20250101T020000Z.tar.zst`;
  const others = [
    ...foreign,
    orphan,
    `${folder}order-service-20250102T020000Z.tar.zst.json.bak`,
    'r/elsewhere/order-service-20260101T020000Z.tar.zst',
  ];
  const queue = [
    ...others.map((k) => () => put(k, 'x')),
    ...ours.flatMap((n) => [() => put(folder + n, 'dump'), () => put(`${folder}${n}.json`, '{}')]),
  ];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) await job();
    }),
  );
  expect((await keys()).length).toBeGreaterThan(1000);

  const result = await backup({}, `--s3-url=s3://${bucket}/r`, '--keep-daily=3', '--keep-weekly=0', '--keep-monthly=0');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const summary = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === 'backup finished');
  // The run's own dump plus the two newest of the history (3 days), and nothing else of ours.
  const expectDeleted = ours.slice(0, 18);
  expect([...summary.deleted].sort()).toEqual(expectDeleted);
  const left = await keys();
  for (const key of others) expect(left).toContain(key);
  for (const name of expectDeleted) {
    expect(left).not.toContain(folder + name);
    expect(left).not.toContain(`${folder}${name}.json`);
  }
  for (const name of ours.slice(18)) expect(left).toContain(folder + name);
  expect(left.filter((k) => k.startsWith(folder) && !others.includes(k))).toHaveLength(3 * 2);
}, 180_000);
