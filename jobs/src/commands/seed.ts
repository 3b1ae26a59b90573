import { parseArgs } from 'node:util';
import { migrationOrder } from '@webrana/registry';
import { seedOne } from '../seed';
import { databaseUrlFor, requireService, UsageError } from './common';
import type { CommandIO } from './migrate';

export const SEED_USAGE = `usage: webrana-jobs seed [--service=NAME] [--database-url=URL]

Runs a service's prisma/seed.ts (compiled to dist/prisma/seed.js) in one transaction: rows are
created when missing and written only when they differ, so any number of runs is safe. Without
--service, every service that has a seed, in dependency order (auth-service, catalog-service).

  --service=NAME       auth-service or catalog-service (order-service and billing-service have none)
  --database-url=URL   default: the service's variable (AUTH_DATABASE_URL, ...), then DATABASE_URL
                       (a URL given here is visible to other users in the process list; prefer the variables)
  -h, --help           this text

auth-service reads SUPER_ADMIN_PASSWORD, ADMIN_PASSWORD, CUSTOMER_PASSWORD (the customer user is
never created in production; an existing one is rotated) and BCRYPT_COST (4..15, default 12). With
NODE_ENV=production (or WEBRANA_ENV=production) it refuses, writing nothing, to create a user without
its password variable; to use a documented default password or one shorter than 12 characters or
lacking a lower-case letter, an upper-case letter, a digit or a symbol; to leave an existing user
whose stored password is still a documented default (set its variable to rotate it); or to hash with
BCRYPT_COST below 10. A set variable rotates a stored password that differs; an unset one never does.
`;

export async function seedCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      service: { type: 'string' },
      'database-url': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    io.out(SEED_USAGE);
    return 0;
  }
  if (!values.service) {
    if (values['database-url'])
      throw new UsageError('--database-url needs --service (each service has its own database)');
    for (const service of migrationOrder().filter((s) => s.hasSeed)) {
      const url = databaseUrlFor(service, undefined, { ...io.env, DATABASE_URL: undefined });
      await seedOne(service, url, io.env, io.log);
    }
    return 0;
  }
  const service = requireService(values.service);
  if (!service.hasSeed) {
    io.log.info({ service: service.name }, 'this service has no seed; nothing to do');
    return 0;
  }
  await seedOne(service, databaseUrlFor(service, values['database-url'], io.env), io.env, io.log);
  return 0;
}
