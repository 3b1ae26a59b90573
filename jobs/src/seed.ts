import * as path from 'node:path';
import type { Logger } from '@webrana/logger';
import { serviceDir, type ServiceSpec } from '@webrana/registry';
import { seedService, type SeedModule, type SeedReport } from '@webrana/seeding';

/** Seeds one service with its compiled prisma/seed.ts (services/NAME/dist/prisma/seed.js). */
export function seedOne(
  service: ServiceSpec,
  database: { url: string; variable: string },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<SeedReport> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- each service compiles its own seed
  const module = require(path.join(serviceDir(service.name), 'dist', 'prisma', 'seed.js')) as SeedModule<never>;
  return seedService(module, service.name, database, env, log);
}
