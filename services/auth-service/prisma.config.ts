// Prisma 7 CLI settings for auth-service (`prisma db seed`, `prisma studio`); migrations are applied by webrana-jobs.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { seed: 'node dist/prisma/seed.js' },
});
