import { parseDatabaseUrl } from '@webrana/db';
import { Client } from 'pg';

// Set-based SQL (generate_series) so millions of rows take seconds. Text mixes Indonesian names,
// accents, CJK and emoji; some columns are left NULL on purpose; ids are deterministic per row number.
// Every statement takes the first row number ($1) and the row count ($2), so batches can be appended.

/** Row i's customer: users are numbered from 1, and orders and invoices spread over the first 50,000. */
const USER_OF_ROW = `md5('user' || (1 + (i - 1) % 50000))::uuid`;
/** Row i's order total in Rupiah (a yearly plan costs 10 months; WELCOME10 takes 5,000 off); invoice i bills order i. */
const BASE_PRICE = `(ARRAY[50000, 100000, 400000])[1 + i % 3] * (CASE WHEN i % 4 = 0 THEN 10 ELSE 1 END)`;
const COUPON_DISCOUNT = `CASE WHEN i % 7 = 0 THEN 5000 ELSE 0 END`;
const FINAL_PRICE = `${BASE_PRICE} - ${COUPON_DISCOUNT}`;
/** Numbers are zero-padded to 9 digits, so that is where numbering ends. */
export const MAX_ROW_NUMBER = 999_999_999;

const SQL: Record<'auth' | 'order' | 'billing', string[]> = {
  auth: [
    `INSERT INTO users (id, email, password_hash, full_name, role, status, email_verified_at, last_login_at, created_at, updated_at)
     SELECT md5('user' || i)::uuid, 'user' || i || '@pelanggan.webrana.test', '$2b$04$' || md5(i::text) || 'abcdefghijklmnopqrstu',
            (ARRAY['Budi Santoso', 'Siti Nurhaliza', 'Dewi Lestari', 'José Ñúñez', '李小龙', 'Putu Ayu 🌺'])[1 + i % 6] || ' ' || i,
            'customer', (ARRAY['active', 'active', 'active', 'pending_verification', 'suspended'])[1 + i % 5]::user_status,
            CASE WHEN i % 5 = 3 THEN NULL ELSE now() - (i % 900) * interval '1 hour' END,
            CASE WHEN i % 3 = 0 THEN NULL ELSE now() - (i % 97) * interval '1 minute' END,
            now() - (i % 1000) * interval '1 hour', now()
     FROM generate_series($1::int, $1::int + $2::int - 1) AS i`,
  ],
  order: [
    `INSERT INTO orders (id, order_number, user_id, plan_id, plan_slug, plan_name, cpu_cores, memory_mb, disk_gb, image_id,
                         image_slug, billing_period, base_price, promo_discount, coupon_code, coupon_discount, final_price, hostname, created_at)
     SELECT md5('order' || i)::uuid, 'WBR-' || lpad(i::text, 9, '0'), ${USER_OF_ROW},
            md5('plan' || i % 3)::uuid, (ARRAY['basic', 'standard', 'pro'])[1 + i % 3], (ARRAY['Basic', 'Standard', 'Pro'])[1 + i % 3],
            (ARRAY[1, 2, 4])[1 + i % 3], (ARRAY[1024, 2048, 8192])[1 + i % 3], (ARRAY[25, 50, 160])[1 + i % 3],
            md5('image' || i % 4)::uuid, (ARRAY['ubuntu-22-04', 'ubuntu-24-04', 'debian-12', 'centos-stream-9'])[1 + i % 4],
            (CASE WHEN i % 4 = 0 THEN 'YEARLY' ELSE 'MONTHLY' END)::billing_period,
            ${BASE_PRICE},
            0, CASE WHEN i % 7 = 0 THEN 'WELCOME10' END, ${COUPON_DISCOUNT},
            ${FINAL_PRICE},
            CASE WHEN i % 2 = 0 THEN 'vps-' || i || '.jkt.webrana.test' END, now() - (i % 2000) * interval '1 hour'
     FROM generate_series($1::int, $1::int + $2::int - 1) AS i`,
    `INSERT INTO order_items (id, order_id, item_type, description, reference_id, quantity, unit_price, total_price)
     SELECT md5('item' || o.order_number)::uuid, o.id, 'PLAN', o.plan_name || ' — ' || o.billing_period, o.plan_id, 1, o.final_price, o.final_price
     FROM orders o WHERE o.order_number BETWEEN 'WBR-' || lpad($1::text, 9, '0') AND 'WBR-' || lpad(($1::int + $2::int - 1)::text, 9, '0')`,
    // Walk the documented flow (the status trigger writes status_history): 4 in 5 paid, ...
    `UPDATE orders SET status = 'PAID', paid_at = created_at + interval '5 minutes'
     WHERE order_number BETWEEN 'WBR-' || lpad($1::text, 9, '0') AND 'WBR-' || lpad(($1::int + $2::int - 1)::text, 9, '0')
       AND substr(order_number, 5)::int % 5 <> 0`,
    `UPDATE orders SET status = 'PROVISIONING'
     WHERE order_number BETWEEN 'WBR-' || lpad($1::text, 9, '0') AND 'WBR-' || lpad(($1::int + $2::int - 1)::text, 9, '0')
       AND status = 'PAID' AND substr(order_number, 5)::int % 5 <> 1`,
    `INSERT INTO provisioning_tasks (id, order_id, status, region, droplet_id, droplet_name, ipv4_address, error_message, started_at, finished_at)
     SELECT md5('task' || o.order_number)::uuid, o.id,
            (CASE WHEN substr(o.order_number, 5)::int % 17 = 0 THEN 'FAILED' ELSE 'SUCCEEDED' END)::provisioning_status,
            (ARRAY['sgp1', 'blr1', 'syd1'])[1 + substr(o.order_number, 5)::int % 3],
            CASE WHEN substr(o.order_number, 5)::int % 17 = 0 THEN NULL ELSE 3000000000 + substr(o.order_number, 5)::bigint END,
            o.hostname, CASE WHEN substr(o.order_number, 5)::int % 17 = 0 THEN NULL ELSE '203.0.113.' || (substr(o.order_number, 5)::int % 250) END,
            CASE WHEN substr(o.order_number, 5)::int % 17 = 0 THEN 'droplet create failed: region sgp1 is out of capacity' END,
            o.paid_at, o.paid_at + interval '90 seconds'
     FROM orders o WHERE o.status = 'PROVISIONING'
       AND o.order_number BETWEEN 'WBR-' || lpad($1::text, 9, '0') AND 'WBR-' || lpad(($1::int + $2::int - 1)::text, 9, '0')`,
    `UPDATE orders o SET status = (CASE WHEN t.status = 'FAILED' THEN 'FAILED' ELSE 'ACTIVE' END)::order_status
     FROM provisioning_tasks t WHERE t.order_id = o.id AND o.status = 'PROVISIONING'
       AND o.order_number BETWEEN 'WBR-' || lpad($1::text, 9, '0') AND 'WBR-' || lpad(($1::int + $2::int - 1)::text, 9, '0')`,
  ],
  billing: [
    `INSERT INTO invoices (id, invoice_number, order_id, user_id, amount, payment_method, tripay_reference, payment_url, expires_at, created_at)
     SELECT md5('invoice' || i)::uuid, 'INV-' || lpad(i::text, 9, '0'), md5('order' || i)::uuid, ${USER_OF_ROW},
            ${FINAL_PRICE}, (ARRAY['BRIVA', 'QRIS', 'MANDIRIVA', NULL])[1 + i % 4],
            'T' || lpad(i::text, 12, '0'), 'https://tripay.co.id/checkout/T' || lpad(i::text, 12, '0'),
            now() - (i % 2000) * interval '1 hour' + interval '1 day', now() - (i % 2000) * interval '1 hour'
     FROM generate_series($1::int, $1::int + $2::int - 1) AS i`,
    `INSERT INTO payments (id, invoice_id, tripay_reference, payment_method, amount, fee, status, callback_payload, paid_at)
     SELECT md5('payment' || v.invoice_number)::uuid, v.id, v.tripay_reference, coalesce(v.payment_method, 'QRIS'), v.amount, 4250,
            (CASE WHEN substr(v.invoice_number, 5)::int % 5 = 0 THEN 'EXPIRED' ELSE 'PAID' END)::payment_status,
            jsonb_build_object('reference', v.tripay_reference, 'merchant_ref', v.invoice_number, 'status',
                               CASE WHEN substr(v.invoice_number, 5)::int % 5 = 0 THEN 'EXPIRED' ELSE 'PAID' END,
                               'total_amount', v.amount, 'note', 'Pembayaran diterima ✓', 'items', jsonb_build_array(jsonb_build_object('sku', 'VPS', 'qty', 1))),
            CASE WHEN substr(v.invoice_number, 5)::int % 5 = 0 THEN NULL ELSE v.created_at + interval '3 minutes' END
     FROM invoices v WHERE v.invoice_number BETWEEN 'INV-' || lpad($1::text, 9, '0') AND 'INV-' || lpad(($1::int + $2::int - 1)::text, 9, '0')`,
    `UPDATE invoices v SET status = (CASE WHEN p.status = 'PAID' THEN 'PAID' ELSE 'EXPIRED' END)::invoice_status,
                           paid_at = CASE WHEN p.status = 'PAID' THEN p.paid_at END
     FROM payments p WHERE p.invoice_id = v.id
       AND v.invoice_number BETWEEN 'INV-' || lpad($1::text, 9, '0') AND 'INV-' || lpad(($1::int + $2::int - 1)::text, 9, '0')`,
  ],
};

export type GeneratedService = keyof typeof SQL;

/**
 * Appends `rows` generated rows (users, or orders with items/tasks/history, or invoices with payments)
 * to a migrated database, numbered from `first`, in batches of `batch` rows per transaction.
 */
export async function generate(
  service: GeneratedService,
  databaseUrl: string,
  rows: number,
  opts: { first?: number; batch?: number } = {},
): Promise<void> {
  const { first = 1, batch = 50_000 } = opts;
  const whole = (name: string, value: number, min: number): void => {
    if (!Number.isSafeInteger(value) || value < min)
      throw new RangeError(`${name} must be a whole number >= ${min}, got ${value}`);
  };
  whole('rows', rows, 0);
  whole('first', first, 1);
  whole('batch', batch, 1);
  if (first + rows - 1 > MAX_ROW_NUMBER) {
    throw new RangeError(`rows ${first}..${first + rows - 1} go past ${MAX_ROW_NUMBER}, the last 9-digit number`);
  }
  const client = new Client(parseDatabaseUrl(databaseUrl).pool);
  await client.connect();
  try {
    for (let start = first; start < first + rows; start += batch) {
      const count = Math.min(batch, first + rows - start);
      await client.query('BEGIN');
      for (const sql of SQL[service]) await client.query(sql, [start, count]);
      await client.query('COMMIT');
    }
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}
