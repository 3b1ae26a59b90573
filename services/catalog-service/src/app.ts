import type { RequestListener } from 'node:http';
import { createServiceApp, type ServiceDeps } from '@webrana/service-kit';
import type { PrismaClient } from './generated/prisma/client';

export const SERVICE = 'catalog-service';

/** catalog-service's HTTP app: the shared health and metrics endpoints; its own routes mount here. */
export function createApp(deps: ServiceDeps<PrismaClient>): RequestListener {
  const given = deps.config.service;
  if (given !== SERVICE) throw new Error(`${SERVICE} was given the configuration of ${given}`);
  return createServiceApp(deps);
}
