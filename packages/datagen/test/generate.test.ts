import { generate } from '@webrana/datagen';
import { createTestDatabase, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';

// Integration tests of generate() on real PostgreSQL with the services' own migrations (CHECKs and
// triggers included), so every row below was accepted by the same rules production enforces.

const dbs: TestDatabase[] = [];
async function migrated(service: 'auth-service' | 'order-service' | 'billing-service'): Promise<TestDatabase> {
  const db = await migratedTestDatabase(service);
  dbs.push(db);
  return db;
}
afterAll(async () => {
  await Promise.all(dbs.map((db) => db.drop()));
});

const query = <T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []) =>
  withClient(url, async (c) => (await c.query(sql, params)).rows as T[]);
const one = async <T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []) =>
  (await query<T>(url, sql, params))[0]!;
const count = async (url: string, table: string, where = 'true') =>
  Number((await one<{ n: string }>(url, `SELECT count(*) AS n FROM ${table} WHERE ${where}`)).n);

/** The documented order flow, written out here independently of the trigger that enforces it. */
const LEGAL = new Set([
  'PENDING_PAYMENT>PAID',
  'PENDING_PAYMENT>CANCELED',
  'PAID>PROVISIONING',
  'PAID>CANCELED',
  'PROVISIONING>ACTIVE',
  'PROVISIONING>FAILED',
]);
const ORDER_STATUSES = ['PENDING_PAYMENT', 'PAID', 'PROVISIONING', 'ACTIVE', 'CANCELED', 'FAILED'];

interface HistoryRow {
  order_id: string;
  from_status: string | null;
  to_status: string;
}

/**
 * Walks each order's status_history from its creation row. Rows of one order all carry the same
 * changed_at (one transaction), so the order of the rows is the chain itself, not their time stamps.
 * Returns, per order, the statuses in order, or throws naming what is wrong.
 */
function walkHistories(rows: HistoryRow[]): Map<string, string[]> {
  const byOrder = new Map<string, HistoryRow[]>();
  for (const r of rows) byOrder.set(r.order_id, [...(byOrder.get(r.order_id) ?? []), r]);
  const paths = new Map<string, string[]>();
  for (const [orderId, history] of byOrder) {
    const created = history.filter((r) => r.from_status === null);
    if (created.length !== 1 || created[0]!.to_status !== 'PENDING_PAYMENT') {
      throw new Error(
        `order ${orderId}: expected one creation row (NULL -> PENDING_PAYMENT), got ${JSON.stringify(created)}`,
      );
    }
    const path = ['PENDING_PAYMENT'];
    const rest = history.filter((r) => r.from_status !== null);
    while (rest.length > 0) {
      const at = rest.findIndex((r) => r.from_status === path[path.length - 1]);
      if (at < 0)
        throw new Error(`order ${orderId}: history does not chain from ${path.join(' -> ')}: ${JSON.stringify(rest)}`);
      const [step] = rest.splice(at, 1);
      if (!LEGAL.has(`${step!.from_status}>${step!.to_status}`)) {
        throw new Error(`order ${orderId}: illegal transition ${step!.from_status} -> ${step!.to_status}`);
      }
      path.push(step!.to_status);
    }
    paths.set(orderId, path);
  }
  return paths;
}

describe('users (auth)', () => {
  let url: string;
  beforeAll(async () => {
    url = (await migrated('auth-service')).url;
    await generate('auth', url, 500);
  });

  test('generating 500 users gives exactly 500 users with unique lower-case emails and ids', async () => {
    const r = await one(
      url,
      `SELECT count(*)::int AS n, count(DISTINCT email)::int AS emails, count(DISTINCT id)::int AS ids,
              count(*) FILTER (WHERE email <> lower(email))::int AS upper
       FROM users`,
    );
    expect(r).toEqual({ n: 500, emails: 500, ids: 500, upper: 0 });
    // numbered 1..500 as documented (first defaults to 1)
    const nums = await one(
      url,
      `SELECT min(substring(email FROM '^user([0-9]+)@')::int) AS lo, max(substring(email FROM '^user([0-9]+)@')::int) AS hi FROM users`,
    );
    expect(nums).toEqual({ lo: 1, hi: 500 });
  });

  test('users are customers with valid statuses; email_verified_at is NULL exactly for pending_verification', async () => {
    const roles = await query<{ role: string }>(url, `SELECT DISTINCT role::text FROM users ORDER BY 1`);
    expect(roles.map((r) => r.role)).toEqual(['customer']);
    const statuses = await query<{ status: string; n: number }>(
      url,
      `SELECT status::text, count(*)::int AS n FROM users GROUP BY 1 ORDER BY 1`,
    );
    expect(statuses.map((s) => s.status)).toEqual(['active', 'pending_verification', 'suspended']);
    expect(statuses.find((s) => s.status === 'active')!.n).toBeGreaterThan(250);
    expect(await count(url, 'users', `(status = 'pending_verification') <> (email_verified_at IS NULL)`)).toBe(0);
    // bcrypt-shaped hashes (never a usable password: the generator does not hash anything real)
    expect(await count(url, 'users', `password_hash !~ '^\\$2b\\$04\\$[./A-Za-z0-9]{53}$'`)).toBe(0);
    expect(await count(url, 'users', `created_at > now() OR updated_at < created_at`)).toBe(0);
  });

  test('user names include accents, CJK and emoji that survive the round trip, and some columns are NULL', async () => {
    const names = await query<{ full_name: string }>(
      url,
      `SELECT full_name FROM users WHERE email IN ('user3@pelanggan.webrana.test', 'user4@pelanggan.webrana.test', 'user5@pelanggan.webrana.test') ORDER BY email`,
    );
    expect(names.map((n) => n.full_name)).toEqual(['José Ñúñez 3', '李小龙 4', 'Putu Ayu 🌺 5']);
    expect(await count(url, 'users', `octet_length(full_name) > char_length(full_name)`)).toBeGreaterThan(100);
    expect(await count(url, 'users', 'email_verified_at IS NULL')).toBeGreaterThan(0);
    expect(await count(url, 'users', 'last_login_at IS NULL')).toBeGreaterThan(0);
    expect(await count(url, 'users', 'last_login_at IS NOT NULL')).toBeGreaterThan(0);
  });
});

describe('orders (order)', () => {
  let url: string;
  beforeAll(async () => {
    url = (await migrated('order-service')).url;
    await generate('order', url, 300);
  });

  test('300 orders come with exactly one PLAN item each, priced at the order final price', async () => {
    expect(await count(url, 'orders')).toBe(300);
    const r = await one(
      url,
      `SELECT count(*)::int AS items, count(DISTINCT order_id)::int AS orders,
              count(*) FILTER (WHERE i.item_type <> 'PLAN' OR i.quantity <> 1 OR i.total_price <> o.final_price
                                  OR i.reference_id IS DISTINCT FROM o.plan_id)::int AS wrong
       FROM order_items i JOIN orders o ON o.id = i.order_id`,
    );
    expect(r).toEqual({ items: 300, orders: 300, wrong: 0 });
    expect(
      await count(url, 'orders', `final_price <> base_price - promo_discount - coupon_discount OR currency <> 'IDR'`),
    ).toBe(0);
  });

  test('every status_history row is a legal transition and each order current status is the end of its chain', async () => {
    const history = await query<HistoryRow>(
      url,
      `SELECT order_id, from_status::text, to_status::text FROM status_history`,
    );
    const paths = walkHistories(history);
    const orders = await query<{ id: string; status: string }>(url, `SELECT id, status::text FROM orders`);
    expect(paths.size).toBe(orders.length);
    const mismatched = orders.filter((o) => paths.get(o.id)?.at(-1) !== o.status);
    expect(mismatched).toEqual([]);
    // every history row belongs to one walk (none left over, none duplicated)
    const steps = [...paths.values()].reduce((n, p) => n + p.length, 0);
    expect(steps).toBe(history.length);
    // the database's own rule agrees with the table above
    expect(
      await count(
        url,
        'status_history',
        `from_status IS NOT NULL AND NOT order_status_transition_allowed(from_status, to_status)`,
      ),
    ).toBe(0);
  });

  test('orders reach several statuses; paid_at is set exactly when the order got past PENDING_PAYMENT', async () => {
    const statuses = await query<{ status: string; n: number }>(
      url,
      `SELECT status::text, count(*)::int AS n FROM orders GROUP BY 1 ORDER BY 1`,
    );
    for (const s of statuses) expect(ORDER_STATUSES).toContain(s.status);
    expect(statuses.map((s) => s.status)).toEqual(
      expect.arrayContaining(['PENDING_PAYMENT', 'PAID', 'ACTIVE', 'FAILED']),
    );
    expect(await count(url, 'orders', `(status = 'PENDING_PAYMENT') <> (paid_at IS NULL)`)).toBe(0);
    expect(await count(url, 'orders', `paid_at < created_at`)).toBe(0);
  });

  test('orders that reached provisioning have one task whose outcome matches the order (droplet and IP only on success)', async () => {
    expect(
      await count(
        url,
        'provisioning_tasks t JOIN orders o ON o.id = t.order_id',
        `o.status NOT IN ('ACTIVE', 'FAILED')`,
      ),
    ).toBe(0);
    const r = await one(
      url,
      `SELECT count(*)::int AS orders, count(t.id)::int AS tasks,
              count(*) FILTER (WHERE (o.status = 'ACTIVE') <> (t.status = 'SUCCEEDED'))::int AS outcome_mismatch,
              count(*) FILTER (WHERE t.status = 'SUCCEEDED' AND (t.droplet_id IS NULL OR t.ipv4_address IS NULL OR t.error_message IS NOT NULL))::int AS bad_success,
              count(*) FILTER (WHERE t.status = 'FAILED' AND (t.droplet_id IS NOT NULL OR t.ipv4_address IS NOT NULL OR t.error_message IS NULL))::int AS bad_failure,
              count(*) FILTER (WHERE t.started_at IS NULL OR t.finished_at < t.started_at OR t.started_at < o.paid_at)::int AS bad_times
       FROM orders o LEFT JOIN provisioning_tasks t ON t.order_id = o.id
       WHERE o.status IN ('ACTIVE', 'FAILED')`,
    );
    expect(r.orders).toBeGreaterThan(100);
    expect(r).toEqual({
      orders: r.orders,
      tasks: r.orders,
      outcome_mismatch: 0,
      bad_success: 0,
      bad_failure: 0,
      bad_times: 0,
    });
  });

  test('order text includes non-ASCII and some nullable columns are NULL', async () => {
    expect(await count(url, 'order_items', `description LIKE '% — %'`)).toBe(300);
    for (const column of ['coupon_code', 'hostname', 'paid_at']) {
      expect(await count(url, 'orders', `${column} IS NULL`)).toBeGreaterThan(0);
      expect(await count(url, 'orders', `${column} IS NOT NULL`)).toBeGreaterThan(0);
    }
    expect(await count(url, 'orders', `coupon_code IS NULL AND coupon_discount <> 0`)).toBe(0);
  });
});

describe('invoices (billing)', () => {
  let url: string;
  beforeAll(async () => {
    url = (await migrated('billing-service')).url;
    await generate('billing', url, 200);
  });

  test('200 invoices come with one payment each, same reference and amount', async () => {
    const r = await one(
      url,
      `SELECT count(DISTINCT v.id)::int AS invoices, count(p.id)::int AS payments,
              count(*) FILTER (WHERE p.tripay_reference IS DISTINCT FROM v.tripay_reference OR p.amount <> v.amount)::int AS mismatched
       FROM invoices v LEFT JOIN payments p ON p.invoice_id = v.id`,
    );
    expect(r).toEqual({ invoices: 200, payments: 200, mismatched: 0 });
  });

  test('paid invoices have paid_at and a PAID payment; the others are EXPIRED with neither', async () => {
    const r = await query<{
      invoice: string;
      payment: string;
      n: number;
      invoice_paid_at: number;
      payment_paid_at: number;
    }>(
      url,
      `SELECT v.status::text AS invoice, p.status::text AS payment, count(*)::int AS n,
              count(v.paid_at)::int AS invoice_paid_at, count(p.paid_at)::int AS payment_paid_at
       FROM invoices v JOIN payments p ON p.invoice_id = v.id GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(r.map((g) => [g.invoice, g.payment])).toEqual([
      ['EXPIRED', 'EXPIRED'],
      ['PAID', 'PAID'],
    ]);
    const [expired, paid] = r;
    expect(expired).toMatchObject({ invoice_paid_at: 0, payment_paid_at: 0 });
    expect(paid).toMatchObject({ invoice_paid_at: paid!.n, payment_paid_at: paid!.n });
    expect(paid!.n).toBeGreaterThan(expired!.n);
    expect(
      await count(
        url,
        'invoices v JOIN payments p ON p.invoice_id = v.id',
        `v.status = 'PAID' AND v.paid_at IS DISTINCT FROM p.paid_at`,
      ),
    ).toBe(0);
  });

  test('invoice text includes non-ASCII and some payment methods are NULL; payments always name one', async () => {
    expect(await count(url, 'invoices', 'payment_method IS NULL')).toBeGreaterThan(0);
    expect(await count(url, 'payments', 'payment_method IS NULL')).toBe(0);
    const p = await one<{ note: string; merchant_ref: string; invoice_number: string }>(
      url,
      `SELECT p.callback_payload->>'note' AS note, p.callback_payload->>'merchant_ref' AS merchant_ref, v.invoice_number
       FROM payments p JOIN invoices v ON v.id = p.invoice_id ORDER BY v.invoice_number LIMIT 1`,
    );
    expect(p).toEqual({
      note: 'Pembayaran diterima ✓',
      merchant_ref: 'INV-000000001',
      invoice_number: 'INV-000000001',
    });
  });
});

describe('numbering across services', () => {
  test('invoice N bills order N: same user, amount equal to its final price, created with it and due a day later', async () => {
    const orders = await migrated('order-service');
    const billing = await migrated('billing-service');
    await generate('order', orders.url, 60);
    await generate('billing', billing.url, 60);
    const o = await query<{ id: string; user_id: string; final_price: string; created_at: Date }>(
      orders.url,
      `SELECT id, user_id, final_price::text, created_at FROM orders ORDER BY order_number`,
    );
    const v = await query<{ order_id: string; user_id: string; amount: string; created_at: Date; due: string }>(
      billing.url,
      `SELECT order_id, user_id, amount::text, created_at, (expires_at - created_at)::text AS due FROM invoices ORDER BY invoice_number`,
    );
    expect(v.map(({ order_id, user_id, amount }) => ({ order_id, user_id, amount }))).toEqual(
      o.map((x) => ({ order_id: x.id, user_id: x.user_id, amount: x.final_price })),
    );
    // Both rows of a number are created the same hour ago (each statement's now() differs by milliseconds).
    v.forEach((invoice, i) =>
      expect(Math.abs(invoice.created_at.getTime() - o[i]!.created_at.getTime())).toBeLessThan(60_000),
    );
    expect(new Set(v.map((x) => x.due))).toEqual(new Set(['1 day']));
  });

  test('every order and invoice belongs to one of the users numbered 1 to 50,000 (none to a user 0)', async () => {
    const orders = await migrated('order-service');
    const auth = await migrated('auth-service');
    // Orders 49,999 to 50,001 straddle the wrap-around to the first user.
    await generate('order', orders.url, 3, { first: 49_999 });
    await generate('auth', auth.url, 1, { first: 50_000 });
    await generate('auth', auth.url, 2, { first: 1 });
    const users = new Set((await query<{ id: string }>(auth.url, 'SELECT id FROM users')).map((u) => u.id));
    const owners = await query<{ user_id: string }>(orders.url, 'SELECT user_id FROM orders ORDER BY order_number');
    expect(owners.map((x) => users.has(x.user_id))).toEqual([false, true, true]);
  });
});

describe('arguments', () => {
  test('generate refuses a zero batch, a fractional or negative count and numbers past 9 digits before connecting', async () => {
    // An unreachable URL: the arguments are refused before any connection is tried.
    const url = 'postgresql://nobody:secret@127.0.0.1:1/none';
    await expect(generate('auth', url, 10, { batch: 0 })).rejects.toThrow('batch must be a whole number >= 1, got 0');
    await expect(generate('auth', url, 1.5)).rejects.toThrow('rows must be a whole number >= 0, got 1.5');
    await expect(generate('auth', url, Number.NaN)).rejects.toThrow('rows must be a whole number');
    await expect(generate('auth', url, 5, { first: 0 })).rejects.toThrow('first must be a whole number >= 1');
    await expect(generate('order', url, 2, { first: 999_999_999 })).rejects.toThrow(
      'rows 999999999..1000000000 go past 999999999',
    );
  });
});

describe('batches', () => {
  test('rows=25 with batch=10 commits three transactions of 10, 10 and 5 rows', async () => {
    const { url } = await migrated('auth-service');
    await generate('auth', url, 25, { batch: 10 });
    const txs = await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM users GROUP BY xmin::text ORDER BY 1`);
    expect(txs.map((t) => t.n)).toEqual([5, 10, 10]);
  });

  test('appending a second run with first continues without key collisions and leaves existing orders untouched, even ones the application moved on', async () => {
    const { url } = await migrated('order-service');
    await generate('order', url, 50);
    // meanwhile the application moves an order on (order 5 was left waiting for payment)
    await withClient(url, (c) =>
      c.query(
        `UPDATE orders SET status = 'PAID', paid_at = now() WHERE order_number = 'WBR-000000005' AND status = 'PENDING_PAYMENT'`,
      ),
    );
    expect(await count(url, 'orders', `order_number = 'WBR-000000005' AND status = 'PAID'`)).toBe(1);
    const before = await one<{ h: string }>(
      url,
      `SELECT md5(string_agg(o::text, '|' ORDER BY o.order_number)) AS h FROM orders o`,
    );
    const historyBefore = await count(url, 'status_history');
    await generate('order', url, 50, { first: 51, batch: 20 });

    expect(await count(url, 'orders')).toBe(100);
    expect(await count(url, 'order_items')).toBe(100);
    const after = await one<{ h: string }>(
      url,
      `SELECT md5(string_agg(o::text, '|' ORDER BY o.order_number)) AS h FROM orders o WHERE order_number <= 'WBR-000000050'`,
    );
    expect(after.h).toBe(before.h);
    expect(
      await count(url, 'status_history h JOIN orders o ON o.id = h.order_id', `o.order_number <= 'WBR-000000050'`),
    ).toBe(historyBefore);
    const paths = walkHistories(
      await query<HistoryRow>(url, `SELECT order_id, from_status::text, to_status::text FROM status_history`),
    );
    expect(paths.size).toBe(100);

    const auth = (await migrated('auth-service')).url;
    await generate('auth', auth, 40);
    await generate('auth', auth, 40, { first: 41 });
    expect(await one(auth, `SELECT count(*)::int AS n, count(DISTINCT email)::int AS e FROM users`)).toEqual({
      n: 80,
      e: 80,
    });
  });
});

describe('failures roll back the batch that failed', () => {
  test('a first that collides with existing users fails that batch whole; earlier batches stay committed', async () => {
    const { url } = await migrated('auth-service');
    await generate('auth', url, 5, { first: 21 }); // users 21..25
    await expect(generate('auth', url, 30, { first: 1, batch: 10 })).rejects.toThrow(/duplicate key/);
    // batches 1..10 and 11..20 committed; 21..30 rolled back as a whole (26..30 were never written)
    const nums = await query<{ n: number }>(
      url,
      `SELECT substring(email FROM '^user([0-9]+)@')::int AS n FROM users ORDER BY 1`,
    );
    expect(nums.map((r) => r.n)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  test('an order batch that fails half way (at its provisioning tasks) leaves no order, item, task or history row of it', async () => {
    const { url } = await migrated('order-service');
    // The 5th statement of a batch (provisioning tasks) is refused for droplets past order 17,
    // after that batch's orders, items and first status changes were written.
    await withClient(url, (c) =>
      c.query(
        `ALTER TABLE provisioning_tasks ADD CONSTRAINT test_refuse CHECK (droplet_id IS NULL OR droplet_id < 3000000018)`,
      ),
    );
    await expect(generate('order', url, 20, { batch: 10 })).rejects.toThrow(/test_refuse/);
    const numbers = await query<{ order_number: string }>(url, `SELECT order_number FROM orders ORDER BY 1`);
    expect(numbers.map((r) => r.order_number)).toEqual(
      Array.from({ length: 10 }, (_, i) => `WBR-${String(i + 1).padStart(9, '0')}`),
    );
    expect(await count(url, 'order_items')).toBe(10);
    expect(await count(url, 'provisioning_tasks t JOIN orders o ON o.id = t.order_id')).toBe(
      await count(url, 'provisioning_tasks'),
    );
    expect(
      walkHistories(
        await query<HistoryRow>(url, `SELECT order_id, from_status::text, to_status::text FROM status_history`),
      ).size,
    ).toBe(10);
    expect(await count(url, 'orders', `status = 'PROVISIONING'`)).toBe(0);

    // once the cause is gone, the same numbers generate cleanly
    await withClient(url, (c) => c.query(`ALTER TABLE provisioning_tasks DROP CONSTRAINT test_refuse`));
    await generate('order', url, 10, { first: 11 });
    expect(await count(url, 'orders')).toBe(20);
  });

  test('invoices whose numbers collide fail without leaving invoices or payments of that batch', async () => {
    const { url } = await migrated('billing-service');
    await generate('billing', url, 1, { first: 7 });
    await expect(generate('billing', url, 10)).rejects.toThrow(/duplicate key/);
    expect(await count(url, 'invoices')).toBe(1);
    expect(await count(url, 'payments')).toBe(1);
  });

  test('generating orders into a database that is not migrated fails naming the missing table and creates nothing', async () => {
    const db = await createTestDatabase('datagen_plain');
    dbs.push(db);
    await expect(generate('order', db.url, 10)).rejects.toThrow(/relation "orders" does not exist/);
    expect(await count(db.url, 'pg_tables', `schemaname = 'public'`)).toBe(0);
  });
});
