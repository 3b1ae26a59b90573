import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SERVICES } from '@webrana/registry';
import { createTestDatabase, serverUrl, withDatabase, type TestDatabase } from '@webrana/testing';
import { expectDumpLists } from '../../jobs/test/helpers';

const run = promisify(execFile);
const BACKUP_SH = path.join(REPO_ROOT, 'scripts', 'backup.sh');

let databases: TestDatabase[];
let dir: string;
beforeEach(async () => {
  // auth, catalog and billing exist; order's database is missing.
  databases = await Promise.all(
    SERVICES.filter((s) => s.name !== 'order-service').map((s) => createTestDatabase(s.database)),
  );
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-sh-'));
});
afterEach(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await Promise.all(databases.map((db) => db.drop()));
});

async function backupSh(env: NodeJS.ProcessEnv, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(BACKUP_SH, args, { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('with one database missing, backup.sh still backs up the other three, names the failed service and exits 1', async () => {
  const [auth, catalog, billing] = databases;
  const env = {
    PATH: process.env.PATH,
    AUTH_DATABASE_URL: auth!.url,
    CATALOG_DATABASE_URL: catalog!.url,
    ORDER_DATABASE_URL: withDatabase(serverUrl(), 'order_does_not_exist'),
    BILLING_DATABASE_URL: billing!.url,
  };
  const result = await backupSh(env, `--dir=${dir}`);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('backup.sh: backup of order-service failed (exit 1); continuing with the others');
  expect(result.stderr).toContain('backup.sh: 1 of 4 backups failed: order-service');
  expect(result.stderr).toContain('database "order_does_not_exist" does not exist');
  expect(result.stderr).not.toContain(`:${new URL(serverUrl()).password}@`);
  for (const service of ['auth-service', 'catalog-service', 'billing-service']) {
    const files = fs.readdirSync(path.join(dir, service));
    const dump = files.find((f) => f.endsWith('.tar.zst'))!;
    expect(files).toEqual([dump, `${dump}.json`]);
    await expectDumpLists(path.join(dir, service, dump)); // verified: it unpacks and lists
  }
  expect(fs.existsSync(path.join(dir, 'order-service')) ? fs.readdirSync(path.join(dir, 'order-service')) : []).toEqual(
    [],
  );
});

test('a service without a database URL is reported like any other failure and does not stop the others', async () => {
  const [auth, catalog, billing] = databases;
  const env = {
    PATH: process.env.PATH,
    AUTH_DATABASE_URL: auth!.url,
    CATALOG_DATABASE_URL: catalog!.url,
    BILLING_DATABASE_URL: billing!.url,
  };
  const result = await backupSh(env, `--dir=${dir}`);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('no database URL for order-service: set ORDER_DATABASE_URL');
  expect(result.stderr).toContain('backup.sh: 1 of 4 backups failed: order-service');
  expect(fs.readdirSync(dir).sort()).toEqual(['auth-service', 'billing-service', 'catalog-service']);
});
