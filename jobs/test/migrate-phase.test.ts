// Issue 21, item 3: expand/contract phases. `-- webrana:phase post-deploy` at the top of a migration
// makes it wait for the rollout: `migrate deploy --phase=pre-deploy` (the chart's pre-upgrade hook)
// leaves it pending, `--phase=post-deploy` (the post-upgrade hook) applies it. Real PostgreSQL, the
// built CLI; the ledger stays Prisma's.
import * as fs from 'node:fs';
import { checksumOf } from '@webrana/migrate';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import { addMigration, columnExists, copyPrismaFolder, ledger, runCli } from './helpers';

const EXPAND = '20261201000000_add_tier';
const CONTRACT = '20261201000100_drop_legacy_note';
const LATER = '20261201000200_add_region_hint';
const EXPAND_SQL =
  '-- expand: the new release writes tier; legacy_note stays for the old pods\n' +
  'ALTER TABLE "vps_plans" ADD COLUMN "tier" TEXT;\nALTER TABLE "vps_plans" ADD COLUMN "legacy_note" TEXT;\n';
const CONTRACT_SQL =
  '-- contract: no pod of the new release reads legacy_note\n-- webrana:phase post-deploy\n\n' +
  'ALTER TABLE "vps_plans" DROP COLUMN "legacy_note";\n';
const LATER_SQL = 'ALTER TABLE "vps_plans" ADD COLUMN "region_hint" TEXT;\n';

let db: TestDatabase;
let prisma: ReturnType<typeof copyPrismaFolder>;
beforeEach(async () => {
  db = await createTestDatabase('phase');
  prisma = copyPrismaFolder('catalog-service');
  expect((await runCli(args('deploy'))).code).toBe(0);
});
afterEach(async () => {
  prisma.remove();
  await db.drop();
});
const args = (command: string, ...extra: string[]) => [
  'migrate',
  command,
  '--service=catalog-service',
  `--database-url=${db.url}`,
  `--migrations-dir=${prisma.migrationsDir}`,
  ...extra,
];
const names = async () => (await ledger(db.url)).map((r) => r.migration_name as string);

test('deploy --phase=pre-deploy applies the migrations before a post-deploy one and leaves it waiting; --phase=post-deploy applies it', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);

  const pre = await runCli(args('deploy', '--phase=pre-deploy'));
  expect(pre.code).toBe(0);
  expect(pre.stdout).toContain('post-deploy migration(s) wait for the rollout');
  expect(await names()).toContain(EXPAND);
  expect(await names()).not.toContain(CONTRACT);
  expect(await columnExists(db.url, 'vps_plans', 'legacy_note')).toBe(true);

  // Again (a retried hook): still nothing of the contract step.
  expect((await runCli(args('deploy', '--phase=pre-deploy'))).code).toBe(0);
  expect(await names()).not.toContain(CONTRACT);

  const post = await runCli(args('deploy', '--phase=post-deploy'));
  expect(post.code).toBe(0);
  expect((await names()).slice(-2)).toEqual([EXPAND, CONTRACT]);
  expect(await columnExists(db.url, 'vps_plans', 'legacy_note')).toBe(false);
  expect((await runCli(args('status'))).code).toBe(0);
});

test('deploy --rollout-grace waits that long before applying a pending post-deploy migration (old pods may still serve), and not at all with nothing pending', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  expect((await runCli(args('deploy', '--phase=pre-deploy'))).code).toBe(0);
  const timed = async () => {
    const t0 = Date.now();
    const r = await runCli(args('deploy', '--phase=post-deploy', '--rollout-grace=5s'));
    return { ...r, seconds: (Date.now() - t0) / 1000 };
  };
  const first = await timed();
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  expect(first.stdout).toContain('waiting 5000 ms for the old pods to finish before migrating');
  expect(first.seconds).toBeGreaterThanOrEqual(5);
  expect(await columnExists(db.url, 'vps_plans', 'legacy_note')).toBe(false);

  const again = await timed(); // a retried hook: nothing pending, no wait
  expect(again.code).toBe(0);
  expect(again.stdout).not.toContain('for the old pods to finish');
  expect(again.seconds).toBeLessThan(5);

  const bad = await runCli(args('deploy', '--rollout-grace=soon'));
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--rollout-grace');
}, 60_000);

test('migrate status shows a pending post-deploy migration as waiting for the rollout (text and --json) and is not up to date', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  expect((await runCli(args('deploy', '--phase=pre-deploy'))).code).toBe(0);

  const text = await runCli(args('status'));
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(
    new RegExp(
      `pending +${CONTRACT}  \\(post-deploy: waits for the rollout, then migrate deploy --phase=post-deploy\\)`,
    ),
  );
  expect(text.stdout).toMatch(new RegExp(`applied +${EXPAND}\\n`));

  const json = await runCli(args('status', '--json'));
  const parsed = JSON.parse(json.stdout) as { upToDate: boolean; migrations: { name: string; phase?: string }[] };
  expect(parsed.upToDate).toBe(false);
  expect(parsed.migrations.find((m) => m.name === CONTRACT)).toEqual({
    name: CONTRACT,
    state: 'pending',
    phase: 'post-deploy',
  });
  expect(parsed.migrations.find((m) => m.name === EXPAND)!.phase).toBeUndefined();
});

test('deploy --phase=pre-deploy refuses, applying nothing, when a pre-deploy migration comes after a pending post-deploy one', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  addMigration(prisma.migrationsDir, LATER, LATER_SQL);
  const before = await names();

  const pre = await runCli(args('deploy', '--phase=pre-deploy'));
  expect(pre.code).toBe(1);
  expect(pre.stderr).toContain('refusing to migrate');
  expect(pre.stderr).toContain(
    `pre-deploy migration ${LATER} must run before the rollout, but it comes after post-deploy migration ${CONTRACT}`,
  );
  expect(pre.stderr).toContain('run migrate deploy --phase=post-deploy first');
  expect(await names()).toEqual(before);
  expect(await columnExists(db.url, 'vps_plans', 'tier')).toBe(false);

  // plan says the same without touching anything.
  const plan = await runCli(args('plan', '--phase=pre-deploy'));
  expect(plan.code).toBe(1);
  expect(plan.stdout).toContain(`waits for the rollout: ${CONTRACT} (post-deploy)`);
  expect(plan.stdout).toContain(`blocked: pre-deploy migration ${LATER}`);

  // After the rollout, everything in name order.
  expect((await runCli(args('deploy', '--phase=post-deploy'))).code).toBe(0);
  expect((await names()).slice(-3)).toEqual([EXPAND, CONTRACT, LATER]);
});

test('deploy without --phase (all, for local use) applies post-deploy migrations too, in name order', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  addMigration(prisma.migrationsDir, LATER, LATER_SQL);
  const result = await runCli(args('deploy'));
  expect(result.code).toBe(0);
  expect((await names()).slice(-3)).toEqual([EXPAND, CONTRACT, LATER]);
  expect(await columnExists(db.url, 'vps_plans', 'legacy_note')).toBe(false);
});

test("a post-deploy migration's ledger row is an ordinary Prisma row (sha256 checksum of the file, finished, one step, no logs)", async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  const file = addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  expect((await runCli(args('deploy', '--phase=pre-deploy'))).code).toBe(0);
  expect((await runCli(args('deploy', '--phase=post-deploy'))).code).toBe(0);
  const row = (await ledger(db.url)).find((r) => r.migration_name === CONTRACT)!;
  expect(row).toMatchObject({
    checksum: checksumOf(fs.readFileSync(file)),
    rolled_back_at: null,
    logs: null,
    applied_steps_count: 1,
  });
  expect(row.finished_at).toBeInstanceOf(Date);
});

test('a misspelled phase, or a phase directive after the first statement, refuses the deploy naming file and line', async () => {
  addMigration(
    prisma.migrationsDir,
    EXPAND,
    '-- webrana:phase post-deploi\nALTER TABLE "vps_plans" ADD COLUMN "tier" TEXT;\n',
  );
  const typo = await runCli(args('deploy', '--phase=pre-deploy'));
  expect(typo.code).toBe(1);
  expect(typo.stderr).toContain('-- webrana:phase post-deploi at line 1: use pre-deploy or post-deploy');
  fs.writeFileSync(
    `${prisma.migrationsDir}/${EXPAND}/migration.sql`,
    'ALTER TABLE "vps_plans" ADD COLUMN "tier" TEXT;\n-- webrana:phase post-deploy\n',
  );
  const late = await runCli(args('deploy'));
  expect(late.code).toBe(1);
  expect(late.stderr).toContain('-- webrana:phase at line 2 comes after the first statement');
  expect(await columnExists(db.url, 'vps_plans', 'tier')).toBe(false);
});

test('in production a pre-deploy run already refuses a waiting post-deploy migration the lint gate refuses (DROP COLUMN without an allow comment), before the rollout', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  const file = addMigration(prisma.migrationsDir, CONTRACT, CONTRACT_SQL);
  const pre = await runCli(args('deploy', '--phase=pre-deploy'), { NODE_ENV: 'production' });
  expect(pre.code).toBe(1);
  expect(pre.stderr).toContain(`${file}:4: error [ban-drop-column]`);
  expect(await names()).not.toContain(EXPAND);
});

test('in production the contract step with `-- webrana:allow ban-drop-column: <reason>` waits for the rollout, then deploys', async () => {
  addMigration(prisma.migrationsDir, EXPAND, EXPAND_SQL);
  addMigration(
    prisma.migrationsDir,
    CONTRACT,
    CONTRACT_SQL.replace(
      'ALTER TABLE',
      '-- webrana:allow ban-drop-column: post-deploy; no pod of the new release reads legacy_note\nALTER TABLE',
    ),
  );
  const prod = { NODE_ENV: 'production' };
  expect((await runCli(args('deploy', '--phase=pre-deploy'), prod)).code).toBe(0);
  expect(await names()).toContain(EXPAND);
  expect(await names()).not.toContain(CONTRACT);
  expect((await runCli(args('deploy', '--phase=post-deploy'), prod)).code).toBe(0);
  expect(await columnExists(db.url, 'vps_plans', 'legacy_note')).toBe(false);
});

test('--phase with an unknown value is a usage error (exit 2)', async () => {
  const result = await runCli(args('deploy', '--phase=later'));
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--phase=later: use pre-deploy, post-deploy, all');
});
