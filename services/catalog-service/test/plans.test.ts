// GET /plans of the compiled catalog-service, as a process, against a migrated PostgreSQL database.
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { get, startService, type RunningService } from '../../../packages/service-kit/test/helpers';

let db: TestDatabase;
let service: RunningService;

beforeAll(async () => {
  db = await migratedTestDatabase('catalog-service');
  await withClient(db.url, (c) =>
    c.query(`INSERT INTO vps_plans (slug, name, description, cpu_cores, memory_mb, disk_gb, do_size_slug, is_active, sort_order)
             VALUES ('large', 'Large', 'four cores', 4, 8192, 160, 's-4vcpu-8gb', true, 2),
                    ('small', 'Small', NULL, 1, 1024, 25, 's-1vcpu-1gb', true, 1),
                    ('retired', 'Retired', NULL, 1, 512, 10, 's-1vcpu-512mb', false, 0)`),
  );
  service = await startService('catalog-service', { DATABASE_URL: db.url });
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await db?.drop();
});

test('GET /plans answers the active plans in display order with every column of the schema, description included', async () => {
  const res = await get(`${service.url}/plans`);
  expect(res.status).toBe(200);
  const { plans } = JSON.parse(res.body) as { plans: Record<string, unknown>[] };
  expect(plans.map((p) => p.slug)).toEqual(['small', 'large']);
  expect(plans[1]).toMatchObject({ name: 'Large', description: 'four cores', cpuCores: 4, memoryMb: 8192 });
  expect(plans[0]).toHaveProperty('description', null);
});

test('GET /plans answers 500 without details when the table cannot be read', async () => {
  await withClient(db.url, (c) => c.query('ALTER TABLE vps_plans RENAME TO vps_plans_gone'));
  try {
    const res = await get(`${service.url}/plans`);
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal error' });
  } finally {
    await withClient(db.url, (c) => c.query('ALTER TABLE vps_plans_gone RENAME TO vps_plans'));
  }
});
