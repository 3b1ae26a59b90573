import { migratedTestDatabase, type TestDatabase } from '@webrana/testing';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { safeHost } from '../src/backup/names';
import { CLI, expectDumpLists, runCli, startCli, type CliResult } from './helpers';

const run = promisify(execFile);
let db: TestDatabase;
let dir: string;
let serviceDir: string;
beforeAll(async () => {
  db = await migratedTestDatabase('order-service');
});
afterAll(() => db.drop());
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backups-'));
  serviceDir = path.join(dir, 'order-service');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const backupArgs = (...extra: string[]) => [
  'backup',
  '--service=order-service',
  `--dir=${dir}`,
  `--database-url=${db.url}`,
  ...extra,
];
const files = () => fs.readdirSync(serviceDir).sort();
const logLines = (result: CliResult) =>
  result.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const summaryOf = (result: CliResult) =>
  logLines(result).find((l) => l.msg === 'backup finished') as {
    file: string;
    kept: number;
    deleted: string[];
  };

/** A dump is good when its sha256 matches its manifest and, unpacked by hand, pg_restore can list it. */
async function expectVerified(name: string): Promise<void> {
  const manifest = JSON.parse(fs.readFileSync(path.join(serviceDir, `${name}.json`), 'utf8'));
  expect(manifest.file).toBe(name);
  const { stdout } = await run('sha256sum', [path.join(serviceDir, name)]);
  expect(stdout.split(' ')[0]).toBe(manifest.sha256);
  await expectDumpLists(path.join(serviceDir, name));
}

test('a dump dated in the future is reported, neither counted nor deleted, and the dump the run wrote survives keep-daily=1', async () => {
  const first = await runCli(backupArgs());
  expect(first.code).toBe(0);
  const firstName = summaryOf(first).file;
  const future = 'order-service-20991231T000000Z.dump';
  fs.copyFileSync(path.join(serviceDir, firstName), path.join(serviceDir, future));
  fs.copyFileSync(path.join(serviceDir, `${firstName}.json`), path.join(serviceDir, `${future}.json`));

  const second = await runCli(backupArgs('--keep-daily=1', '--keep-weekly=0', '--keep-monthly=0'));
  expect(second.stderr).toBe('');
  expect(second.code).toBe(0);
  const written = summaryOf(second).file;
  const warning = logLines(second).find((l) => l.level === 40 || l.level === 'warn');
  expect(warning?.msg).toContain(`dated in the future (${future})`);
  expect(second.stdout).not.toMatch(new RegExp(`"file":"${written}"[^\\n]*deleted by retention`));
  // The run's own dump is the newest that counts; the earlier one of the same day goes; 2099 stays.
  expect(summaryOf(second)).toMatchObject({ kept: 1, deleted: [firstName] });
  expect(files()).toEqual([written, `${written}.json`, future, `${future}.json`].sort());
  await expectVerified(written);

  const restored = await runCli([
    'restore',
    '--service=order-service',
    `--database-url=${db.url}`,
    '--latest',
    `--dir=${dir}`,
  ]);
  expect(restored.code).toBe(0);
  expect(logLines(restored).find((l) => l.msg === 'restore finished')).toMatchObject({ file: written });
  expect(restored.stdout).toContain(`dated in the future (${future})`);
});

test('an all-zero retention policy exits 2 before dumping or deleting anything, naming the fix', async () => {
  fs.mkdirSync(serviceDir);
  const old = 'order-service-20260101T020000Z.dump';
  fs.writeFileSync(path.join(serviceDir, old), 'x');
  fs.writeFileSync(path.join(serviceDir, `${old}.json`), '{}');
  const result = await runCli(backupArgs('--keep-daily=0', '--keep-weekly=0', '--keep-monthly=0'));
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('the retention policy keeps nothing');
  expect(result.stderr).toContain('give at least one of them a count above 0');
  expect(files()).toEqual([old, `${old}.json`]);

  const plan = await run('bash', [
    '-c',
    `echo 2026-03-01T02:00:00Z | node ${CLI} retention plan --keep-daily=0 --keep-weekly=0 --keep-monthly=0`,
  ]).catch((e: { code: number; stderr: string; stdout: string }) => e);
  expect((plan as { code: number }).code).toBe(2);
  expect(plan.stderr).toContain('the retention policy keeps nothing');
  expect(plan.stdout).toBe('');
});

test('two backups started at the same instant both succeed with two distinct, verified dumps', async () => {
  const [a, b] = await Promise.all([startCli(backupArgs()).result, startCli(backupArgs()).result]);
  expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
  const names = [summaryOf(a).file, summaryOf(b).file];
  expect(new Set(names).size).toBe(2);
  expect(files()).toEqual([...names, ...names.map((n) => `${n}.json`)].sort());
  for (const name of names) await expectVerified(name);
});

test('when its second is taken by another run, a backup takes the next free second and leaves the others alone', async () => {
  fs.mkdirSync(serviceDir, { mode: 0o700 });
  const start = Math.floor(Date.now() / 1000) * 1000;
  // Another run's claims (no manifest yet) on every second from 2 s ago to 20 s ahead.
  const taken = Array.from(
    { length: 23 },
    (_, i) =>
      `order-service-${new Date(start + (i - 2) * 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')
        .replace(/[-:]/g, '')}.tar.zst`,
  );
  for (const name of taken) fs.writeFileSync(path.join(serviceDir, name), 'claimed by another run');
  const result = await runCli(backupArgs());
  expect(result.code).toBe(0);
  const written = summaryOf(result).file;
  expect(written > taken.at(-1)!).toBe(true);
  for (const name of taken) expect(fs.readFileSync(path.join(serviceDir, name), 'utf8')).toBe('claimed by another run');
  await expectVerified(written);
});

test('temporary files: a fresh one of another live run and an old one of a live process here stay; old orphans go', async () => {
  fs.mkdirSync(serviceDir, { mode: 0o700 });
  const here = safeHost(os.hostname());
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  const temp = (host: string, pid: number, ageDate?: Date) => {
    const name = `.order-service-20261101T020000Z.dump.tmp-${host}-${pid}-${(pid % 0xffffffff).toString(16).padStart(8, '0')}`;
    fs.writeFileSync(path.join(serviceDir, name), 'being written');
    if (ageDate) fs.utimesSync(path.join(serviceDir, name), ageDate, ageDate);
    return name;
  };
  const freshOtherPod = temp('backup-other-pod', 1);
  const oldLiveHere = temp(here, process.pid, twoDaysAgo); // pid of this jest worker: alive
  const oldDeadHere = temp(here, 2_147_483_000, twoDaysAgo);
  const oldOtherPod = temp('backup-gone-pod', 1, twoDaysAgo);
  const oldLegacy = '.order-service-20261101T020000Z.dump.tmp-77';
  fs.writeFileSync(path.join(serviceDir, oldLegacy), 'x');
  fs.utimesSync(path.join(serviceDir, oldLegacy), twoDaysAgo, twoDaysAgo);

  const result = await runCli(backupArgs());
  expect(result.code).toBe(0);
  const left = files();
  expect(left).toEqual(expect.arrayContaining([freshOtherPod, oldLiveHere]));
  for (const gone of [oldDeadHere, oldOtherPod, oldLegacy]) expect(left).not.toContain(gone);
  expect(left.filter((n) => n.includes('.tmp-'))).toHaveLength(2); // the run left none of its own
});

test('dumps and manifests are 0600 in 0700 directories even under umask 000', async () => {
  const root = path.join(dir, 'fresh-root');
  fs.mkdirSync(path.join(root, 'order-service'), { recursive: true, mode: 0o755 });
  fs.chmodSync(path.join(root, 'order-service'), 0o755); // an existing, too open service folder
  const modes: Record<string, string> = {};
  for (const kind of [[], ['--schema-only']]) {
    await run(
      'bash',
      [
        '-c',
        `umask 000 && exec node ${CLI} backup --service=order-service --dir=${root} --database-url="$URL" ${kind.join(' ')}`,
      ],
      { env: { PATH: process.env.PATH, URL: db.url } },
    );
  }
  const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
  for (const name of fs.readdirSync(path.join(root, 'order-service'))) {
    modes[name.replace(/\d{8}T\d{6}Z/, 'TIME')] = mode(path.join(root, 'order-service', name));
  }
  expect(modes).toEqual({
    'order-service-TIME.tar.zst': '600',
    'order-service-TIME.tar.zst.json': '600',
    'order-service-TIME-schema.sql': '600',
    'order-service-TIME-schema.sql.json': '600',
  });
  expect(mode(path.join(root, 'order-service'))).toBe('700');

  const newRoot = path.join(dir, 'new-root');
  await run(
    'bash',
    ['-c', `umask 000 && exec node ${CLI} backup --service=order-service --dir=${newRoot} --database-url="$URL"`],
    {
      env: { PATH: process.env.PATH, URL: db.url },
    },
  );
  expect([mode(newRoot), mode(path.join(newRoot, 'order-service'))]).toEqual(['700', '700']);
});
