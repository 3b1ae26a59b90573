import { ConfigError, loadServiceConfig } from './config';

const PASSWORD = 's3cr3t-pw';
const URL_AUTH = `postgresql://app:${PASSWORD}@db.internal:5432/webrana_auth`;
const URL_GENERIC = `postgresql://app:${PASSWORD}@db.internal:5432/generic`;

/** The ConfigError loadServiceConfig throws for `env`, failing the test if it does not throw. */
function problemsFor(env: Record<string, string>, service: Parameters<typeof loadServiceConfig>[0] = 'auth-service') {
  try {
    loadServiceConfig(service, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain(PASSWORD);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadServiceConfig', () => {
  test('defaults: port from the registry, log level info, 2 s health timeout, 500 ms reuse, 10 s shutdown', () => {
    const config = loadServiceConfig('auth-service', { AUTH_DATABASE_URL: URL_AUTH });
    expect(config).toMatchObject({
      service: 'auth-service',
      databaseUrlVariable: 'AUTH_DATABASE_URL',
      host: '0.0.0.0',
      port: 3001,
      logLevel: 'info',
      healthTimeoutMs: 2000,
      healthCacheMs: 500,
      shutdownTimeoutMs: 10_000,
      shutdownDrainMs: 1000,
    });
    expect(loadServiceConfig('billing-service', { DATABASE_URL: URL_GENERIC }).port).toBe(3004);
  });

  test("the service's own variable wins over DATABASE_URL", () => {
    const config = loadServiceConfig('auth-service', { AUTH_DATABASE_URL: URL_AUTH, DATABASE_URL: URL_GENERIC });
    expect([config.databaseUrlVariable, config.database.database]).toEqual(['AUTH_DATABASE_URL', 'webrana_auth']);
  });

  test("DATABASE_URL is used when the service's own variable is unset or empty", () => {
    const config = loadServiceConfig('order-service', { ORDER_DATABASE_URL: '', DATABASE_URL: URL_GENERIC });
    expect([config.databaseUrlVariable, config.database.database]).toEqual(['DATABASE_URL', 'generic']);
  });

  test("another service's variable is never used", () => {
    expect(problemsFor({ AUTH_DATABASE_URL: URL_AUTH }, 'catalog-service')).toEqual([
      'CATALOG_DATABASE_URL (or DATABASE_URL) is not set; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE',
    ]);
  });

  test('the spec URL options arrive as pg pool settings', () => {
    const url = `${URL_AUTH}?schema=auth&connection_limit=4&pool_timeout=3&sslmode=require`;
    const { database } = loadServiceConfig('auth-service', { AUTH_DATABASE_URL: url });
    expect(database.pool).toMatchObject({
      max: 4,
      connectionTimeoutMillis: 3000,
      ssl: { rejectUnauthorized: false },
      options: '-c search_path=auth',
    });
    expect(database.redacted).not.toContain(PASSWORD);
  });

  test('a bad URL is reported under the variable it came from, without its password', () => {
    expect(problemsFor({ AUTH_DATABASE_URL: `${URL_AUTH}?sslmode=sometimes` })).toEqual([
      'AUTH_DATABASE_URL: sslmode must be one of disable, prefer, require, verify-ca, verify-full; got "sometimes"',
    ]);
    expect(problemsFor({ DATABASE_URL: `mysql://app:${PASSWORD}@h/db` })).toEqual([
      'DATABASE_URL must start with postgresql:// (got mysql://)',
    ]);
  });

  test('numbers are whole and in range, quoting the bad value', () => {
    expect(
      problemsFor({
        AUTH_DATABASE_URL: URL_AUTH,
        PORT: '70000',
        HEALTH_TIMEOUT_MS: '1.5',
        HEALTH_CACHE_MS: '-1',
        SHUTDOWN_TIMEOUT_MS: 'soon',
        SHUTDOWN_DRAIN_MS: '0.5s',
      }),
    ).toEqual([
      'PORT must be a whole number from 0 to 65535, got "70000"',
      'HEALTH_TIMEOUT_MS must be a whole number from 1 to 600000, got "1.5"',
      'HEALTH_CACHE_MS must be a whole number from 0 to 600000, got "-1"',
      'SHUTDOWN_TIMEOUT_MS must be a whole number from 1 to 600000, got "soon"',
      'SHUTDOWN_DRAIN_MS must be a whole number from 0 to 600000, got "0.5s"',
    ]);
  });

  test('settings are read from the given env, and empty values mean "use the default"', () => {
    const config = loadServiceConfig('catalog-service', {
      CATALOG_DATABASE_URL: URL_GENERIC,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      HEALTH_TIMEOUT_MS: '',
      HEALTH_CACHE_MS: '0',
    });
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      logLevel: 'warn',
      healthTimeoutMs: 2000,
      healthCacheMs: 0,
    });
  });

  test('all problems are collected into one error naming the service', () => {
    expect(() => loadServiceConfig('order-service', { LOG_LEVEL: 'chatty' })).toThrow(
      'invalid configuration for order-service: ORDER_DATABASE_URL (or DATABASE_URL) is not set; expected ' +
        'postgresql://USER:PASSWORD@HOST:PORT/DATABASE; LOG_LEVEL must be one of fatal, error, warn, info, debug, ' +
        'trace, silent, got "chatty"',
    );
  });
});
