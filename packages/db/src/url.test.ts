import { DatabaseUrlError, parseDatabaseUrl, redactUrl } from './url';

const PASSWORD = 's3cr3t-pw';
const BASE = `postgresql://app:${PASSWORD}@db.internal:5432/webrana_auth`;

/** The error parseDatabaseUrl throws for `url`, failing the test if it does not throw. */
function errorFor(url: string, variable = 'AUTH_DATABASE_URL'): Error {
  try {
    parseDatabaseUrl(url, variable);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`expected parseDatabaseUrl to reject ${url}`);
}

describe('parseDatabaseUrl', () => {
  test('a plain URL: schema public, no TLS, no pool limits, connection string unchanged', () => {
    expect(parseDatabaseUrl(BASE, 'AUTH_DATABASE_URL')).toEqual({
      pool: {
        connectionString: BASE,
        ssl: false,
        options: '-c search_path=public',
      },
      schema: 'public',
      database: 'webrana_auth',
      redacted: 'postgresql://app:***@db.internal:5432/webrana_auth',
    });
  });

  test('postgres:// is accepted like postgresql://', () => {
    const settings = parseDatabaseUrl(`postgres://app:${PASSWORD}@h/db`);
    expect(settings.database).toBe('db');
    expect(settings.pool.connectionString).toBe(`postgres://app:${PASSWORD}@h/db`);
  });

  test('schema sets the session search_path', () => {
    const settings = parseDatabaseUrl(`${BASE}?schema=tenant_1`);
    expect(settings.schema).toBe('tenant_1');
    expect(settings.pool.options).toBe('-c search_path=tenant_1');
  });

  test('connection_limit becomes the pool max', () => {
    expect(parseDatabaseUrl(`${BASE}?connection_limit=7`).pool.max).toBe(7);
  });

  test('pool_timeout (seconds) becomes connectionTimeoutMillis', () => {
    expect(parseDatabaseUrl(`${BASE}?pool_timeout=15`).pool.connectionTimeoutMillis).toBe(15_000);
  });

  test('without connection_limit or pool_timeout, max and connectionTimeoutMillis are absent', () => {
    const { pool } = parseDatabaseUrl(BASE);
    expect(pool).not.toHaveProperty('max');
    expect(pool).not.toHaveProperty('connectionTimeoutMillis');
  });

  test.each([
    ['disable', false],
    ['allow', false],
    ['require', { rejectUnauthorized: false }],
  ])('sslmode=%s gives ssl %j', (mode, ssl) => {
    expect(parseDatabaseUrl(`${BASE}?sslmode=${mode}`).pool.ssl).toEqual(ssl);
  });

  test('every option together maps to pg and the Prisma-only parameters leave the connection string', () => {
    const url =
      `${BASE}?schema=app&connection_limit=5&pool_timeout=10&sslmode=require` +
      `&pgbouncer=true&statement_cache_size=0&application_name=auth-api`;
    expect(parseDatabaseUrl(url, 'AUTH_DATABASE_URL')).toEqual({
      pool: {
        connectionString: `${BASE}?application_name=auth-api`,
        ssl: { rejectUnauthorized: false },
        options: '-c search_path=app',
        max: 5,
        connectionTimeoutMillis: 10_000,
      },
      schema: 'app',
      database: 'webrana_auth',
      redacted:
        'postgresql://app:***@db.internal:5432/webrana_auth?schema=app&connection_limit=5&pool_timeout=10' +
        '&sslmode=require&pgbouncer=true&statement_cache_size=0&application_name=auth-api',
    });
  });

  test('with only Prisma parameters, the connection string has no query left', () => {
    expect(parseDatabaseUrl(`${BASE}?schema=s&sslmode=verify-full&pgbouncer=true`).pool.connectionString).toBe(BASE);
  });

  test('a percent-encoded database name is decoded', () => {
    expect(parseDatabaseUrl(`postgresql://u:${PASSWORD}@h/my%20db`).database).toBe('my db');
  });

  test('the connection string keeps the password (pg needs it) while redacted hides it', () => {
    const settings = parseDatabaseUrl(`${BASE}?sslmode=require`);
    expect(settings.pool.connectionString).toContain(PASSWORD);
    expect(settings.redacted).not.toContain(PASSWORD);
    expect(settings.redacted).toBe('postgresql://app:***@db.internal:5432/webrana_auth?sslmode=require');
  });

  describe('rejections name the variable and the parameter, and never contain the password', () => {
    const cases: [string, string, string][] = [
      [
        'connection_limit=abc',
        `${BASE}?connection_limit=abc`,
        'AUTH_DATABASE_URL: connection_limit must be a positive whole number, got "abc"',
      ],
      [
        'connection_limit=0',
        `${BASE}?connection_limit=0`,
        'AUTH_DATABASE_URL: connection_limit must be a positive whole number, got "0"',
      ],
      [
        'connection_limit=-1',
        `${BASE}?connection_limit=-1`,
        'AUTH_DATABASE_URL: connection_limit must be a positive whole number, got "-1"',
      ],
      [
        'connection_limit=1.5',
        `${BASE}?connection_limit=1.5`,
        'AUTH_DATABASE_URL: connection_limit must be a positive whole number, got "1.5"',
      ],
      [
        'connection_limit= (empty)',
        `${BASE}?connection_limit=`,
        'AUTH_DATABASE_URL: connection_limit must be a positive whole number, got ""',
      ],
      [
        'pool_timeout=abc',
        `${BASE}?pool_timeout=abc`,
        'AUTH_DATABASE_URL: pool_timeout must be a positive whole number, got "abc"',
      ],
      [
        'pool_timeout=0',
        `${BASE}?pool_timeout=0`,
        'AUTH_DATABASE_URL: pool_timeout must be a positive whole number, got "0"',
      ],
      [
        'sslmode=bogus',
        `${BASE}?sslmode=bogus`,
        'AUTH_DATABASE_URL: sslmode must be one of disable, prefer, require, verify-ca, verify-full; got "bogus"',
      ],
      [
        'schema with a semicolon',
        `${BASE}?schema=a;drop`,
        'AUTH_DATABASE_URL: schema must be a plain identifier, got "a;drop"',
      ],
      [
        'schema with a dash',
        `${BASE}?schema=my-schema`,
        'AUTH_DATABASE_URL: schema must be a plain identifier, got "my-schema"',
      ],
      [
        'non-postgres protocol',
        `mysql://app:${PASSWORD}@db.internal:3306/webrana_auth`,
        'AUTH_DATABASE_URL must start with postgresql:// (got mysql://)',
      ],
      [
        'http protocol',
        `http://app:${PASSWORD}@db.internal/webrana_auth`,
        'AUTH_DATABASE_URL must start with postgresql:// (got http://)',
      ],
      [
        'missing database (trailing slash)',
        `postgresql://app:${PASSWORD}@db.internal:5432/`,
        'AUTH_DATABASE_URL must name a host and a database: postgresql://app:***@db.internal:5432/',
      ],
      [
        'missing database (no path)',
        `postgresql://app:${PASSWORD}@db.internal:5432`,
        'AUTH_DATABASE_URL must name a host and a database: postgresql://app:***@db.internal:5432',
      ],
      [
        'unparseable URL',
        `not a url app:${PASSWORD}@db.internal`,
        'AUTH_DATABASE_URL is not a valid URL; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
      ],
      [
        'missing host',
        `postgresql://app:${PASSWORD}@:5432/webrana_auth`,
        'AUTH_DATABASE_URL is not a valid URL; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
      ],
      [
        'port out of range',
        `postgresql://app:${PASSWORD}@db.internal:99999/webrana_auth`,
        'AUTH_DATABASE_URL is not a valid URL; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
      ],
    ];

    test.each(cases)('%s', (_label, url, message) => {
      const error = errorFor(url);
      expect(error).toBeInstanceOf(DatabaseUrlError);
      expect(error.message).toBe(message);
      expect(error.message).not.toContain(PASSWORD);
      expect(error.message).toContain('AUTH_DATABASE_URL');
    });
  });

  test('an empty URL is "not set", naming the variable', () => {
    const error = errorFor('', 'ORDER_DATABASE_URL');
    expect(error).toBeInstanceOf(DatabaseUrlError);
    expect(error.message).toBe('ORDER_DATABASE_URL is not set; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE');
  });

  test('the variable defaults to DATABASE_URL in messages', () => {
    expect(() => parseDatabaseUrl(`${BASE}?connection_limit=0`)).toThrow(
      'DATABASE_URL: connection_limit must be a positive whole number, got "0"',
    );
  });

  test('a URL without a host is rejected without echoing it', () => {
    expect(errorFor('postgresql:///webrana_auth').message).toBe(
      'AUTH_DATABASE_URL must name a host and a database: <unparseable database URL>',
    );
  });

  test('a mistyped scheme (one slash) is rejected without printing the password', () => {
    for (const url of ['postgresql:/app:s3cr3t-pw@h/db', 'postgresql:app:s3cr3t-pw@h/db']) {
      expect(errorFor(url).message).not.toContain('s3cr3t-pw');
    }
  });

  test('a malformed %-escape in the database name is a DatabaseUrlError naming the variable', () => {
    const error = errorFor('postgresql://app:s3cr3t-pw@h/%zz');
    expect(error).toBeInstanceOf(DatabaseUrlError);
    expect(error.message).toBe(
      'AUTH_DATABASE_URL: the database name has a malformed %-escape: postgresql://app:***@h/%zz',
    );
  });
});

describe('redactUrl', () => {
  test('never echoes a URL without a host, and hides a password query parameter', () => {
    expect(redactUrl('app:s3cr3t-pw@db.internal/db')).toBe('<unparseable database URL>');
    expect(redactUrl('postgresql://h/db?password=s3cr3t-pw')).toBe('postgresql://h/db?password=***');
  });

  test('replaces the password with ***', () => {
    expect(redactUrl(`postgresql://app:${PASSWORD}@db.internal:5432/webrana_auth?schema=app`)).toBe(
      'postgresql://app:***@db.internal:5432/webrana_auth?schema=app',
    );
  });

  test('replaces a percent-encoded password as a whole', () => {
    expect(redactUrl('postgresql://app:p%40ss%2Fword@h/db')).toBe('postgresql://app:***@h/db');
  });

  test('a password without a user name is still hidden', () => {
    expect(redactUrl(`postgresql://:${PASSWORD}@h/db`)).toBe('postgresql://:***@h/db');
  });

  test('a URL without a password is returned unchanged', () => {
    expect(redactUrl('postgresql://app@db.internal/webrana_auth')).toBe('postgresql://app@db.internal/webrana_auth');
  });

  test.each(['', 'not a url', `//app:${PASSWORD}@db.internal/db`, `postgresql://u:${PASSWORD}@[::1/db`])(
    'never throws: %j gives a placeholder without the input',
    (url) => {
      expect(redactUrl(url)).toBe('<unparseable database URL>');
      expect(redactUrl(url)).not.toContain(PASSWORD);
    },
  );

  test('never throws even on a non-string at runtime', () => {
    expect(redactUrl(undefined as unknown as string)).toBe('<unparseable database URL>');
  });
});
