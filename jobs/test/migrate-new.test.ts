// Issue 21, item 1: `migrate new` writes Prisma's own SQL from "all migrations applied" to schema.prisma.
// Each change kind is compared with Prisma's diff of the same two datamodels, then deployed and checked.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prismaDiff, toPrisma6Schema } from '@webrana/prisma6';
import { createTestDatabase, serverUrl, type TestDatabase } from '@webrana/testing';
import { copyPrismaFolder, runCli } from './helpers';

let db: TestDatabase;
let prisma: ReturnType<typeof copyPrismaFolder>;
beforeEach(async () => {
  db = await createTestDatabase('migrate_new');
  prisma = copyPrismaFolder('catalog-service');
});
afterEach(async () => {
  prisma.remove();
  await db.drop();
});

const schemaFile = () => path.join(prisma.dir, 'schema.prisma');
const folders = () => fs.readdirSync(prisma.migrationsDir).filter((f) => /^\d{14}_/.test(f));
const args = (command: string, ...extra: string[]) => [
  'migrate',
  command,
  '--service=catalog-service',
  `--migrations-dir=${prisma.migrationsDir}`,
  ...extra,
];
const newArgs = (name: string) => args('new', `--name=${name}`, `--shadow-database-url=${serverUrl()}`);

/** One edit of the catalog schema per change kind. */
const CHANGES: Record<string, (schema: string) => string> = {
  enum: (s) => s.replace('  PERCENT\n  FIXED\n', '  PERCENT\n  FIXED\n  BUNDLE\n'),
  column: (s) =>
    s.replace(
      '  sortOrder   Int      @default(0) @map("sort_order")\n',
      '  sortOrder   Int      @default(0) @map("sort_order")\n  badge       String?  @db.VarChar(30)\n',
    ),
  table: (s) =>
    `${s}\nmodel PlanTag {\n  id    String @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid\n  label String @unique @db.VarChar(40)\n\n  @@map("plan_tags")\n}\n`,
  index: (s) =>
    s.replace('  @@index([isActive, sortOrder])\n', '  @@index([isActive, sortOrder])\n  @@index([doSizeSlug])\n'),
  relation: (s) =>
    s.replace('  couponPlans CouponPlan[]\n', '  couponPlans CouponPlan[]\n  notes       PlanNote[]\n') +
    `\nmodel PlanNote {\n  id     String  @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid\n  planId String  @map("plan_id") @db.Uuid\n  body   String\n  plan   VpsPlan @relation(fields: [planId], references: [id], onDelete: Cascade)\n\n  @@index([planId])\n  @@map("plan_notes")\n}\n`,
  map: (s) => s.replace('  description String?\n', '  description String? @map("summary")\n'),
};

test('an unchanged schema writes nothing and says so', async () => {
  const before = folders();
  const result = await runCli(newArgs('nothing'));
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(
    'catalog-service: schema.prisma matches the migrations; nothing changed, nothing written',
  );
  expect(folders()).toEqual(before);
});

test.each(Object.keys(CHANGES))(
  "a %s change: the migration holds the SQL of Prisma's diff of the two datamodels, deploys, and check is clean",
  async (kind) => {
    const original = fs.readFileSync(schemaFile(), 'utf8');
    fs.writeFileSync(schemaFile(), CHANGES[kind]!(original));
    expect(fs.readFileSync(schemaFile(), 'utf8')).not.toBe(original);
    const expected = prismaDiff(toPrisma6Schema(original), schemaFile(), serverUrl());

    const created = await runCli(newArgs(`Add ${kind}`));
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const added = folders().filter((f) => !f.startsWith('20261125'));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(new RegExp(`^\\d{14}_add_${kind}$`));
    expect(added[0]! > '20261125000100_rules').toBe(true);
    const sql = fs.readFileSync(path.join(prisma.migrationsDir, added[0]!, 'migration.sql'), 'utf8');
    expect(sql).toBe(expected);
    expect(created.stdout).toContain(sql.trim());
    expect(created.stdout).toMatch(/lint: /);

    const deployed = await runCli(args('deploy', `--database-url=${db.url}`));
    expect(deployed.code).toBe(0);
    const check = await runCli(args('check', `--database-url=${serverUrl()}`));
    expect(check.stdout).toContain('catalog-service: migrations match schema.prisma');
    expect(check.code).toBe(0);
    // A second run finds nothing left to do.
    const again = await runCli(newArgs('again'));
    expect(again.stdout).toContain('nothing changed, nothing written');
  },
  180_000,
);

test('usage errors exit 2', async () => {
  expect((await runCli(args('new'))).code).toBe(2);
  const prod = await runCli([...newArgs('x'), '--apply'], { NODE_ENV: 'production' });
  expect(prod.code).toBe(2);
  expect(prod.stderr).toContain('refused in production');
});
