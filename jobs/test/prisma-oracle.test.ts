// Prisma's own schema engine (Prisma 6.19 CLI, WebAssembly, driver adapter) as an independent judge
// of our ledger: what we write must read, to Prisma, exactly as if Prisma had written it.
import { runPrisma6 } from '@webrana/prisma6';
import { schemaPath, SERVICES } from '@webrana/registry';
import { createTestDatabase, withClient } from '@webrana/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addMigration, copyPrismaFolder, runCli } from './helpers';

const ledger = (url: string) =>
  withClient(url, (c) => c.query('SELECT * FROM _prisma_migrations ORDER BY migration_name').then((r) => r.rows));

describe.each(SERVICES.map((s) => s.name))('%s', (service) => {
  test('Prisma reports "Database schema is up to date!" for a database our runner migrated', async () => {
    const db = await createTestDatabase('oracle_ours');
    try {
      expect((await runCli(['migrate', 'deploy', `--service=${service}`, `--database-url=${db.url}`])).code).toBe(0);
      const prisma = runPrisma6(['migrate', 'status'], { schemaPath: schemaPath(service), databaseUrl: db.url });
      expect(prisma.stdout).toContain('Database schema is up to date!');
      expect(prisma.status).toBe(0);
    } finally {
      await db.drop();
    }
  });

  test("our status reports up to date for a database Prisma's migrate deploy migrated, and the ledgers match", async () => {
    const [byPrisma, byUs] = await Promise.all([createTestDatabase('oracle_prisma'), createTestDatabase('oracle_us')]);
    try {
      const deployed = runPrisma6(['migrate', 'deploy'], {
        schemaPath: schemaPath(service),
        databaseUrl: byPrisma.url,
      });
      expect(deployed.stdout + deployed.stderr).toContain('All migrations have been successfully applied.');
      const status = await runCli(['migrate', 'status', `--service=${service}`, `--database-url=${byPrisma.url}`]);
      expect(status.stdout).toContain(`${service}: up to date`);
      expect(status.code).toBe(0);

      expect((await runCli(['migrate', 'deploy', `--service=${service}`, `--database-url=${byUs.url}`])).code).toBe(0);
      const comparable = (rows: Record<string, unknown>[]) =>
        rows.map((r) => ({
          migration_name: r.migration_name,
          checksum: r.checksum,
          applied_steps_count: r.applied_steps_count,
          logs: r.logs,
          rolled_back_at: r.rolled_back_at,
          id: typeof r.id === 'string' && /^[0-9a-f-]{36}$/.test(r.id),
          started: r.started_at instanceof Date,
          finished: r.finished_at instanceof Date && r.finished_at >= (r.started_at as Date),
        }));
      const prismaRows = comparable(await ledger(byPrisma.url));
      expect(prismaRows).toHaveLength(2);
      expect(comparable(await ledger(byUs.url))).toEqual(prismaRows);
    } finally {
      await Promise.all([byPrisma.drop(), byUs.drop()]);
    }
  });
});

test('Prisma itself refuses to deploy over a migration our runner recorded as failed (P3009), and re-applies it after our resolve', async () => {
  const db = await createTestDatabase('oracle_failed');
  const copy = copyPrismaFolder('auth-service');
  try {
    addMigration(
      copy.migrationsDir,
      '20261201000000_broken',
      'ALTER TABLE users ADD COLUMN nickname TEXT;\nSELECT 1/0;\n',
    );
    const args = ['--service=auth-service', `--database-url=${db.url}`, `--migrations-dir=${copy.migrationsDir}`];
    expect((await runCli(['migrate', 'deploy', ...args])).code).toBe(1);

    const schema = path.join(copy.dir, 'schema.prisma');
    const refused = runPrisma6(['migrate', 'deploy'], { schemaPath: schema, databaseUrl: db.url });
    expect(refused.status).not.toBe(0);
    expect(refused.stdout + refused.stderr).toContain('P3009');
    expect(refused.stdout + refused.stderr).toContain('20261201000000_broken');

    expect((await runCli(['migrate', 'resolve', ...args, '--rolled-back', '20261201000000_broken'])).code).toBe(0);
    fs.writeFileSync(
      path.join(copy.migrationsDir, '20261201000000_broken', 'migration.sql'),
      'ALTER TABLE users ADD COLUMN nickname TEXT;\n',
    );
    const redeployed = runPrisma6(['migrate', 'deploy'], { schemaPath: schema, databaseUrl: db.url });
    expect(redeployed.stdout).toContain('└─ 20261201000000_broken/');
    expect(redeployed.status).toBe(0);
    expect((await runCli(['migrate', 'status', ...args])).code).toBe(0);
  } finally {
    copy.remove();
    await db.drop();
  }
});
