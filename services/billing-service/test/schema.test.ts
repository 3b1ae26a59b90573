import { PrismaPg } from '@prisma/adapter-pg';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { PrismaClient } from '../src/generated/prisma/client';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await migratedTestDatabase('billing-service');
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

const inOneDay = () => new Date(Date.now() + 24 * 60 * 60 * 1000);

let invoiceCounter = 0;
function newInvoice(overrides: Record<string, unknown> = {}) {
  invoiceCounter += 1;
  return prisma.invoice.create({
    data: {
      invoiceNumber: `INV-TEST-${invoiceCounter}`,
      orderId: '00000000-0000-4000-8000-000000000001',
      userId: '00000000-0000-4000-8000-000000000002',
      amount: 50_000,
      expiresAt: inOneDay(),
      ...overrides,
    },
  });
}

let paymentCounter = 0;
async function newPayment(overrides: Record<string, unknown> = {}) {
  paymentCounter += 1;
  const invoice = await newInvoice();
  return prisma.payment.create({
    data: {
      invoiceId: invoice.id,
      tripayReference: `T-PAY-${paymentCounter}`,
      paymentMethod: 'BRIVA',
      amount: 50_000,
      ...overrides,
    },
  });
}

type Status = 'PENDING' | 'PAID' | 'EXPIRED' | 'CANCELLED';
const TERMINAL: Status[] = ['PAID', 'EXPIRED', 'CANCELLED'];
const ALL: Status[] = ['PENDING', ...TERMINAL];

/** The data that moves a PENDING invoice to `status` legally (PAID needs paid_at). */
const moveTo = (status: Status) => (status === 'PAID' ? { status, paidAt: new Date() } : { status });

/** An invoice moved through the legal flow to `status`. */
async function invoiceIn(status: Status) {
  const invoice = await newInvoice();
  if (status === 'PENDING') return invoice;
  return prisma.invoice.update({ where: { id: invoice.id }, data: moveTo(status) });
}

describe('invoice status flow trigger', () => {
  test.each<Status>(TERMINAL)('legal transition PENDING -> %s is accepted', async (to) => {
    const invoice = await invoiceIn('PENDING');
    const data = moveTo(to);
    const updated = await prisma.invoice.update({ where: { id: invoice.id }, data });
    expect(updated.status).toBe(to);
    expect(updated.paidAt).toEqual(to === 'PAID' ? data.paidAt : null);
    expect(await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } })).toMatchObject({ status: to });
  });

  const ILLEGAL = TERMINAL.flatMap((from) => ALL.filter((to) => to !== from).map((to): [Status, Status] => [from, to]));

  test.each<[Status, Status]>(ILLEGAL)(
    'illegal transition %s -> %s (out of a final state) is rejected with SQLSTATE 23514 and leaves the row unchanged',
    async (from, to) => {
      const invoice = await invoiceIn(from);
      const before = await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } });
      // Keep paid_at consistent with the target status, so only the trigger can object.
      const paidAt = to === 'PAID' ? new Date() : null;
      await expect(
        withClient(db.url, (c) =>
          c.query('UPDATE invoices SET status = $1, paid_at = $2 WHERE id = $3', [to, paidAt, invoice.id]),
        ),
      ).rejects.toMatchObject({
        code: '23514',
        message: `illegal invoice status transition ${from} -> ${to} (invoice ${invoice.invoiceNumber}): ${from} is final`,
      });
      expect(await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } })).toEqual(before);
    },
  );

  test('an illegal transition is rejected through the Prisma client too', async () => {
    const invoice = await invoiceIn('EXPIRED');
    await expect(prisma.invoice.update({ where: { id: invoice.id }, data: { status: 'PENDING' } })).rejects.toThrow(
      `illegal invoice status transition EXPIRED -> PENDING (invoice ${invoice.invoiceNumber}): EXPIRED is final`,
    );
    expect((await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } })).status).toBe('EXPIRED');
  });

  test('an invoice cannot be created as PAID', async () => {
    await expect(newInvoice({ status: 'PAID', paidAt: new Date() })).rejects.toThrow(
      /must be created as PENDING, not PAID/,
    );
    await expect(
      withClient(db.url, (c) =>
        c.query(
          `INSERT INTO invoices (invoice_number, order_id, user_id, amount, status, paid_at, expires_at)
           VALUES ('INV-RAW-PAID', gen_random_uuid(), gen_random_uuid(), 1000, 'PAID', now(), now() + interval '1 day')`,
        ),
      ),
    ).rejects.toMatchObject({ code: '23514', message: 'invoice INV-RAW-PAID must be created as PENDING, not PAID' });
    expect(await prisma.invoice.count({ where: { invoiceNumber: 'INV-RAW-PAID' } })).toBe(0);
  });

  test.each<Status>(['EXPIRED', 'CANCELLED'])('an invoice cannot be created as %s either', async (status) => {
    await expect(newInvoice({ status })).rejects.toThrow(`must be created as PENDING, not ${status}`);
  });

  test('an update of a final invoice that keeps its status is allowed', async () => {
    const invoice = await invoiceIn('PAID');
    const updated = await prisma.invoice.update({
      where: { id: invoice.id },
      data: { status: 'PAID', paymentUrl: 'https://tripay.co.id/checkout/T1' },
    });
    expect(updated).toMatchObject({
      status: 'PAID',
      paymentUrl: 'https://tripay.co.id/checkout/T1',
      paidAt: invoice.paidAt,
    });
  });
});

describe('billing CHECK constraints', () => {
  test('a negative invoice amount is rejected by invoices_amount_nonnegative', async () => {
    await expect(newInvoice({ amount: -1 })).rejects.toThrow(/invoices_amount_nonnegative/);
  });

  test('a lower-case currency code is rejected by invoices_currency_format', async () => {
    await expect(newInvoice({ currency: 'idr' })).rejects.toThrow(/invoices_currency_format/);
  });

  test('marking an invoice PAID without paid_at is rejected by invoices_paid_at_iff_paid', async () => {
    const invoice = await newInvoice();
    await expect(prisma.invoice.update({ where: { id: invoice.id }, data: { status: 'PAID' } })).rejects.toThrow(
      /invoices_paid_at_iff_paid/,
    );
    expect((await prisma.invoice.findUniqueOrThrow({ where: { id: invoice.id } })).status).toBe('PENDING');
  });

  test('a PENDING invoice with paid_at set is rejected by invoices_paid_at_iff_paid', async () => {
    await expect(newInvoice({ paidAt: new Date() })).rejects.toThrow(/invoices_paid_at_iff_paid/);
  });

  test('a negative payment amount is rejected by payments_amounts_nonnegative', async () => {
    await expect(newPayment({ amount: -50_000 })).rejects.toThrow(/payments_amounts_nonnegative/);
  });

  test('a negative Tripay fee is rejected by payments_amounts_nonnegative', async () => {
    await expect(newPayment({ fee: -1 })).rejects.toThrow(/payments_amounts_nonnegative/);
  });

  test('a PAID payment without paid_at is rejected by payments_paid_has_paid_at', async () => {
    await expect(newPayment({ status: 'PAID' })).rejects.toThrow(/payments_paid_has_paid_at/);
    await expect(newPayment({ status: 'PAID', paidAt: new Date() })).resolves.toMatchObject({ status: 'PAID' });
  });
});

describe('billing-service Prisma client round trip', () => {
  test('Invoice: create, read, update, delete', async () => {
    const expiresAt = new Date('2026-12-31T23:59:59.999Z');
    const created = await newInvoice({ amount: 1_250_000, expiresAt });
    expect(await prisma.invoice.findUnique({ where: { invoiceNumber: created.invoiceNumber } })).toMatchObject({
      id: created.id,
      amount: 1_250_000,
      currency: 'IDR',
      status: 'PENDING',
      paymentMethod: null,
      tripayReference: null,
      paymentUrl: null,
      paidAt: null,
      expiresAt,
      createdAt: expect.any(Date),
    });
    const updated = await prisma.invoice.update({
      where: { id: created.id },
      data: {
        paymentMethod: 'QRIS',
        tripayReference: 'T0001INV',
        paymentUrl: 'https://tripay.co.id/checkout/T0001INV',
      },
    });
    expect(updated).toMatchObject({ paymentMethod: 'QRIS', tripayReference: 'T0001INV', amount: 1_250_000 });
    expect(await prisma.invoice.findUnique({ where: { tripayReference: 'T0001INV' } })).toMatchObject({
      id: created.id,
    });
    await prisma.invoice.delete({ where: { id: created.id } });
    expect(await prisma.invoice.findUnique({ where: { id: created.id } })).toBeNull();
  });

  test('Payment: create, read, update (Tripay callback), delete', async () => {
    const payment = await newPayment({ amount: 100_000, paymentMethod: 'BRIVA' });
    expect(await prisma.payment.findUnique({ where: { tripayReference: payment.tripayReference } })).toMatchObject({
      id: payment.id,
      amount: 100_000,
      fee: 0,
      status: 'UNPAID',
      callbackPayload: null,
      paidAt: null,
    });
    const callback = {
      reference: payment.tripayReference,
      merchant_ref: 'INV-TEST',
      status: 'PAID',
      total_amount: 104_250,
      fee_merchant: 4_250,
      is_closed_payment: 1,
      note: null,
      items: [{ sku: 'basic', price: 100_000, quantity: 1 }],
    };
    const paidAt = new Date('2026-05-05T05:05:05.555Z');
    const paid = await prisma.payment.update({
      where: { id: payment.id },
      data: { status: 'PAID', fee: 4_250, callbackPayload: callback, paidAt },
    });
    expect(paid).toMatchObject({ status: 'PAID', fee: 4_250, paidAt });
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: payment.id } })).callbackPayload).toEqual(callback);
    await prisma.payment.delete({ where: { id: payment.id } });
    expect(await prisma.payment.findUnique({ where: { id: payment.id } })).toBeNull();
  });

  test('an invoice that has payments cannot be deleted (payments_invoice_id_fkey is RESTRICT)', async () => {
    const payment = await newPayment();
    await expect(
      withClient(db.url, (c) => c.query('DELETE FROM invoices WHERE id = $1', [payment.invoiceId])),
    ).rejects.toMatchObject({ code: '23503', constraint: 'payments_invoice_id_fkey' });
    expect(await prisma.invoice.findUnique({ where: { id: payment.invoiceId } })).not.toBeNull();
  });
});
