// Auth seed: the spec's three users (super admin, admin, and a customer outside production).
// Run by `webrana-jobs seed --service=auth-service`, scripts/seed.sh, or `node dist/prisma/seed.js`.
import { prismaAdapter } from '@webrana/db';
import type { Logger } from '@webrana/logger';
import { count, emptyReport, seedFromCommandLine, isProduction, SeedRefused, type SeedModule } from '@webrana/seeding';
import * as bcrypt from 'bcrypt';
import { PrismaClient, type Prisma } from '../src/generated/prisma/client';

type Tx = Prisma.TransactionClient;
type Role = 'customer' | 'admin' | 'super_admin';

interface SeedUser {
  email: string;
  fullName: string;
  role: Role;
  /** Variable that sets (and rotates) its password. */
  passwordVariable: string;
  /** The spec's documented default password, used only outside production. */
  documentedDefault: string;
  productionToo: boolean;
}

export const SEED_USERS: readonly SeedUser[] = [
  {
    email: 'superadmin@webrana.cloud',
    fullName: 'Super Admin',
    role: 'super_admin',
    passwordVariable: 'SUPER_ADMIN_PASSWORD',
    documentedDefault: 'SuperAdmin123!',
    productionToo: true,
  },
  {
    email: 'admin@webrana.cloud',
    fullName: 'Admin',
    role: 'admin',
    passwordVariable: 'ADMIN_PASSWORD',
    documentedDefault: 'Admin123!',
    productionToo: true,
  },
  {
    email: 'customer@webrana.cloud',
    fullName: 'Customer',
    role: 'customer',
    passwordVariable: 'CUSTOMER_PASSWORD',
    documentedDefault: 'Customer123!',
    productionToo: false,
  },
];

export const PASSWORD_RULE =
  'at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol';

/** Why a password is too weak, or null. Never includes the password. */
export function passwordWeakness(password: string): string | null {
  const ok =
    password.length >= 12 &&
    /[a-z]/.test(password) &&
    /[A-Z]/.test(password) &&
    /[0-9]/.test(password) &&
    /[^A-Za-z0-9]/.test(password);
  return ok ? null : `use ${PASSWORD_RULE}`;
}

/** BCRYPT_COST (default 12, 4..15). */
export function bcryptCost(env: NodeJS.ProcessEnv): number {
  const raw = env.BCRYPT_COST ?? '12';
  const cost = Number(raw);
  if (!/^\d+$/.test(raw) || cost < 4 || cost > 15)
    throw new SeedRefused(`BCRYPT_COST must be a whole number from 4 to 15, got "${raw}"`);
  return cost;
}

/** The users this run seeds, and the password each gets from its variable (undefined: unset). */
export function usersToSeed(env: NodeJS.ProcessEnv): { user: SeedUser; password: string | undefined }[] {
  const production = isProduction(env);
  return SEED_USERS.filter((u) => u.productionToo || !production).map((user) => ({
    user,
    password: env[user.passwordVariable] || undefined,
  }));
}

/**
 * Every reason this run must not write (empty when it may), given which users exist already:
 * weak passwords anywhere; in production, a documented default password or a missing variable for a
 * user that would be created.
 */
export function seedRefusals(env: NodeJS.ProcessEnv, existingEmails: ReadonlySet<string>): string[] {
  const production = isProduction(env);
  return usersToSeed(env).flatMap(({ user, password }): string[] => {
    const v = user.passwordVariable;
    if (password === undefined) {
      return production && !existingEmails.has(user.email)
        ? [
            `${v} is not set: in production ${user.email} is never created with the documented default password; set ${v}`,
          ]
        : [];
    }
    if (production && password === user.documentedDefault)
      return [`${v} is the documented default password; choose another (${PASSWORD_RULE})`];
    const weakness = passwordWeakness(password);
    return weakness ? [`${v} is too weak: ${weakness}`] : [];
  });
}

export const seed = async (tx: Tx, env: NodeJS.ProcessEnv, log: Logger) => {
  const cost = bcryptCost(env);
  const wanted = usersToSeed(env);
  const existing = await tx.user.findMany({ where: { email: { in: wanted.map((w) => w.user.email) } } });
  const refusals = seedRefusals(env, new Set(existing.map((u) => u.email)));
  if (refusals.length > 0) throw new SeedRefused(`auth seed refused, nothing written:\n- ${refusals.join('\n- ')}`);

  const report = emptyReport();
  for (const { user, password } of wanted) {
    const stored = existing.find((u) => u.email === user.email);
    if (!stored) {
      if (password === undefined)
        log.warn({ email: user.email }, `created with the documented default password; set ${user.passwordVariable}`);
      const passwordHash = await bcrypt.hash(password ?? user.documentedDefault, cost);
      await tx.user.create({
        data: {
          email: user.email,
          fullName: user.fullName,
          role: user.role,
          status: 'active',
          emailVerifiedAt: new Date(),
          passwordHash,
        },
      });
      count(report, 'created');
      continue;
    }
    const changes: Prisma.UserUpdateInput = {};
    if (stored.role !== user.role) changes.role = user.role;
    // A set variable rotates the password; an unset one never overwrites it.
    if (password !== undefined && !(await bcrypt.compare(password, stored.passwordHash))) {
      changes.passwordHash = await bcrypt.hash(password, cost);
      log.info({ email: user.email }, `password rotated from ${user.passwordVariable}`);
    }
    if (Object.keys(changes).length === 0) {
      count(report, 'unchanged');
      continue;
    }
    await tx.user.update({ where: { id: stored.id }, data: changes });
    count(report, 'updated');
  }
  return report;
};

export const createClient: SeedModule<Tx>['createClient'] = (url, variable) =>
  new PrismaClient({ adapter: prismaAdapter(url, variable) });

// `node dist/prisma/seed.js` (what `prisma db seed` runs): URL from AUTH_DATABASE_URL or DATABASE_URL.
if (require.main === module) seedFromCommandLine({ seed, createClient }, 'auth-service');
