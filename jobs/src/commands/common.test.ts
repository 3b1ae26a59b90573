import * as path from 'node:path';
import { getService, REPO_ROOT } from '@webrana/registry';
import { BACKUP_USAGE, RESTORE_USAGE } from './backup';
import { databaseUrlFor, isProduction, migrateTarget, parseDuration, requireService, UsageError } from './common';
import { MIGRATE_USAGE } from './migrate';
import { SEED_USAGE } from './seed';

describe('parseDuration', () => {
  test.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['2m', 120_000],
    ['1500', 1_500],
    ['0', 0],
    ['0s', 0],
    [' 10s ', 10_000],
  ])('"%s" is %d ms', (value, ms) => {
    expect(parseDuration(value, 'lock-timeout')).toBe(ms);
  });

  test.each(['', 'abc', '10h', '1.5s', '-5', '10 s', '10S', '2M', 's', 'ms10', '10sec', '1e3'])(
    '"%s" throws a UsageError naming the flag and the value',
    (value) => {
      let error: unknown;
      try {
        parseDuration(value, 'lock-timeout');
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toBe(`--lock-timeout takes a duration like 500ms, 10s or 2m; got "${value}"`);
    },
  );
});

describe('requireService', () => {
  test('returns the registry spec of a known service', () => {
    expect(requireService('auth-service')).toBe(getService('auth-service'));
    expect(requireService('billing-service').urlVariable).toBe('BILLING_DATABASE_URL');
  });

  test('a missing name is a UsageError asking for --service', () => {
    expect(() => requireService(undefined)).toThrow(new UsageError('--service=NAME is required'));
    expect(() => requireService(undefined)).toThrow(UsageError);
    expect(() => requireService('')).toThrow(new UsageError('--service=NAME is required'));
  });

  test('an unknown name is a UsageError listing the known services', () => {
    expect(() => requireService('payment-service')).toThrow(UsageError);
    expect(() => requireService('payment-service')).toThrow(
      'unknown service "payment-service"; expected one of: auth-service, catalog-service, order-service, billing-service',
    );
  });
});

describe('databaseUrlFor', () => {
  const auth = getService('auth-service');
  const FLAG = 'postgresql://flag@h/db';
  const OWN = 'postgresql://own@h/webrana_auth';
  const SHARED = 'postgresql://shared@h/db';

  test('--database-url wins over the service variable and DATABASE_URL', () => {
    expect(databaseUrlFor(auth, FLAG, { AUTH_DATABASE_URL: OWN, DATABASE_URL: SHARED })).toEqual({
      url: FLAG,
      variable: '--database-url',
    });
  });

  test('without the flag, the service variable (AUTH_DATABASE_URL) wins over DATABASE_URL', () => {
    expect(databaseUrlFor(auth, undefined, { AUTH_DATABASE_URL: OWN, DATABASE_URL: SHARED })).toEqual({
      url: OWN,
      variable: 'AUTH_DATABASE_URL',
    });
  });

  test('DATABASE_URL is the fallback when the service variable is not set', () => {
    expect(databaseUrlFor(auth, undefined, { DATABASE_URL: SHARED })).toEqual({
      url: SHARED,
      variable: 'DATABASE_URL',
    });
  });

  test('an empty service variable falls through to DATABASE_URL', () => {
    expect(databaseUrlFor(auth, undefined, { AUTH_DATABASE_URL: '', DATABASE_URL: SHARED })).toEqual({
      url: SHARED,
      variable: 'DATABASE_URL',
    });
  });

  test("another service's variable is not used", () => {
    expect(() => databaseUrlFor(auth, undefined, { ORDER_DATABASE_URL: OWN })).toThrow(UsageError);
  });

  test('each service reads its own variable', () => {
    expect(
      databaseUrlFor(getService('catalog-service'), undefined, {
        AUTH_DATABASE_URL: 'postgresql://a@h/a',
        CATALOG_DATABASE_URL: 'postgresql://c@h/c',
      }),
    ).toEqual({ url: 'postgresql://c@h/c', variable: 'CATALOG_DATABASE_URL' });
  });

  test('no URL anywhere is a UsageError naming the service and its variable', () => {
    expect(() => databaseUrlFor(getService('order-service'), undefined, {})).toThrow(
      new UsageError(
        'no database URL for order-service: set ORDER_DATABASE_URL (or DATABASE_URL), or pass --database-url',
      ),
    );
    expect(() => databaseUrlFor(getService('order-service'), undefined, {})).toThrow(UsageError);
  });
});

describe('migrateTarget', () => {
  test('combines the URL source with the default migrations folder of the service', () => {
    expect(
      migrateTarget(getService('auth-service'), {}, { AUTH_DATABASE_URL: 'postgresql://u@h/webrana_auth' }),
    ).toEqual({
      service: 'auth-service',
      databaseUrl: 'postgresql://u@h/webrana_auth',
      urlVariable: 'AUTH_DATABASE_URL',
      migrationsDir: path.join(REPO_ROOT, 'services', 'auth-service', 'prisma', 'migrations'),
    });
  });

  test('--migrations-dir and --database-url override the defaults', () => {
    expect(
      migrateTarget(
        getService('order-service'),
        { 'database-url': 'postgresql://x@h/o', 'migrations-dir': '/tmp/m' },
        { ORDER_DATABASE_URL: 'postgresql://y@h/o' },
      ),
    ).toEqual({
      service: 'order-service',
      databaseUrl: 'postgresql://x@h/o',
      urlVariable: '--database-url',
      migrationsDir: '/tmp/m',
    });
  });
});

describe('isProduction', () => {
  test('NODE_ENV=production is production', () => {
    expect(isProduction({ NODE_ENV: 'production' })).toBe(true);
  });

  test('WEBRANA_ENV=production is production', () => {
    expect(isProduction({ NODE_ENV: 'development', WEBRANA_ENV: 'production' })).toBe(true);
  });

  test.each([
    {},
    { NODE_ENV: 'development' },
    { NODE_ENV: 'test' },
    { NODE_ENV: 'Production' },
    { WEBRANA_ENV: 'prod' },
  ])('%j is not production', (env) => {
    expect(isProduction(env)).toBe(false);
  });
});

describe('--database-url help', () => {
  const usages = { migrate: MIGRATE_USAGE, seed: SEED_USAGE, backup: BACKUP_USAGE, restore: RESTORE_USAGE };

  test.each(Object.entries(usages))(
    '%s --help warns that a URL on the command line is visible in the process list and suggests the variables',
    (_command, usage) => {
      expect(usage).toContain('--database-url=URL');
      expect(usage).toMatch(/visible to other users in the process list; prefer the variables/);
    },
  );
});
