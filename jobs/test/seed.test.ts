import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import * as bcrypt from 'bcrypt';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@webrana/registry';
import { runCli } from './helpers';

const SEEDED_TABLES: Record<string, string[]> = {
  'auth-service': ['users'],
  'catalog-service': ['vps_plans', 'plan_pricings', 'vps_images', 'vps_plan_images', 'coupons'],
};

let auth: TestDatabase;
let catalog: TestDatabase;
beforeEach(async () => {
  [auth, catalog] = await Promise.all([migratedTestDatabase('auth-service'), migratedTestDatabase('catalog-service')]);
});
afterEach(() => Promise.all([auth.drop(), catalog.drop()]));

const env = (extra: NodeJS.ProcessEnv = {}) => ({
  AUTH_DATABASE_URL: auth.url,
  CATALOG_DATABASE_URL: catalog.url,
  BCRYPT_COST: '4',
  ...extra,
});
const seedAll = (extra: NodeJS.ProcessEnv = {}) => runCli(['seed'], env(extra));
const lastJson = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

/** Every row of every seeded table with its xmin: any insert, update or delete changes this. */
async function snapshot(): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [service, tables] of Object.entries(SEEDED_TABLES)) {
    const url = service === 'auth-service' ? auth.url : catalog.url;
    for (const table of tables) {
      out[table] = await withClient(url, (c) =>
        c.query(`SELECT xmin::text AS xmin, t.* FROM ${table} t ORDER BY 2, 3`).then((r) => r.rows),
      );
    }
  }
  return out;
}

const users = () =>
  withClient(auth.url, (c) =>
    c.query('SELECT email, role, status, password_hash FROM users ORDER BY email').then((r) => r.rows),
  );

test('running every seed twice leaves every seeded table byte-identical, and the second run writes no row', async () => {
  expect((await seedAll()).code).toBe(0);
  const first = await snapshot();
  expect(first.users).toHaveLength(3);
  const second = await seedAll();
  expect(second.code).toBe(0);
  expect(await snapshot()).toEqual(first);
  const reports = lastJson(second.stdout).filter((l) => l.msg === 'seed finished');
  expect(reports.map((r) => [r.service, r.created, r.updated])).toEqual([
    ['auth-service', 0, 0],
    ['catalog-service', 0, 0],
  ]);
});

test('setting ADMIN_PASSWORD and seeding again changes only the admin hash, and bcrypt accepts the new password', async () => {
  expect((await seedAll()).code).toBe(0);
  const before = await users();
  const result = await seedAll({ ADMIN_PASSWORD: 'N3w-Admin-Passw0rd!' });
  expect(result.code).toBe(0);
  const after = await users();
  const changed = after.filter((u, i) => u.password_hash !== before[i].password_hash).map((u) => u.email);
  expect(changed).toEqual(['admin@webrana.cloud']);
  const admin = after.find((u) => u.email === 'admin@webrana.cloud');
  expect(await bcrypt.compare('N3w-Admin-Passw0rd!', admin.password_hash)).toBe(true);
  expect(await bcrypt.compare('Admin123!', admin.password_hash)).toBe(false);
  expect(result.stdout + result.stderr).not.toContain('N3w-Admin-Passw0rd!');
  // Same variable again: the stored hash already matches, so nothing is written.
  await seedAll({ ADMIN_PASSWORD: 'N3w-Admin-Passw0rd!' });
  expect(await users()).toEqual(after);
});

test('an unset password variable never overwrites an existing password', async () => {
  expect((await seedAll({ SUPER_ADMIN_PASSWORD: 'Sup3r-Secret-Pass!' })).code).toBe(0);
  expect((await seedAll()).code).toBe(0);
  const superAdmin = (await users()).find((u) => u.email === 'superadmin@webrana.cloud');
  expect(await bcrypt.compare('Sup3r-Secret-Pass!', superAdmin.password_hash)).toBe(true);
});

test('production mode without password variables exits non-zero, names the variables and writes nothing', async () => {
  const result = await seedAll({ NODE_ENV: 'production' });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'SUPER_ADMIN_PASSWORD is not set: in production superadmin@webrana.cloud is never created with the documented default password; set SUPER_ADMIN_PASSWORD',
  );
  expect(result.stderr).toContain('ADMIN_PASSWORD is not set');
  expect(await users()).toEqual([]);
});

test('production refuses a documented default or weak password without printing it, and writes nothing', async () => {
  const result = await seedAll({
    NODE_ENV: 'production',
    SUPER_ADMIN_PASSWORD: 'SuperAdmin123!',
    ADMIN_PASSWORD: 'short1!A',
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('SUPER_ADMIN_PASSWORD is a documented default password');
  expect(result.stderr).toContain('ADMIN_PASSWORD is too weak: use at least 12 characters');
  expect(result.stdout + result.stderr).not.toMatch(/SuperAdmin123!|short1!A/);
  expect(await users()).toEqual([]);
});

test('production with strong passwords seeds the two staff users and no customer, at bcrypt cost 12 by default', async () => {
  const result = await runCli(['seed', '--service=auth-service'], {
    AUTH_DATABASE_URL: auth.url,
    NODE_ENV: 'production',
    SUPER_ADMIN_PASSWORD: 'Sup3r-Secret-Pass!',
    ADMIN_PASSWORD: 'Adm1n-Secret-Pass!',
  });
  expect(result.code).toBe(0);
  const rows = await users();
  expect(rows.map((u) => [u.email, u.role, u.status])).toEqual([
    ['admin@webrana.cloud', 'admin', 'active'],
    ['superadmin@webrana.cloud', 'super_admin', 'active'],
  ]);
  rows.forEach((u) => expect(u.password_hash).toMatch(/^\$2b\$12\$/));
});

test('a production seed after a development seed refuses while a user keeps a documented default password, writes nothing, and strong variables then rotate every one', async () => {
  expect((await seedAll()).code).toBe(0); // development: the documented defaults, with warnings
  const before = await snapshot();

  // An unset variable never rewrites a stored password, so without this check Admin123! went to production.
  const refused = await seedAll({ NODE_ENV: 'production', BCRYPT_COST: '10' });
  expect(refused.code).toBe(1);
  for (const [email, variable] of [
    ['superadmin@webrana.cloud', 'SUPER_ADMIN_PASSWORD'],
    ['admin@webrana.cloud', 'ADMIN_PASSWORD'],
    ['customer@webrana.cloud', 'CUSTOMER_PASSWORD'],
  ])
    expect(refused.stderr).toContain(
      `${email} still has a documented default password (from an earlier non-production seed); set ${variable}`,
    );
  expect(refused.stdout + refused.stderr).not.toMatch(/SuperAdmin123!|Admin123!|Customer123!/);
  expect(await snapshot()).toEqual(before); // xmin and updated_at of every row unchanged

  const strong = {
    SUPER_ADMIN_PASSWORD: 'Sup3r-Secret-Pass!',
    ADMIN_PASSWORD: 'Adm1n-Secret-Pass!',
    CUSTOMER_PASSWORD: 'Cust0mer-Secret-Pass!',
  };
  const rotated = await seedAll({ WEBRANA_ENV: 'production', BCRYPT_COST: '10', ...strong });
  expect(rotated.code).toBe(0);
  const rows = await users();
  expect(rows.map((u) => u.email)).toEqual([
    'admin@webrana.cloud',
    'customer@webrana.cloud',
    'superadmin@webrana.cloud',
  ]);
  for (const [email, password] of [
    ['superadmin@webrana.cloud', strong.SUPER_ADMIN_PASSWORD],
    ['admin@webrana.cloud', strong.ADMIN_PASSWORD],
    ['customer@webrana.cloud', strong.CUSTOMER_PASSWORD],
  ]) {
    const row = rows.find((u) => u.email === email);
    expect(row.password_hash).toMatch(/^\$2b\$10\$/);
    expect(await bcrypt.compare(password!, row.password_hash)).toBe(true);
  }
  // Now production seeds without the variables again, and writes nothing.
  const after = await snapshot();
  expect((await seedAll({ NODE_ENV: 'production', BCRYPT_COST: '10' })).code).toBe(0);
  expect(await snapshot()).toEqual(after);
});

test('a production seed with BCRYPT_COST below 10 is refused, naming the fix, and writes nothing', async () => {
  const result = await runCli(['seed', '--service=auth-service'], {
    AUTH_DATABASE_URL: auth.url,
    NODE_ENV: 'production',
    BCRYPT_COST: '8',
    SUPER_ADMIN_PASSWORD: 'Sup3r-Secret-Pass!',
    ADMIN_PASSWORD: 'Adm1n-Secret-Pass!',
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'BCRYPT_COST=8 is too low for production: set BCRYPT_COST to 10..15 (or unset it for 12)',
  );
  expect(await users()).toEqual([]);
});

test('a BCRYPT_COST that is not a whole number from 4 to 15 is refused in any mode', async () => {
  for (const bad of ['31', 'twelve']) {
    const result = await runCli(['seed', '--service=auth-service'], { AUTH_DATABASE_URL: auth.url, BCRYPT_COST: bad });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`BCRYPT_COST must be a whole number from 4 to 15, got "${bad}"`);
  }
  expect(await users()).toEqual([]);
});

test('seeded plans, prices, images and coupons have exactly the documented values', async () => {
  expect((await seedAll()).code).toBe(0);
  const q = (sql: string) => withClient(catalog.url, (c) => c.query(sql).then((r) => r.rows));
  expect(
    await q(`SELECT p.name, p.cpu_cores, p.memory_mb, p.disk_gb, m.price AS monthly, y.price AS yearly
             FROM vps_plans p JOIN plan_pricings m ON m.plan_id = p.id AND m.period = 'MONTHLY'
             JOIN plan_pricings y ON y.plan_id = p.id AND y.period = 'YEARLY' ORDER BY p.sort_order`),
  ).toEqual([
    { name: 'Basic', cpu_cores: 1, memory_mb: 1024, disk_gb: 25, monthly: 50_000, yearly: 500_000 },
    { name: 'Standard', cpu_cores: 2, memory_mb: 2048, disk_gb: 50, monthly: 100_000, yearly: 1_000_000 },
    { name: 'Pro', cpu_cores: 4, memory_mb: 8192, disk_gb: 160, monthly: 400_000, yearly: 4_000_000 },
  ]);
  expect((await q('SELECT name FROM vps_images ORDER BY sort_order')).map((r) => r.name)).toEqual([
    'Ubuntu 22.04 LTS',
    'Ubuntu 24.04 LTS',
    'Debian 12',
    'CentOS Stream 9',
  ]);
  expect((await q('SELECT count(*)::int AS n FROM vps_plan_images'))[0].n).toBe(12);
  expect(
    await q(
      `SELECT code, discount_type, discount_value, max_discount_amount, min_order_amount, is_active FROM coupons ORDER BY code`,
    ),
  ).toEqual([
    {
      code: 'FLAT25K',
      discount_type: 'FIXED',
      discount_value: 25_000,
      max_discount_amount: null,
      min_order_amount: 100_000,
      is_active: true,
    },
    {
      code: 'WELCOME10',
      discount_type: 'PERCENT',
      discount_value: 10,
      max_discount_amount: 100_000,
      min_order_amount: null,
      is_active: true,
    },
  ]);
});

test('a changed seeded value is put back by the next seed, touching only that row', async () => {
  expect((await seedAll()).code).toBe(0);
  await withClient(catalog.url, (c) => c.query(`UPDATE coupons SET discount_value = 50 WHERE code = 'WELCOME10'`));
  const result = await seedAll();
  const catalogReport = lastJson(result.stdout).find(
    (l) => l.service === 'catalog-service' && l.msg === 'seed finished',
  );
  expect(catalogReport).toMatchObject({ created: 0, updated: 1 });
  const [{ discount_value }] = await withClient(catalog.url, (c) =>
    c.query(`SELECT discount_value FROM coupons WHERE code = 'WELCOME10'`).then((r) => r.rows),
  );
  expect(discount_value).toBe(10);
});

test('two seed runs at the same time both succeed and create each row once', async () => {
  const [a, b] = await Promise.all([seedAll(), seedAll()]);
  expect([a.code, b.code]).toEqual([0, 0]);
  expect(await users()).toHaveLength(3);
  const [{ n }] = await withClient(catalog.url, (c) =>
    c.query('SELECT count(*)::int AS n FROM plan_pricings').then((r) => r.rows),
  );
  expect(n).toBe(6);
});

test('seeding an unmigrated database says to migrate first', async () => {
  await withClient(auth.url, (c) => c.query('DROP TABLE users CASCADE'));
  const result = await runCli(['seed', '--service=auth-service'], env());
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(
    'the auth-service database is not migrated (a seeded table is missing): run scripts/migrate.sh --service=auth-service first',
  );
});

test('order-service has no seed: seeding it does nothing and exits 0', async () => {
  const result = await runCli(['seed', '--service=order-service'], {
    ORDER_DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/none',
  });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('this service has no seed; nothing to do');
});

test('scripts/seed.sh with no argument seeds auth and catalog; --help shows the interface', async () => {
  const run = promisify(execFile);
  const script = path.join(REPO_ROOT, 'scripts', 'seed.sh');
  await run(script, [], { env: { PATH: process.env.PATH, ...env() } });
  expect(await users()).toHaveLength(3);
  const { stdout } = await run(script, ['--help']);
  expect(stdout).toContain('usage: scripts/seed.sh [--service=NAME]');
});

test('prisma db seed runs the same seed through the Prisma CLI', async () => {
  const run = promisify(execFile);
  const { stdout } = await run(path.join(REPO_ROOT, 'node_modules', '.bin', 'prisma'), ['db', 'seed'], {
    cwd: path.join(REPO_ROOT, 'services', 'catalog-service'),
    env: { PATH: process.env.PATH, DATABASE_URL: catalog.url, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath },
  });
  expect(stdout).toContain('The seed command has been executed.');
  const [{ n }] = await withClient(catalog.url, (c) =>
    c.query('SELECT count(*)::int AS n FROM coupons').then((r) => r.rows),
  );
  expect(n).toBe(2);
});
