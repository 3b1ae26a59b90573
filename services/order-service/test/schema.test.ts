import { PrismaPg } from '@prisma/adapter-pg';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { PrismaClient } from '../src/generated/prisma/client';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await migratedTestDatabase('order-service');
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

let orderCounter = 0;
function newOrder(overrides: Record<string, unknown> = {}) {
  orderCounter += 1;
  return prisma.order.create({
    data: {
      orderNumber: `WBR-TEST-${orderCounter}`,
      userId: '00000000-0000-4000-8000-000000000001',
      planId: '00000000-0000-4000-8000-000000000002',
      planSlug: 'basic',
      planName: 'Basic',
      cpuCores: 1,
      memoryMb: 1024,
      diskGb: 25,
      imageId: '00000000-0000-4000-8000-000000000003',
      imageSlug: 'ubuntu-22-04',
      billingPeriod: 'MONTHLY',
      basePrice: 50_000,
      finalPrice: 50_000,
      ...overrides,
    },
  });
}

type Status = 'PENDING_PAYMENT' | 'PAID' | 'PROVISIONING' | 'ACTIVE' | 'CANCELED' | 'FAILED';
const PATH_TO: Record<Status, Status[]> = {
  PENDING_PAYMENT: [],
  PAID: ['PAID'],
  PROVISIONING: ['PAID', 'PROVISIONING'],
  ACTIVE: ['PAID', 'PROVISIONING', 'ACTIVE'],
  CANCELED: ['CANCELED'],
  FAILED: ['PAID', 'PROVISIONING', 'FAILED'],
};

/** An order walked through the legal flow to `status`. */
async function orderIn(status: Status) {
  const order = await newOrder();
  for (const step of PATH_TO[status]) await prisma.order.update({ where: { id: order.id }, data: { status: step } });
  return order;
}

const historyOf = (orderId: string) =>
  prisma.statusHistory.findMany({
    where: { orderId },
    orderBy: { changedAt: 'asc' },
    select: { fromStatus: true, toStatus: true, changedAt: true },
  });

describe('order status flow trigger', () => {
  test('creating an order records one status_history row (none -> PENDING_PAYMENT)', async () => {
    const order = await newOrder();
    const history = await historyOf(order.id);
    expect(history).toEqual([{ fromStatus: null, toStatus: 'PENDING_PAYMENT', changedAt: expect.any(Date) }]);
  });

  test.each<[Status, Status]>([
    ['PENDING_PAYMENT', 'PAID'],
    ['PENDING_PAYMENT', 'CANCELED'],
    ['PAID', 'PROVISIONING'],
    ['PAID', 'CANCELED'],
    ['PROVISIONING', 'ACTIVE'],
    ['PROVISIONING', 'FAILED'],
  ])('legal transition %s -> %s leaves exactly one status_history row', async (from, to) => {
    const order = await orderIn(from);
    const before = await historyOf(order.id);
    await prisma.order.update({ where: { id: order.id }, data: { status: to } });
    const after = await historyOf(order.id);
    expect(after).toHaveLength(before.length + 1);
    expect(after.filter((h) => h.fromStatus === from && h.toStatus === to)).toHaveLength(1);
  });

  test.each<[Status, Status]>([
    ['PENDING_PAYMENT', 'ACTIVE'],
    ['PENDING_PAYMENT', 'PROVISIONING'],
    ['PENDING_PAYMENT', 'FAILED'],
    ['PAID', 'PENDING_PAYMENT'],
    ['PAID', 'ACTIVE'],
    ['PROVISIONING', 'CANCELED'],
    ['PROVISIONING', 'PAID'],
    ['ACTIVE', 'CANCELED'],
    ['ACTIVE', 'PENDING_PAYMENT'],
    ['CANCELED', 'PAID'],
    ['FAILED', 'PROVISIONING'],
  ])('illegal transition %s -> %s is rejected with a clear SQL error and leaves no history', async (from, to) => {
    const order = await orderIn(from);
    const before = await historyOf(order.id);
    await expect(
      withClient(db.url, (c) => c.query('UPDATE orders SET status = $1 WHERE id = $2', [to, order.id])),
    ).rejects.toMatchObject({
      code: '23514',
      message: `illegal order status transition ${from} -> ${to} (order ${order.orderNumber})`,
    });
    expect(await historyOf(order.id)).toEqual(before);
    expect((await prisma.order.findUniqueOrThrow({ where: { id: order.id } })).status).toBe(from);
  });

  test('an order cannot be created in a later status', async () => {
    await expect(newOrder({ status: 'PAID' })).rejects.toThrow(/must be created as PENDING_PAYMENT, not PAID/);
  });

  test('an update that keeps the status writes no history row', async () => {
    const order = await orderIn('PAID');
    const before = await historyOf(order.id);
    await prisma.order.update({ where: { id: order.id }, data: { status: 'PAID', hostname: 'vps-1' } });
    expect(await historyOf(order.id)).toEqual(before);
  });
});

describe('order CHECK constraints', () => {
  test('a negative price is rejected', async () => {
    await expect(newOrder({ basePrice: -1, finalPrice: -1 })).rejects.toThrow(/orders_amounts_nonnegative/);
  });

  test('a final price that does not add up from base price and discounts is rejected', async () => {
    await expect(newOrder({ basePrice: 100_000, promoDiscount: 10_000, finalPrice: 100_000 })).rejects.toThrow(
      /orders_final_price_adds_up/,
    );
  });

  test('an order item total must be unit price times quantity', async () => {
    const order = await newOrder();
    await expect(
      prisma.orderItem.create({
        data: {
          orderId: order.id,
          itemType: 'PLAN',
          description: 'Basic',
          quantity: 2,
          unitPrice: 50_000,
          totalPrice: 50_000,
        },
      }),
    ).rejects.toThrow(/order_items_total_adds_up/);
  });
});

describe('order-service Prisma client round trip', () => {
  test('Order: create, read, update, delete', async () => {
    const created = await newOrder({ couponCode: 'WELCOME10', couponDiscount: 5_000, finalPrice: 45_000 });
    expect(await prisma.order.findUnique({ where: { id: created.id } })).toMatchObject({
      couponDiscount: 5_000,
      finalPrice: 45_000,
      currency: 'IDR',
    });
    const updated = await prisma.order.update({ where: { id: created.id }, data: { hostname: 'vps-jakarta-1' } });
    expect(updated.hostname).toBe('vps-jakarta-1');
    await prisma.order.delete({ where: { id: created.id } });
    expect(await prisma.order.findUnique({ where: { id: created.id } })).toBeNull();
    expect(await historyOf(created.id)).toEqual([]);
  });

  test('OrderItem: create, read, update, delete', async () => {
    const order = await newOrder();
    const item = await prisma.orderItem.create({
      data: {
        orderId: order.id,
        itemType: 'PLAN',
        description: 'Basic monthly',
        unitPrice: 50_000,
        totalPrice: 50_000,
      },
    });
    expect(await prisma.orderItem.findUnique({ where: { id: item.id } })).toMatchObject({
      quantity: 1,
      itemType: 'PLAN',
    });
    expect(
      (await prisma.orderItem.update({ where: { id: item.id }, data: { quantity: 2, totalPrice: 100_000 } }))
        .totalPrice,
    ).toBe(100_000);
    await prisma.orderItem.delete({ where: { id: item.id } });
    expect(await prisma.orderItem.count({ where: { orderId: order.id } })).toBe(0);
  });

  test('ProvisioningTask: create, read, update, delete', async () => {
    const order = await orderIn('PROVISIONING');
    const task = await prisma.provisioningTask.create({ data: { orderId: order.id, region: 'sgp1' } });
    expect(await prisma.provisioningTask.findUnique({ where: { id: task.id } })).toMatchObject({
      status: 'PENDING',
      attempt: 1,
    });
    const done = await prisma.provisioningTask.update({
      where: { id: task.id },
      data: { status: 'SUCCEEDED', dropletId: 4_123_456_789n, ipv4Address: '203.0.113.10', finishedAt: new Date() },
    });
    expect(done.dropletId).toBe(4_123_456_789n);
    await prisma.provisioningTask.delete({ where: { id: task.id } });
    expect(await prisma.provisioningTask.findUnique({ where: { id: task.id } })).toBeNull();
  });

  test('StatusHistory: read, update, delete (rows are written by the trigger)', async () => {
    const order = await newOrder();
    const [row] = await prisma.statusHistory.findMany({ where: { orderId: order.id } });
    expect(row).toMatchObject({ fromStatus: null, toStatus: 'PENDING_PAYMENT' });
    const when = new Date('2026-01-01T00:00:00Z');
    expect(
      (await prisma.statusHistory.update({ where: { id: row!.id }, data: { changedAt: when } })).changedAt,
    ).toEqual(when);
    await prisma.statusHistory.delete({ where: { id: row!.id } });
    const created = await prisma.statusHistory.create({
      data: { orderId: order.id, fromStatus: 'PENDING_PAYMENT', toStatus: 'PAID' },
    });
    expect(await prisma.statusHistory.findMany({ where: { orderId: order.id } })).toEqual([created]);
  });
});
