import { SeedRefused } from '@webrana/seeding';
import { bcryptCost, passwordWeakness, seedRefusals, usersToSeed } from './seed';

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

  test('in production the customer user is not seeded', () => {
    expect(usersToSeed({ NODE_ENV: 'production' }).map((u) => u.user.email)).toEqual([
      'superadmin@webrana.cloud',
      'admin@webrana.cloud',
    ]);
    expect(usersToSeed({ WEBRANA_ENV: 'production' })).toHaveLength(2);
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
      'SUPER_ADMIN_PASSWORD is the documented default password; choose another (at least 12 characters, with a lower-case letter, an upper-case letter, a digit and a symbol)',
    ]);
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
    for (const bad of ['3', '16', '10.5', 'twelve']) {
      expect(() => bcryptCost({ BCRYPT_COST: bad })).toThrow(
        new SeedRefused(`BCRYPT_COST must be a whole number from 4 to 15, got "${bad}"`),
      );
    }
  });
});
