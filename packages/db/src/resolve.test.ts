import { findDatabaseUrl, MissingDatabaseUrl, resolveDatabase } from './resolve';
import { DatabaseUrlError } from './url';

const ORDER = { name: 'order-service', urlVariable: 'ORDER_DATABASE_URL' };
const OWN = 'postgresql://own:pw@h/webrana_order';
const GENERIC = 'postgresql://generic:pw@h/generic';
const FLAG = 'postgresql://flag:pw@h/flagged';

describe('findDatabaseUrl', () => {
  test('--database-url wins over both variables', () => {
    expect(findDatabaseUrl(ORDER, { flag: FLAG, env: { ORDER_DATABASE_URL: OWN, DATABASE_URL: GENERIC } })).toEqual({
      url: FLAG,
      variable: '--database-url',
    });
  });

  test("the service's own variable wins over DATABASE_URL", () => {
    expect(findDatabaseUrl(ORDER, { env: { ORDER_DATABASE_URL: OWN, DATABASE_URL: GENERIC } })).toEqual({
      url: OWN,
      variable: 'ORDER_DATABASE_URL',
    });
  });

  test('an empty variable or flag counts as unset', () => {
    expect(findDatabaseUrl(ORDER, { flag: '', env: { ORDER_DATABASE_URL: '', DATABASE_URL: GENERIC } })).toEqual({
      url: GENERIC,
      variable: 'DATABASE_URL',
    });
  });

  test('a run over several services ignores DATABASE_URL', () => {
    expect(findDatabaseUrl(ORDER, { env: { DATABASE_URL: GENERIC }, generic: false })).toBeUndefined();
  });

  test("another service's variable is never read", () => {
    expect(findDatabaseUrl(ORDER, { env: { AUTH_DATABASE_URL: OWN } })).toBeUndefined();
  });
});

describe('resolveDatabase', () => {
  test('parses once and hands out pg settings and the libpq environment together', () => {
    const db = resolveDatabase(ORDER, { env: { ORDER_DATABASE_URL: `${OWN}?schema=app&sslmode=require` } });
    expect(db.variable).toBe('ORDER_DATABASE_URL');
    expect(db.settings.pool.ssl).toEqual({ rejectUnauthorized: false });
    expect(db.libpq).toMatchObject({ PGDATABASE: 'webrana_order', PGSSLMODE: 'require', PGPASSWORD: 'pw' });
    expect(db.settings.redacted).not.toContain(':pw@');
  });

  test('no URL anywhere names the service and where to set one', () => {
    expect(() => resolveDatabase(ORDER, { env: {} })).toThrow(new MissingDatabaseUrl(ORDER, true, true));
    expect(new MissingDatabaseUrl(ORDER, true, true).message).toBe(
      'no database URL for order-service: set ORDER_DATABASE_URL (or DATABASE_URL), or pass --database-url',
    );
    expect(new MissingDatabaseUrl(ORDER, false, false).message).toBe(
      'no database URL for order-service: set ORDER_DATABASE_URL',
    );
  });

  test('a bad URL is a DatabaseUrlError naming where it came from, without the password', () => {
    const attempt = () => resolveDatabase(ORDER, { env: { ORDER_DATABASE_URL: 'postgresql://u:pw@h/' } });
    expect(attempt).toThrow(DatabaseUrlError);
    expect(attempt).toThrow(/^ORDER_DATABASE_URL must name a host and a database: postgresql:\/\/u:\*\*\*@h\/$/);
  });
});
