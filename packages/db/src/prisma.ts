import { PrismaPg } from '@prisma/adapter-pg';
import { parseDatabaseUrl } from './url';

/**
 * The Prisma 7 driver adapter for a spec-style URL. Prisma's adapter ignores Prisma's own URL
 * parameters, so they are applied here through the pg pool settings.
 */
export function prismaAdapter(databaseUrl: string, variable = 'DATABASE_URL'): PrismaPg {
  const { pool, schema } = parseDatabaseUrl(databaseUrl, variable);
  return new PrismaPg(pool, { schema });
}
