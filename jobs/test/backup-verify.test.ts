import { generate } from '@webrana/datagen';
import { freePort, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { runCli, startCli, waitFor } from './helpers';
import {
  copyAsLater,
  dropFirstRow,
  dropRowWith,
  restoringInto,
  scratchDatabases,
  sessionsIn,
  tamperedArchive,
} from './backup-verify-helpers';

let db: TestDatabase;
let dir: string;
let dump: string;
beforeEach(async () => {
  db = await migratedTestDatabase('order-service');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drills-'));
  await generate('order', db.url, 300);
  const backedUp = await runCli(['backup', '--service=order-service', `--dir=${dir}`, `--database-url=${db.url}`]);
  expect(backedUp.code).toBe(0);
  dump = path.join(
    dir,
    'order-service',
    fs.readdirSync(path.join(dir, 'order-service')).find((n) => n.endsWith('.tar.zst'))!,
  );
});
afterEach(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

const termLog = () => path.join(dir, `termination-${Math.random().toString(16).slice(2)}`);
const verify = (log: string, ...extra: string[]) =>
  runCli([
    'backup',
    'verify',
    '--service=order-service',
    `--database-url=${db.url}`,
    `--termination-log=${log}`,
    ...extra,
  ]);
const manifestOf = (file: string) => JSON.parse(fs.readFileSync(`${file}.json`, 'utf8'));
const reportOf = (log: string) => JSON.parse(fs.readFileSync(log, 'utf8'));
const restoredFile = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .find((l) => l.msg === 'restore finished')?.file;

test("the backup's manifest records each table's exact row count", async () => {
  const counts = await withClient(db.url, async (c) => {
    const out: Record<string, number> = {};
    for (const t of ['orders', 'order_items', 'provisioning_tasks', 'status_history', '_prisma_migrations'])
      out[`public.${t}`] = Number((await c.query(`SELECT count(*) AS n FROM "${t}"`)).rows[0].n);
    return out;
  });
  expect(counts['public.orders']).toBe(300);
  expect(manifestOf(dump).rowCounts).toEqual(counts);
});

test('a drill of a good dump passes, records verifiedAt in the manifest and leaves no scratch database', async () => {
  const log = termLog();
  const before = manifestOf(dump);
  const result = await verify(log, '--latest', `--dir=${dir}`);
  expect(result.code).toBe(0);
  const report = reportOf(log);
  expect(report).toMatchObject({
    service: 'order-service',
    file: path.basename(dump),
    dumpCreatedAt: before.createdAt,
    passed: true,
    recorded: true,
    migrationHead: before.migrationHead,
    tables: 5,
    problems: [],
  });
  expect(report.rows).toBe(Object.values(before.rowCounts as Record<string, number>).reduce((a, b) => a + b, 0));
  const after = manifestOf(dump);
  expect(Date.parse(after.verifiedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
  expect(after.drillFailure).toBeUndefined();
  expect({ ...after, verifiedAt: undefined }).toEqual({ ...before, verifiedAt: undefined });
  expect(await scratchDatabases(db.name)).toEqual([]);
  expect(fs.readdirSync(path.join(dir, 'order-service')).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

test('a dump whose table data was altered after writing (sha256 updated) fails on its row count: exit 1, marked, skipped by restore --latest, scratch dropped', async () => {
  const altered = copyAsLater(dump, 60);
  await tamperedArchive(altered, (dataFile) => dropFirstRow(dataFile('public.status_history')));
  const log = termLog();
  const result = await verify(log, '--latest', `--dir=${dir}`);
  expect(result.code).toBe(1);
  const expected = manifestOf(dump).rowCounts['public.status_history'];
  const problem = `table public.status_history has ${expected - 1} rows, the manifest says ${expected}`;
  expect(result.stderr).toContain(problem);
  expect(reportOf(log)).toMatchObject({
    file: path.basename(altered),
    passed: false,
    recorded: true,
    problems: [problem],
  });
  expect(manifestOf(altered).drillFailure).toEqual({ at: expect.any(String), problems: [problem] });
  expect(manifestOf(altered).verifiedAt).toBeUndefined();
  expect(await scratchDatabases(db.name)).toEqual([]);

  const target = await migratedTestDatabase('order-service');
  try {
    const restored = await runCli([
      'restore',
      '--service=order-service',
      `--database-url=${target.url}`,
      '--latest',
      `--dir=${dir}`,
    ]);
    expect(restored.code).toBe(0);
    expect(restoredFile(restored.stdout)).toBe(path.basename(dump));
    expect(restored.stdout).toContain(
      `passed over 1 newer dump(s) that failed a restore drill (${path.basename(altered)})`,
    );
  } finally {
    await target.drop();
  }
});

test('a dump whose migration head was altered after writing fails the drill naming both heads', async () => {
  const head = manifestOf(dump).migrationHead as string;
  await tamperedArchive(dump, (dataFile) => dropRowWith(dataFile('public._prisma_migrations'), head));
  const log = termLog();
  const result = await verify(log, `--file=${dump}`);
  expect(result.code).toBe(1);
  const report = reportOf(log);
  expect(report.passed).toBe(false);
  expect(report.problems[0]).toMatch(
    new RegExp(`^the restored migration head is \\d+_init, the manifest says ${head}$`),
  );
  expect(manifestOf(dump).drillFailure.problems).toEqual(report.problems);
  expect(await scratchDatabases(db.name)).toEqual([]);
  // Nothing else is left: restore --latest refuses with the reason.
  const restored = await runCli([
    'restore',
    '--service=order-service',
    `--database-url=${db.url}`,
    '--latest',
    `--dir=${dir}`,
  ]);
  expect(restored.code).toBe(1);
  expect(restored.stderr).toContain('(ignored 1 that failed a restore drill)');
});

test('a drill of an earlier custom-format .dump without row counts passes on its migration head', async () => {
  const old = path.join(dir, 'order-service', 'order-service-20260101T000000Z.dump');
  await promisify(execFile)('pg_dump', ['-Fc', '--no-owner', '--no-privileges', `--file=${old}`, db.url]);
  const { rowCounts: _counts, format: _format, ...manifest } = manifestOf(dump);
  fs.writeFileSync(`${old}.json`, JSON.stringify({ ...manifest, file: path.basename(old), ...(await shaOf(old)) }));
  const log = termLog();
  const result = await verify(log, `--file=${old}`);
  expect(result.code).toBe(0);
  expect(reportOf(log)).toMatchObject({ passed: true, tables: 0, migrationHead: manifest.migrationHead });
  expect(result.stdout).toContain('only the head is checked');
  expect(manifestOf(old).verifiedAt).toEqual(expect.any(String));
});

async function shaOf(file: string) {
  const bytes = fs.readFileSync(file);
  return {
    sha256: (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  };
}

test('a drill killed with kill -9 mid-restore leaves its scratch database, which the next drill drops', async () => {
  await generate('order', db.url, 20_000, { first: 301 }); // a restore long enough to be caught in
  expect((await runCli(['backup', '--service=order-service', `--dir=${dir}`, `--database-url=${db.url}`])).code).toBe(
    0,
  );
  const drill = startCli([
    'backup',
    'verify',
    '--service=order-service',
    `--database-url=${db.url}`,
    '--latest',
    `--dir=${dir}`,
  ]);
  const stale = await waitFor('pg_restore writing into the scratch database', () => restoringInto(db.name), 60_000);
  drill.child.kill('SIGKILL');
  expect((await drill.result).signal).toBe('SIGKILL');
  // pg_restore, a child of the killed process, may still finish its work: then nothing holds the database.
  await waitFor('no session in the scratch database', async () => (await sessionsIn(stale)) === 0, 60_000);
  expect(await scratchDatabases(db.name)).toEqual([stale]);

  const next = await verify(termLog(), '--latest', `--dir=${dir}`);
  expect(next.code).toBe(0);
  expect(next.stdout).toContain('dropped the scratch database of a drill that did not finish');
  expect(await scratchDatabases(db.name)).toEqual([]);
});

test('SIGTERM stops a drill, drops its scratch database and marks nothing', async () => {
  await generate('order', db.url, 20_000, { first: 301 });
  expect((await runCli(['backup', '--service=order-service', `--dir=${dir}`, `--database-url=${db.url}`])).code).toBe(
    0,
  );
  const latest = path.join(
    dir,
    'order-service',
    fs
      .readdirSync(path.join(dir, 'order-service'))
      .filter((n) => n.endsWith('.tar.zst'))
      .sort()
      .at(-1)!,
  );
  const log = termLog();
  const drill = startCli([
    'backup',
    'verify',
    '--service=order-service',
    `--database-url=${db.url}`,
    `--file=${latest}`,
    `--termination-log=${log}`,
  ]);
  await waitFor('pg_restore writing into the scratch database', () => restoringInto(db.name), 60_000);
  drill.child.kill('SIGTERM');
  const result = await drill.result;
  expect(result.code).toBe(1);
  expect(reportOf(log)).toMatchObject({ passed: false, error: expect.stringContaining('was stopped') });
  expect(await scratchDatabases(db.name)).toEqual([]);
  expect(manifestOf(latest).drillFailure).toBeUndefined();
  expect(manifestOf(latest).verifiedAt).toBeUndefined();
});

test('a drill against a database server that is down exits 1 with a clear error, marks nothing and prints no password', async () => {
  const port = await freePort();
  const log = termLog();
  const result = await runCli([
    'backup',
    'verify',
    '--service=order-service',
    `--database-url=postgresql://drill:hunter2secret@127.0.0.1:${port}/orders`,
    `--file=${dump}`,
    `--termination-log=${log}`,
  ]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`cannot connect to postgresql://drill:`);
  expect(result.stderr).toContain(`127.0.0.1:${port}`);
  expect(result.stderr + result.stdout + fs.readFileSync(log, 'utf8')).not.toContain('hunter2secret');
  const report = reportOf(log);
  expect(report).toMatchObject({ service: 'order-service', file: path.basename(dump), passed: false });
  expect(report.error).toContain('cannot connect to <url>');
  expect(manifestOf(dump).drillFailure).toBeUndefined();
});

test('a dump this machine cannot read (here a directory under the name) is a drill that could not run, and is not marked', async () => {
  const unreadable = copyAsLater(dump, 60);
  fs.rmSync(unreadable);
  fs.mkdirSync(unreadable);
  const log = termLog();
  const result = await verify(log, `--file=${unreadable}`);
  expect(result.code).toBe(1);
  expect(reportOf(log)).toMatchObject({ passed: false, error: expect.stringContaining('could not run: EISDIR') });
  expect(manifestOf(unreadable).drillFailure).toBeUndefined();
  expect(await scratchDatabases(db.name)).toEqual([]);
});

test('backup verify usage errors name the problem and print the verify usage', async () => {
  const none = await runCli(['backup', 'verify', `--file=${dump}`]);
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('--service=NAME is required');
  expect(none.stderr).toContain('usage: webrana-jobs backup verify');
  const both = await runCli(['backup', 'verify', '--service=order-service', `--file=${dump}`, '--latest']);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('give either --file=PATH');
  const help = await runCli(['backup', 'verify', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('A restore drill');
});
