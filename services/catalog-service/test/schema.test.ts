import { PrismaPg } from '@prisma/adapter-pg';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { PrismaClient } from '../src/generated/prisma/client';

let db: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  db = await migratedTestDatabase('catalog-service');
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
});
afterAll(async () => {
  await prisma.$disconnect();
  await db.drop();
});

const USER_ID = '00000000-0000-4000-8000-000000000001';
const ORDER_ID = '00000000-0000-4000-8000-000000000002';

let counter = 0;
const next = () => (counter += 1);

function newPlan(overrides: Record<string, unknown> = {}) {
  const n = next();
  return prisma.vpsPlan.create({
    data: {
      slug: `basic-${n}`,
      name: `Basic ${n}`,
      cpuCores: 1,
      memoryMb: 1024,
      diskGb: 25,
      doSizeSlug: 's-1vcpu-1gb',
      ...overrides,
    },
  });
}

function newImage(overrides: Record<string, unknown> = {}) {
  const n = next();
  return prisma.vpsImage.create({
    data: {
      slug: `ubuntu-22-04-${n}`,
      name: 'Ubuntu 22.04 LTS',
      distribution: 'Ubuntu',
      version: '22.04',
      doImageSlug: 'ubuntu-22-04-x64',
      ...overrides,
    },
  });
}

async function newPricing(overrides: Record<string, unknown> = {}) {
  const plan = await newPlan();
  return prisma.planPricing.create({ data: { planId: plan.id, period: 'MONTHLY', price: 50_000, ...overrides } });
}

async function newPromo(overrides: Record<string, unknown> = {}) {
  const plan = await newPlan();
  return prisma.planPromo.create({
    data: {
      planId: plan.id,
      name: 'Harbolnas',
      discountType: 'PERCENT',
      discountValue: 20,
      startsAt: new Date('2026-12-01T00:00:00Z'),
      endsAt: new Date('2026-12-13T00:00:00Z'),
      ...overrides,
    },
  });
}

function newCoupon(overrides: Record<string, unknown> = {}) {
  return prisma.coupon.create({
    data: { code: `TEST${next()}`, discountType: 'PERCENT', discountValue: 10, ...overrides },
  });
}

async function newRedemption(overrides: Record<string, unknown> = {}) {
  const coupon = await newCoupon();
  return prisma.couponRedemption.create({
    data: { couponId: coupon.id, userId: USER_ID, orderId: ORDER_ID, discountAmount: 5_000, ...overrides },
  });
}

describe('catalog CHECK constraints', () => {
  test('a plan slug with upper case, spaces or a double dash is rejected by vps_plans_slug_format', async () => {
    await expect(newPlan({ slug: 'Basic Plan' })).rejects.toThrow(/vps_plans_slug_format/);
    await expect(newPlan({ slug: 'basic--1' })).rejects.toThrow(/vps_plans_slug_format/);
  });

  test.each([
    ['cpuCores', { cpuCores: 0 }],
    ['memoryMb', { memoryMb: 0 }],
    ['diskGb', { diskGb: -25 }],
  ])('a plan with non-positive %s is rejected by vps_plans_resources_positive', async (_field, overrides) => {
    await expect(newPlan(overrides)).rejects.toThrow(/vps_plans_resources_positive/);
  });

  test('a negative price is rejected by plan_pricings_price_nonnegative', async () => {
    await expect(newPricing({ price: -1 })).rejects.toThrow(/plan_pricings_price_nonnegative/);
  });

  test('a price of Rp 0 is accepted by plan_pricings_price_nonnegative', async () => {
    expect((await newPricing({ price: 0 })).price).toBe(0);
  });

  test('a second price for the same plan and period is rejected (plan_pricings_plan_id_period_key)', async () => {
    const pricing = await newPricing();
    await expect(
      withClient(db.url, (c) =>
        c.query(`INSERT INTO plan_pricings (plan_id, period, price) VALUES ($1, 'MONTHLY', 60000)`, [pricing.planId]),
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'plan_pricings_plan_id_period_key' });
  });

  test.each([0, 101])('a promo of %i%% is rejected by plan_promos_discount_in_range', async (percent) => {
    await expect(newPromo({ discountType: 'PERCENT', discountValue: percent })).rejects.toThrow(
      /plan_promos_discount_in_range/,
    );
  });

  test.each([1, 100])('a promo of %i%% is accepted by plan_promos_discount_in_range', async (percent) => {
    expect((await newPromo({ discountType: 'PERCENT', discountValue: percent })).discountValue).toBe(percent);
  });

  test('a FIXED promo of Rp 0 is rejected by plan_promos_discount_in_range', async () => {
    await expect(newPromo({ discountType: 'FIXED', discountValue: 0 })).rejects.toThrow(
      /plan_promos_discount_in_range/,
    );
  });

  test('a FIXED promo above 100 (whole Rupiah) is accepted by plan_promos_discount_in_range', async () => {
    expect((await newPromo({ discountType: 'FIXED', discountValue: 25_000 })).discountValue).toBe(25_000);
  });

  test('a promo that ends when it starts is rejected by plan_promos_ends_after_start', async () => {
    const at = new Date('2026-12-01T00:00:00Z');
    await expect(newPromo({ startsAt: at, endsAt: at })).rejects.toThrow(/plan_promos_ends_after_start/);
  });

  test('an image slug with a dot is rejected by vps_images_slug_format', async () => {
    await expect(newImage({ slug: 'ubuntu-22.04' })).rejects.toThrow(/vps_images_slug_format/);
  });

  test('a lower-case coupon code is rejected by coupons_code_format', async () => {
    await expect(newCoupon({ code: 'welcome10' })).rejects.toThrow(/coupons_code_format/);
  });

  test('a coupon of 0% is rejected by coupons_discount_in_range', async () => {
    await expect(newCoupon({ discountType: 'PERCENT', discountValue: 0 })).rejects.toThrow(/coupons_discount_in_range/);
  });

  test('a coupon of 101% is rejected by coupons_discount_in_range', async () => {
    await expect(newCoupon({ discountType: 'PERCENT', discountValue: 101 })).rejects.toThrow(
      /coupons_discount_in_range/,
    );
  });

  test('a coupon of 1% is accepted by coupons_discount_in_range', async () => {
    const coupon = await newCoupon({ discountType: 'PERCENT', discountValue: 1 });
    expect(await prisma.coupon.findUniqueOrThrow({ where: { id: coupon.id } })).toMatchObject({
      discountType: 'PERCENT',
      discountValue: 1,
    });
  });

  test('a coupon of 100% is accepted by coupons_discount_in_range', async () => {
    const coupon = await newCoupon({ discountType: 'PERCENT', discountValue: 100 });
    expect(await prisma.coupon.findUniqueOrThrow({ where: { id: coupon.id } })).toMatchObject({
      discountType: 'PERCENT',
      discountValue: 100,
    });
  });

  test('a FIXED coupon of Rp 0 is rejected by coupons_discount_in_range', async () => {
    await expect(newCoupon({ discountType: 'FIXED', discountValue: 0 })).rejects.toThrow(/coupons_discount_in_range/);
  });

  test('a coupon raised to 101% by an update is rejected by coupons_discount_in_range', async () => {
    const coupon = await newCoupon({ discountValue: 50 });
    await expect(prisma.coupon.update({ where: { id: coupon.id }, data: { discountValue: 101 } })).rejects.toThrow(
      /coupons_discount_in_range/,
    );
    expect((await prisma.coupon.findUniqueOrThrow({ where: { id: coupon.id } })).discountValue).toBe(50);
  });

  test('a negative maximum discount is rejected by coupons_amounts_nonnegative', async () => {
    await expect(newCoupon({ maxDiscountAmount: -1 })).rejects.toThrow(/coupons_amounts_nonnegative/);
  });

  test('a negative minimum order amount is rejected by coupons_amounts_nonnegative', async () => {
    await expect(newCoupon({ minOrderAmount: -100_000 })).rejects.toThrow(/coupons_amounts_nonnegative/);
  });

  test('a coupon that ends before it starts is rejected by coupons_ends_after_start', async () => {
    await expect(
      newCoupon({ startsAt: new Date('2026-06-01T00:00:00Z'), endsAt: new Date('2026-05-01T00:00:00Z') }),
    ).rejects.toThrow(/coupons_ends_after_start/);
  });

  test('a coupon open at one end (no start or no end) is accepted by coupons_ends_after_start', async () => {
    expect((await newCoupon({ endsAt: new Date('2026-05-01T00:00:00Z') })).startsAt).toBeNull();
    expect((await newCoupon({ startsAt: new Date('2026-05-01T00:00:00Z') })).endsAt).toBeNull();
  });

  test('a maximum of 0 redemptions is rejected by coupons_redemption_limits_positive', async () => {
    await expect(newCoupon({ maxRedemptions: 0 })).rejects.toThrow(/coupons_redemption_limits_positive/);
  });

  test('a maximum of 0 redemptions per user is rejected by coupons_redemption_limits_positive', async () => {
    await expect(newCoupon({ maxRedemptionsPerUser: 0 })).rejects.toThrow(/coupons_redemption_limits_positive/);
  });

  test('a negative redemption discount is rejected by coupon_redemptions_discount_nonnegative', async () => {
    await expect(newRedemption({ discountAmount: -5_000 })).rejects.toThrow(/coupon_redemptions_discount_nonnegative/);
  });

  test('a coupon cannot be redeemed twice on one order (coupon_redemptions_coupon_id_order_id_key)', async () => {
    const redemption = await newRedemption();
    await expect(
      withClient(db.url, (c) =>
        c.query(
          `INSERT INTO coupon_redemptions (coupon_id, user_id, order_id, discount_amount) VALUES ($1, $2, $3, 1000)`,
          [redemption.couponId, USER_ID, ORDER_ID],
        ),
      ),
    ).rejects.toMatchObject({ code: '23505', constraint: 'coupon_redemptions_coupon_id_order_id_key' });
  });

  test('a coupon that has been redeemed cannot be deleted (coupon_redemptions_coupon_id_fkey is RESTRICT)', async () => {
    const redemption = await newRedemption();
    await expect(
      withClient(db.url, (c) => c.query('DELETE FROM coupons WHERE id = $1', [redemption.couponId])),
    ).rejects.toMatchObject({
      code: '23503',
      constraint: 'coupon_redemptions_coupon_id_fkey',
    });
    expect(await prisma.coupon.findUnique({ where: { id: redemption.couponId } })).not.toBeNull();
  });
});

describe('catalog-service Prisma client round trip', () => {
  test('VpsPlan: create, read, update, delete (deleting cascades to pricings, promos, images and coupon plans)', async () => {
    const plan = await newPlan({
      slug: 'pro',
      name: 'Pro',
      cpuCores: 4,
      memoryMb: 8192,
      diskGb: 160,
      doSizeSlug: 's-4vcpu-8gb',
    });
    expect(await prisma.vpsPlan.findUnique({ where: { slug: 'pro' } })).toMatchObject({
      id: plan.id,
      name: 'Pro',
      description: null,
      cpuCores: 4,
      memoryMb: 8192,
      diskGb: 160,
      doSizeSlug: 's-4vcpu-8gb',
      isActive: true,
      sortOrder: 0,
      createdAt: expect.any(Date),
    });
    const updated = await prisma.vpsPlan.update({
      where: { id: plan.id },
      data: { description: '4 vCPU, 8 GB RAM', isActive: false, sortOrder: 3 },
    });
    expect(updated).toMatchObject({ description: '4 vCPU, 8 GB RAM', isActive: false, sortOrder: 3 });

    const image = await newImage();
    const coupon = await newCoupon();
    await prisma.planPricing.create({ data: { planId: plan.id, period: 'YEARLY', price: 4_000_000 } });
    await prisma.planPromo.create({
      data: {
        planId: plan.id,
        name: 'Launch',
        discountType: 'FIXED',
        discountValue: 10_000,
        startsAt: new Date(),
        endsAt: new Date(Date.now() + 1000),
      },
    });
    await prisma.vpsPlanImage.create({ data: { planId: plan.id, imageId: image.id } });
    await prisma.couponPlan.create({ data: { couponId: coupon.id, planId: plan.id } });
    await prisma.vpsPlan.delete({ where: { id: plan.id } });
    expect(await prisma.vpsPlan.findUnique({ where: { id: plan.id } })).toBeNull();
    expect(await prisma.planPricing.count({ where: { planId: plan.id } })).toBe(0);
    expect(await prisma.planPromo.count({ where: { planId: plan.id } })).toBe(0);
    expect(await prisma.vpsPlanImage.count({ where: { planId: plan.id } })).toBe(0);
    expect(await prisma.couponPlan.count({ where: { planId: plan.id } })).toBe(0);
    expect(await prisma.vpsImage.findUnique({ where: { id: image.id } })).not.toBeNull();
    expect(await prisma.coupon.findUnique({ where: { id: coupon.id } })).not.toBeNull();
  });

  test('PlanPricing: create, read, update, delete', async () => {
    const pricing = await newPricing({ period: 'MONTHLY', price: 100_000 });
    expect(
      await prisma.planPricing.findUnique({ where: { planId_period: { planId: pricing.planId, period: 'MONTHLY' } } }),
    ).toMatchObject({
      id: pricing.id,
      price: 100_000,
      isActive: true,
    });
    const updated = await prisma.planPricing.update({
      where: { id: pricing.id },
      data: { price: 1_000_000, period: 'YEARLY', isActive: false },
    });
    expect(updated).toMatchObject({ price: 1_000_000, period: 'YEARLY', isActive: false });
    await prisma.planPricing.delete({ where: { id: pricing.id } });
    expect(await prisma.planPricing.findUnique({ where: { id: pricing.id } })).toBeNull();
  });

  test('PlanPromo: create, read, update, delete', async () => {
    const startsAt = new Date('2026-11-11T00:00:00.000Z');
    const endsAt = new Date('2026-11-12T00:00:00.000Z');
    const promo = await newPromo({ name: '11.11', discountType: 'PERCENT', discountValue: 11, startsAt, endsAt });
    expect(await prisma.planPromo.findUnique({ where: { id: promo.id } })).toMatchObject({
      name: '11.11',
      discountType: 'PERCENT',
      discountValue: 11,
      startsAt,
      endsAt,
      isActive: true,
    });
    const updated = await prisma.planPromo.update({
      where: { id: promo.id },
      data: { discountType: 'FIXED', discountValue: 15_000, isActive: false },
    });
    expect(updated).toMatchObject({ discountType: 'FIXED', discountValue: 15_000, isActive: false });
    await prisma.planPromo.delete({ where: { id: promo.id } });
    expect(await prisma.planPromo.findUnique({ where: { id: promo.id } })).toBeNull();
  });

  test('VpsImage: create, read, update, delete', async () => {
    const image = await newImage({
      slug: 'debian-12',
      name: 'Debian 12',
      distribution: 'Debian',
      version: '12',
      doImageSlug: 'debian-12-x64',
    });
    expect(await prisma.vpsImage.findUnique({ where: { slug: 'debian-12' } })).toMatchObject({
      id: image.id,
      name: 'Debian 12',
      distribution: 'Debian',
      version: '12',
      doImageSlug: 'debian-12-x64',
      isActive: true,
      sortOrder: 0,
    });
    expect(
      (await prisma.vpsImage.update({ where: { id: image.id }, data: { sortOrder: 2, isActive: false } })).sortOrder,
    ).toBe(2);
    await prisma.vpsImage.delete({ where: { id: image.id } });
    expect(await prisma.vpsImage.findUnique({ where: { id: image.id } })).toBeNull();
  });

  test('VpsPlanImage: create, read, update, delete', async () => {
    const plan = await newPlan();
    const [ubuntu, debian] = [await newImage(), await newImage()];
    const link = await prisma.vpsPlanImage.create({ data: { planId: plan.id, imageId: ubuntu.id } });
    expect(
      await prisma.vpsPlanImage.findUnique({ where: { planId_imageId: { planId: plan.id, imageId: ubuntu.id } } }),
    ).toEqual(link);
    expect(
      (
        await prisma.vpsPlan.findUniqueOrThrow({
          where: { id: plan.id },
          include: { images: { include: { image: true } } },
        })
      ).images[0]!.image.slug,
    ).toBe(ubuntu.slug);
    const moved = await prisma.vpsPlanImage.update({
      where: { planId_imageId: { planId: plan.id, imageId: ubuntu.id } },
      data: { imageId: debian.id },
    });
    expect(moved).toMatchObject({ planId: plan.id, imageId: debian.id });
    await prisma.vpsPlanImage.delete({ where: { planId_imageId: { planId: plan.id, imageId: debian.id } } });
    expect(await prisma.vpsPlanImage.count({ where: { planId: plan.id } })).toBe(0);
  });

  test('Coupon: create, read, update, delete', async () => {
    const coupon = await newCoupon({
      code: 'WELCOME10',
      discountType: 'PERCENT',
      discountValue: 10,
      maxDiscountAmount: 100_000,
    });
    expect(await prisma.coupon.findUnique({ where: { code: 'WELCOME10' } })).toMatchObject({
      id: coupon.id,
      description: null,
      discountType: 'PERCENT',
      discountValue: 10,
      maxDiscountAmount: 100_000,
      minOrderAmount: null,
      startsAt: null,
      endsAt: null,
      maxRedemptions: null,
      maxRedemptionsPerUser: null,
      isActive: true,
    });
    const updated = await prisma.coupon.update({
      where: { id: coupon.id },
      data: {
        code: 'FLAT25K',
        discountType: 'FIXED',
        discountValue: 25_000,
        maxDiscountAmount: null,
        minOrderAmount: 100_000,
        maxRedemptions: 500,
        maxRedemptionsPerUser: 1,
      },
    });
    expect(updated).toMatchObject({
      code: 'FLAT25K',
      discountType: 'FIXED',
      discountValue: 25_000,
      maxDiscountAmount: null,
      minOrderAmount: 100_000,
      maxRedemptions: 500,
      maxRedemptionsPerUser: 1,
    });
    await prisma.couponUser.create({ data: { couponId: coupon.id, userId: USER_ID } });
    await prisma.coupon.delete({ where: { id: coupon.id } });
    expect(await prisma.coupon.findUnique({ where: { id: coupon.id } })).toBeNull();
    expect(await prisma.couponUser.count({ where: { couponId: coupon.id } })).toBe(0);
  });

  test('CouponPlan: create, read, update, delete', async () => {
    const coupon = await newCoupon();
    const [basic, pro] = [await newPlan(), await newPlan()];
    const link = await prisma.couponPlan.create({ data: { couponId: coupon.id, planId: basic.id } });
    expect(
      await prisma.couponPlan.findUnique({ where: { couponId_planId: { couponId: coupon.id, planId: basic.id } } }),
    ).toEqual(link);
    const moved = await prisma.couponPlan.update({
      where: { couponId_planId: { couponId: coupon.id, planId: basic.id } },
      data: { planId: pro.id },
    });
    expect(moved).toMatchObject({ couponId: coupon.id, planId: pro.id });
    await prisma.couponPlan.delete({ where: { couponId_planId: { couponId: coupon.id, planId: pro.id } } });
    expect(await prisma.couponPlan.count({ where: { couponId: coupon.id } })).toBe(0);
  });

  test('CouponUser: create, read, update, delete', async () => {
    const coupon = await newCoupon();
    const other = '00000000-0000-4000-8000-000000000099';
    const link = await prisma.couponUser.create({ data: { couponId: coupon.id, userId: USER_ID } });
    expect(
      await prisma.couponUser.findUnique({ where: { couponId_userId: { couponId: coupon.id, userId: USER_ID } } }),
    ).toEqual(link);
    const moved = await prisma.couponUser.update({
      where: { couponId_userId: { couponId: coupon.id, userId: USER_ID } },
      data: { userId: other },
    });
    expect(moved).toMatchObject({ couponId: coupon.id, userId: other });
    await prisma.couponUser.delete({ where: { couponId_userId: { couponId: coupon.id, userId: other } } });
    expect(await prisma.couponUser.count({ where: { couponId: coupon.id } })).toBe(0);
  });

  test('CouponRedemption: create, read, update, delete', async () => {
    const redemption = await newRedemption({ discountAmount: 7_500 });
    expect(
      await prisma.couponRedemption.findUnique({
        where: { couponId_orderId: { couponId: redemption.couponId, orderId: ORDER_ID } },
      }),
    ).toMatchObject({
      id: redemption.id,
      userId: USER_ID,
      discountAmount: 7_500,
      redeemedAt: expect.any(Date),
    });
    const redeemedAt = new Date('2026-07-17T17:17:17.170Z');
    expect(
      await prisma.couponRedemption.update({ where: { id: redemption.id }, data: { discountAmount: 0, redeemedAt } }),
    ).toMatchObject({
      discountAmount: 0,
      redeemedAt,
    });
    await prisma.couponRedemption.delete({ where: { id: redemption.id } });
    expect(await prisma.couponRedemption.findUnique({ where: { id: redemption.id } })).toBeNull();
    await prisma.coupon.delete({ where: { id: redemption.couponId } });
  });
});
