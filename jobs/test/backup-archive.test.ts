// Full dumps as one zstd-compressed tar of pg_dump's directory format: the failure paths of packing
// and unpacking (the happy paths are in backup.test.ts and backup-safety.test.ts).
import { generate } from '@webrana/datagen';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { safeHost } from '../src/backup/names';
import { Client } from 'pg';
import { expectDumpLists, runCli, startCli, waitFor } from './helpers';

let db: TestDatabase;
let dir: string;
let serviceDir: string;
let tmp: string;
beforeAll(async () => {
  db = await migratedTestDatabase('order-service');
  await generate('order', db.url, 300);
});
afterAll(() => db.drop());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archives-'));
  serviceDir = path.join(dir, 'order-service');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'restore-tmpdir-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

const backupArgs = () => ['backup', '--service=order-service', `--dir=${dir}`, `--database-url=${db.url}`];
const restoreArgs = (file: string) => [
  'restore',
  '--service=order-service',
  `--database-url=${db.url}`,
  `--file=${file}`,
];
const dumps = () => fs.readdirSync(serviceDir).filter((n) => n.endsWith('.tar.zst'));
const hostnames = () =>
  withClient(
    db.url,
    async (c) => (await c.query(`SELECT count(*)::int AS n FROM orders WHERE hostname = 'changed'`)).rows[0].n,
  );

test('restore unpacks a tar.zst dump under TMPDIR and leaves nothing there, after success and after failure', async () => {
  expect((await runCli(backupArgs())).code).toBe(0);
  const file = path.join(serviceDir, dumps()[0]!);
  await withClient(db.url, (c) => c.query(`UPDATE orders SET hostname = 'changed'`));

  const restored = await runCli(restoreArgs(file), { TMPDIR: tmp });
  expect(restored.stderr).toBe('');
  expect(restored.code).toBe(0);
  expect(await hostnames()).toBe(0);
  expect(fs.readdirSync(tmp)).toEqual([]);

  // Cut short, with the manifest made to agree (as if both were damaged together): refused at unpacking.
  const bytes = fs.readFileSync(file).subarray(0, Math.floor(fs.statSync(file).size / 2));
  fs.writeFileSync(file, bytes);
  const manifestFile = `${file}.json`;
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.bytes = bytes.length;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
  await withClient(db.url, (c) => c.query(`UPDATE orders SET hostname = 'changed'`));

  const refused = await runCli(restoreArgs(file), { TMPDIR: tmp });
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain(`${path.basename(file)} does not unpack`);
  expect(refused.stderr).toContain('nothing was restored');
  expect(await hostnames()).toBe(300);
  expect(fs.readdirSync(tmp)).toEqual([]);
});

test('a backup without zstd fails naming how to install it, leaves no temporary file or directory and deletes nothing', async () => {
  expect((await runCli(backupArgs())).code).toBe(0);
  const before = fs.readdirSync(serviceDir).sort();
  // A PATH with tar but no zstd; PostgreSQL's tools come from PG_BIN_DIR.
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  fs.symlinkSync('/usr/bin/tar', path.join(bin, 'tar'));
  const result = await runCli(backupArgs(), { PATH: bin, PG_BIN_DIR: '/usr/lib/postgresql/15/bin' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('zstd not found: install zstd (Debian: apt-get install zstd');
  expect(fs.readdirSync(serviceDir).sort()).toEqual(before);
});

test('a temporary dump directory goes once a day has passed without a write and its writer is gone; one still being written stays', async () => {
  fs.mkdirSync(serviceDir, { mode: 0o700 });
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  const here = safeHost(os.hostname());
  const leftover = (pid: number, freshFile: boolean) => {
    const name = `.order-service-20261101T020000Z.tar.zst.d.tmp-${here}-${pid}-0a1b2c3d`;
    const tempDir = path.join(serviceDir, name);
    fs.mkdirSync(tempDir);
    for (const file of ['toc.dat', '3301.dat']) {
      fs.writeFileSync(path.join(tempDir, file), 'partial');
      fs.utimesSync(path.join(tempDir, file), twoDaysAgo, twoDaysAgo);
    }
    if (freshFile) fs.writeFileSync(path.join(tempDir, '3302.dat'), 'being written');
    fs.utimesSync(tempDir, twoDaysAgo, twoDaysAgo);
    return name;
  };
  const killed = leftover(2_147_483_000, false); // a dead pid: the kill -9 of a run two days ago
  const writing = leftover(2_147_483_001, true); // a table file written just now: a dump in progress

  expect((await runCli(backupArgs())).code).toBe(0);
  const left = fs.readdirSync(serviceDir);
  expect(left).not.toContain(killed);
  expect(left).toContain(writing);
});

test.each(['--jobs=0', '--jobs=two', '--jobs=1.5'])(
  'backup %s is a usage error (exit 2) naming the option, before anything is dumped',
  async (flag) => {
    const result = await runCli([...backupArgs(), flag]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--jobs takes a positive whole number; got "${flag.split('=')[1]}"`);
    expect(fs.existsSync(serviceDir)).toBe(false);
  },
);

test('backup --jobs=1 (one pg_dump connection) writes a dump that unpacks and lists by hand', async () => {
  const result = await runCli([...backupArgs(), '--jobs=1']);
  expect(result.code).toBe(0);
  await expectDumpLists(path.join(serviceDir, dumps()[0]!));
});

test('kill -9 of a backup in the middle of its dump leaves no file under a final name, and the next run writes a good dump', async () => {
  // A session holding an exclusive lock stops pg_dump mid-run, so the kill lands while it dumps.
  const blocker = new Client({ connectionString: db.url });
  await blocker.connect();
  try {
    await blocker.query('BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    const killed = startCli(backupArgs());
    // Another session: inside the blocker's transaction pg_stat_activity stays as first read.
    const waiting = await waitFor('pg_dump waiting for its lock', async () => {
      const { rows } = await withClient(db.url, (c) =>
        c.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        ),
      );
      return rows.length > 0 ? rows : null;
    });
    expect(fs.readdirSync(serviceDir).some((n) => /^\.order-service-.*\.tar\.zst\.d\.tmp-/.test(n))).toBe(true);
    killed.child.kill('SIGKILL');
    expect((await killed.result).signal).toBe('SIGKILL');
    // The orphaned pg_dump ends when its sessions do.
    for (const { pid } of waiting) await blocker.query('SELECT pg_terminate_backend($1)', [pid]);
    await blocker.query('ROLLBACK');
  } finally {
    await blocker.end();
  }
  expect(dumps()).toEqual([]);
  const leftovers = fs.readdirSync(serviceDir);
  expect(leftovers.every((n) => n.includes('.tmp-'))).toBe(true);

  const next = await runCli(backupArgs());
  expect(next.code).toBe(0);
  expect(dumps()).toHaveLength(1);
  await expectDumpLists(path.join(serviceDir, dumps()[0]!));
  // The killed run's temporaries are under a day old: left for the sweep, never counted.
  expect(fs.readdirSync(serviceDir)).toEqual(expect.arrayContaining(leftovers));
});
