import type { RequestListener } from 'node:http';
import { createServiceApp, type ServiceDeps } from '@webrana/service-kit';
import type { PrismaClient } from './generated/prisma/client';

export const SERVICE = 'catalog-service';

/**
 * catalog-service's HTTP app: the shared health and metrics endpoints, plus GET /plans (the active
 * plans, in display order). Prisma names every column of the model it selects (never `SELECT *`), so
 * which columns a release reads is exactly the fields its schema.prisma has: a release built from a
 * schema without a field never reads that column, and the column can be dropped once no older pod runs.
 */
export function createApp(deps: ServiceDeps<PrismaClient>): RequestListener {
  const given = deps.config.service;
  if (given !== SERVICE) throw new Error(`${SERVICE} was given the configuration of ${given}`);
  const { prisma } = deps.database;
  return createServiceApp(deps, (app) => {
    app.get('/plans', async (_req, res) => {
      const plans = await prisma.vpsPlan.findMany({
        where: { isActive: true },
        orderBy: [{ sortOrder: 'asc' }, { slug: 'asc' }],
      });
      res.json({ plans });
    });
  });
}
