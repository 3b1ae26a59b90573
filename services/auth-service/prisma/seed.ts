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
  /** Created in production too (the customer is not; an existing one is still rotated). */
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

/** Every documented default password of the spec: none may stay on a user in production. */
export const DOCUMENTED_DEFAULTS: readonly string[] = SEED_USERS.map((u) => u.documentedDefault);

export const DEFAULT_BCRYPT_COST = 12;
/** Below this a stolen hash is cheap to brute-force (OWASP asks for 10 or more). */
export const MIN_PRODUCTION_BCRYPT_COST = 10;
/** Above this one hash takes seconds and the seed's transaction times out. */
export const MAX_BCRYPT_COST = 15;

/** Why BCRYPT_COST cannot be used in this run, or null. */
export function bcryptCostProblem(env: NodeJS.ProcessEnv): string | null {
  const raw = env.BCRYPT_COST;
  if (raw === undefined || raw === '') return null;
  const cost = Number(raw);
  if (!/^\d+$/.test(raw) || cost < 4 || cost > MAX_BCRYPT_COST)
    return `BCRYPT_COST must be a whole number from 4 to ${MAX_BCRYPT_COST}, got "${raw}"`;
  if (isProduction(env) && cost < MIN_PRODUCTION_BCRYPT_COST)
    return `BCRYPT_COST=${cost} is too low for production: set BCRYPT_COST to ${MIN_PRODUCTION_BCRYPT_COST}..${MAX_BCRYPT_COST} (or unset it for ${DEFAULT_BCRYPT_COST})`;
  return null;
}

/** BCRYPT_COST (default 12, 4..15; at least 10 in production). */
export function bcryptCost(env: NodeJS.ProcessEnv): number {
  const problem = bcryptCostProblem(env);
  if (problem) throw new SeedRefused(problem);
  return env.BCRYPT_COST ? Number(env.BCRYPT_COST) : DEFAULT_BCRYPT_COST;
}

export interface SeedCandidate {
  user: SeedUser;
  /** From its variable; undefined when unset. */
  password: string | undefined;
  /** False for the customer in production: never created there, but an existing one is still rotated. */
  mayCreate: boolean;
}

/** Every seeded user this run looks at, and the password each gets from its variable. */
export function usersToSeed(env: NodeJS.ProcessEnv): SeedCandidate[] {
  const production = isProduction(env);
  return SEED_USERS.map((user) => ({
    user,
    password: env[user.passwordVariable] || undefined,
    mayCreate: user.productionToo || !production,
  }));
}

/**
 * Every reason this run must not write (empty when it may), given which users exist already:
 * weak passwords anywhere; in production, a documented default password or a missing variable for a
 * user that would be created.
 */
export function seedRefusals(env: NodeJS.ProcessEnv, existingEmails: ReadonlySet<string>): string[] {
  const production = isProduction(env);
  return usersToSeed(env).flatMap(({ user, password, mayCreate }): string[] => {
    const v = user.passwordVariable;
    if (password === undefined) {
      return production && mayCreate && !existingEmails.has(user.email)
        ? [
            `${v} is not set: in production ${user.email} is never created with the documented default password; set ${v}`,
          ]
        : [];
    }
    if (production && DOCUMENTED_DEFAULTS.includes(password))
      return [`${v} is a documented default password; choose another (${PASSWORD_RULE})`];
    const weakness = passwordWeakness(password);
    return weakness ? [`${v} is too weak: ${weakness}`] : [];
  });
}

/** Whether a stored bcrypt hash is one of the documented default passwords. */
export async function hasDocumentedDefault(passwordHash: string): Promise<boolean> {
  const matches = await Promise.all(DOCUMENTED_DEFAULTS.map((pw) => bcrypt.compare(pw, passwordHash)));
  return matches.some(Boolean);
}

/**
 * In production, the existing users that would keep a documented default password because their
 * variable is unset (an unset variable never rewrites a stored password): typically users a
 * development seed created before the database went to production.
 */
export async function storedDefaultRefusals(
  env: NodeJS.ProcessEnv,
  existing: readonly { email: string; passwordHash: string }[],
): Promise<string[]> {
  if (!isProduction(env)) return [];
  const refusals: string[] = [];
  for (const { user, password } of usersToSeed(env)) {
    const stored = existing.find((u) => u.email === user.email);
    if (password !== undefined || !stored || !(await hasDocumentedDefault(stored.passwordHash))) continue;
    const v = user.passwordVariable;
    refusals.push(
      `${user.email} still has a documented default password (from an earlier non-production seed); set ${v} (${PASSWORD_RULE}) and seed again to rotate it`,
    );
  }
  return refusals;
}

export const seed = async (tx: Tx, env: NodeJS.ProcessEnv, log: Logger) => {
  const candidates = usersToSeed(env);
  const existing = await tx.user.findMany({ where: { email: { in: candidates.map((c) => c.user.email) } } });
  const refusals = [
    ...[bcryptCostProblem(env)].filter((p): p is string => p !== null),
    ...seedRefusals(env, new Set(existing.map((u) => u.email))),
    ...(await storedDefaultRefusals(env, existing)),
  ];
  if (refusals.length > 0) throw new SeedRefused(`auth seed refused, nothing written:\n- ${refusals.join('\n- ')}`);
  const cost = bcryptCost(env);

  const report = emptyReport();
  for (const { user, password, mayCreate } of candidates) {
    const stored = existing.find((u) => u.email === user.email);
    if (!stored) {
      if (!mayCreate) continue;
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
