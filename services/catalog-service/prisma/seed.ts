// Catalog seed: the spec's plans (monthly prices in whole Rupiah, yearly = 10 months), OS images,
// which images each plan offers, and the two coupons. The seed is the source of truth for these rows:
// a changed value is put back, an unchanged row is not written.
import { prismaAdapter } from '@webrana/db';
import { count, emptyReport, seedFromCommandLine, upsertIfChanged, type SeedModule } from '@webrana/seeding';
import { PrismaClient, type Prisma } from '../src/generated/prisma/client';

type Tx = Prisma.TransactionClient;

/** Yearly price = 10 monthly prices (two months free). */
export const MONTHS_PAID_PER_YEAR = 10;

export const PLANS = [
  {
    slug: 'basic',
    name: 'Basic',
    cpuCores: 1,
    memoryMb: 1024,
    diskGb: 25,
    doSizeSlug: 's-1vcpu-1gb',
    monthly: 50_000,
    sortOrder: 1,
  },
  {
    slug: 'standard',
    name: 'Standard',
    cpuCores: 2,
    memoryMb: 2048,
    diskGb: 50,
    doSizeSlug: 's-2vcpu-2gb',
    monthly: 100_000,
    sortOrder: 2,
  },
  {
    slug: 'pro',
    name: 'Pro',
    cpuCores: 4,
    memoryMb: 8192,
    diskGb: 160,
    doSizeSlug: 's-4vcpu-8gb',
    monthly: 400_000,
    sortOrder: 3,
  },
] as const;

export const IMAGES = [
  {
    slug: 'ubuntu-22-04',
    name: 'Ubuntu 22.04 LTS',
    distribution: 'Ubuntu',
    version: '22.04 LTS',
    doImageSlug: 'ubuntu-22-04-x64',
    sortOrder: 1,
  },
  {
    slug: 'ubuntu-24-04',
    name: 'Ubuntu 24.04 LTS',
    distribution: 'Ubuntu',
    version: '24.04 LTS',
    doImageSlug: 'ubuntu-24-04-x64',
    sortOrder: 2,
  },
  {
    slug: 'debian-12',
    name: 'Debian 12',
    distribution: 'Debian',
    version: '12',
    doImageSlug: 'debian-12-x64',
    sortOrder: 3,
  },
  {
    slug: 'centos-stream-9',
    name: 'CentOS Stream 9',
    distribution: 'CentOS',
    version: 'Stream 9',
    doImageSlug: 'centos-stream-9-x64',
    sortOrder: 4,
  },
] as const;

export const COUPONS = [
  {
    code: 'WELCOME10',
    description: '10% off, at most Rp 100,000',
    discountType: 'PERCENT',
    discountValue: 10,
    maxDiscountAmount: 100_000,
    minOrderAmount: null,
  },
  {
    code: 'FLAT25K',
    description: 'Rp 25,000 off orders of Rp 100,000 or more',
    discountType: 'FIXED',
    discountValue: 25_000,
    maxDiscountAmount: null,
    minOrderAmount: 100_000,
  },
] as const;

export const seed = async (tx: Tx) => {
  const report = emptyReport();
  const planIds: string[] = [];
  for (const { monthly, ...plan } of PLANS) {
    count(report, await upsertIfChanged(tx.vpsPlan, { slug: plan.slug }, { ...plan, isActive: true }));
    const { id } = await tx.vpsPlan.findUniqueOrThrow({ where: { slug: plan.slug }, select: { id: true } });
    planIds.push(id);
    for (const [period, price] of [
      ['MONTHLY', monthly],
      ['YEARLY', monthly * MONTHS_PAID_PER_YEAR],
    ] as const) {
      count(
        report,
        await upsertIfChanged(
          tx.planPricing,
          { planId_period: { planId: id, period } },
          { planId: id, period, price, isActive: true },
        ),
      );
    }
  }
  for (const image of IMAGES) {
    count(report, await upsertIfChanged(tx.vpsImage, { slug: image.slug }, { ...image, isActive: true }));
    const { id: imageId } = await tx.vpsImage.findUniqueOrThrow({ where: { slug: image.slug }, select: { id: true } });
    // Every plan offers every image.
    for (const planId of planIds) {
      count(
        report,
        await upsertIfChanged(tx.vpsPlanImage, { planId_imageId: { planId, imageId } }, { planId, imageId }),
      );
    }
  }
  for (const coupon of COUPONS) {
    count(report, await upsertIfChanged(tx.coupon, { code: coupon.code }, { ...coupon, isActive: true }));
  }
  return report;
};

export const createClient: SeedModule<Tx>['createClient'] = (url, variable) =>
  new PrismaClient({ adapter: prismaAdapter(url, variable) });

// `node dist/prisma/seed.js` (what `prisma db seed` runs): URL from CATALOG_DATABASE_URL or DATABASE_URL.
if (require.main === module) seedFromCommandLine({ seed, createClient }, 'catalog-service');
