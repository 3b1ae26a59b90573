import { SeedRefused } from '@webrana/seeding';
import * as bcrypt from 'bcrypt';
import { bcryptCost, passwordWeakness, seedRefusals, storedDefaultRefusals, usersToSeed } from './seed';

const none = new Set<string>();

describe('auth seed policy', () => {
  test.each(['Sup3r-Secret-Pass!', 'Customer123!', 'YourSecurePassword123!'])('%s is strong enough', (pw) => {
    expect(passwordWeakness(pw)).toBeNull();
  });

  test.each([
    ['shorter than 12 characters', 'Ab1!short'],
    ['without an upper-case letter', 'lower-case-only-1!'],
    ['without a lower-case letter', 'UPPER-CASE-ONLY-1!'],
    ['without a digit', 'No-Digits-Here-At-All!'],
    ['without a symbol', 'NoSymbolsHere12345'],
  ])('a password %s is too weak', (_why, pw) => {
    expect(passwordWeakness(pw)).toBe(
      'use at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol',
    );
  });

  test('outside production all three users are seeded, with documented defaults allowed', () => {
    expect(usersToSeed({}).map((u) => u.user.email)).toEqual([
      'superadmin@webrana.cloud',
      'admin@webrana.cloud',
      'customer@webrana.cloud',
    ]);
    expect(seedRefusals({}, none)).toEqual([]);
  });

  test('in production the customer user is never created, only rotated when it exists', () => {
    const created = (env: NodeJS.ProcessEnv) =>
      usersToSeed(env)
        .filter((u) => u.mayCreate)
        .map((u) => u.user.email);
    expect(created({ NODE_ENV: 'production' })).toEqual(['superadmin@webrana.cloud', 'admin@webrana.cloud']);
    expect(created({ WEBRANA_ENV: 'production' })).toHaveLength(2);
    expect(usersToSeed({ NODE_ENV: 'production' })).toHaveLength(3);
  });

  test('in production a missing variable is refused only for a user that does not exist yet', () => {
    const env = { NODE_ENV: 'production', SUPER_ADMIN_PASSWORD: 'Sup3r-Secret-Pass!' };
    expect(seedRefusals(env, none)).toEqual([
      'ADMIN_PASSWORD is not set: in production admin@webrana.cloud is never created with the documented default password; set ADMIN_PASSWORD',
    ]);
    expect(seedRefusals(env, new Set(['admin@webrana.cloud']))).toEqual([]);
  });

  test('in production a documented default password is refused even when set explicitly', () => {
    expect(
      seedRefusals(
        { NODE_ENV: 'production', SUPER_ADMIN_PASSWORD: 'SuperAdmin123!', ADMIN_PASSWORD: 'Adm1n-Secret-Pass!' },
        none,
      ),
    ).toEqual([
      'SUPER_ADMIN_PASSWORD is a documented default password; choose another (at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol)',
    ]);
  });

  test("in production another user's documented default is refused too", () => {
    expect(
      seedRefusals(
        { NODE_ENV: 'production', SUPER_ADMIN_PASSWORD: 'Customer123!', ADMIN_PASSWORD: 'Adm1n-Secret-Pass!' },
        none,
      ),
    ).toEqual([expect.stringMatching(/^SUPER_ADMIN_PASSWORD is a documented default password/)]);
  });

  test('a weak password is refused in any mode, and the message never contains it', () => {
    const refusals = seedRefusals({ ADMIN_PASSWORD: 'admin' }, none);
    expect(refusals).toEqual([
      'ADMIN_PASSWORD is too weak: use at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol',
    ]);
    expect(refusals.join()).not.toContain('admin"');
  });

  test('BCRYPT_COST defaults to 12 and must be a whole number from 4 to 15', () => {
    expect(bcryptCost({})).toBe(12);
    expect(bcryptCost({ BCRYPT_COST: '4' })).toBe(4);
    for (const bad of ['3', '16', '100', '10.5', 'twelve', '-1']) {
      expect(() => bcryptCost({ BCRYPT_COST: bad })).toThrow(
        new SeedRefused(`BCRYPT_COST must be a whole number from 4 to 15, got "${bad}"`),
      );
    }
  });

  test('a BCRYPT_COST below 10 is refused in production, naming the fix', () => {
    expect(() => bcryptCost({ NODE_ENV: 'production', BCRYPT_COST: '8' })).toThrow(
      new SeedRefused('BCRYPT_COST=8 is too low for production: set BCRYPT_COST to 10..15 (or unset it for 12)'),
    );
    expect(bcryptCost({ WEBRANA_ENV: 'production', BCRYPT_COST: '10' })).toBe(10);
    expect(bcryptCost({ NODE_ENV: 'production' })).toBe(12);
  });
});

describe('stored documented default passwords', () => {
  const hashes: Record<string, string> = {};
  beforeAll(async () => {
    for (const pw of ['SuperAdmin123!', 'Admin123!', 'Customer123!', 'Sup3r-Secret-Pass!'])
      hashes[pw] = await bcrypt.hash(pw, 4);
  });
  const prod = { NODE_ENV: 'production' };

  test('in production an existing user whose stored hash is a documented default is refused when its variable is unset', async () => {
    const refusals = await storedDefaultRefusals(prod, [
      { email: 'admin@webrana.cloud', passwordHash: hashes['Admin123!']! },
      { email: 'superadmin@webrana.cloud', passwordHash: hashes['Sup3r-Secret-Pass!']! },
      // Another user's default counts too.
      { email: 'customer@webrana.cloud', passwordHash: hashes['SuperAdmin123!']! },
    ]);
    expect(refusals).toEqual([
      'admin@webrana.cloud still has a documented default password (from an earlier non-production seed); set ADMIN_PASSWORD (at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol) and seed again to rotate it',
      expect.stringMatching(
        /^customer@webrana.cloud still has a documented default password .*; set CUSTOMER_PASSWORD/,
      ),
    ]);
  });

  test('a set variable (which rotates the password) or a development run is not refused', async () => {
    const existing = [{ email: 'admin@webrana.cloud', passwordHash: hashes['Admin123!']! }];
    expect(await storedDefaultRefusals({ ...prod, ADMIN_PASSWORD: 'Adm1n-Secret-Pass!' }, existing)).toEqual([]);
    expect(await storedDefaultRefusals({}, existing)).toEqual([]);
  });
});
