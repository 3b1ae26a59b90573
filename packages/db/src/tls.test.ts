import type { ConnectionOptions } from 'node:tls';
import { DatabaseUrlError, libpqEnv, parseDatabaseUrl, tlsFor } from './url';

const PASSWORD = 's3cr3t-pw';
const BASE = `postgresql://app:${PASSWORD}@db.internal:5432/webrana_auth`;
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const readCa = (file: string) => {
  if (file === '/etc/ssl/webrana-ca.pem') return CA_PEM;
  throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
};

/** pg's TLS options for a URL, read through the fake CA reader. */
function tls(query: string): false | ConnectionOptions {
  return parseDatabaseUrl(`${BASE}?${query}`, 'AUTH_DATABASE_URL', readCa).pool.ssl as false | ConnectionOptions;
}

/** What the options do with a certificate whose host name does not match. */
function acceptsOtherHostName(options: ConnectionOptions): boolean {
  const check = options.checkServerIdentity;
  if (!check) return false; // Node's default check: the host name must match
  return check('db.internal', { subject: { CN: 'elsewhere' } } as never) === undefined;
}

describe('sslmode for pg follows libpq', () => {
  test('no sslmode, disable and allow connect without TLS', () => {
    expect([tls(''), tls('sslmode=disable'), tls('sslmode=allow')]).toEqual([false, false, false]);
  });

  test('prefer uses TLS without verifying the certificate, as pg_dump tries it first', () => {
    expect(tls('sslmode=prefer')).toEqual({ rejectUnauthorized: false });
  });

  test('require uses TLS without verifying the certificate', () => {
    expect(tls('sslmode=require')).toEqual({ rejectUnauthorized: false });
  });

  test('require with a root certificate verifies the chain like verify-ca', () => {
    const options = tls('sslmode=require&sslrootcert=/etc/ssl/webrana-ca.pem') as ConnectionOptions;
    expect(options).toMatchObject({ rejectUnauthorized: true, ca: CA_PEM });
    expect(acceptsOtherHostName(options)).toBe(true);
  });

  test('verify-ca checks the chain against the CA but not the host name', () => {
    const options = tls('sslmode=verify-ca&sslrootcert=/etc/ssl/webrana-ca.pem') as ConnectionOptions;
    expect(options).toMatchObject({ rejectUnauthorized: true, ca: CA_PEM });
    expect(acceptsOtherHostName(options)).toBe(true);
  });

  test('verify-full checks the chain and the host name', () => {
    const options = tls('sslmode=verify-full&sslrootcert=/etc/ssl/webrana-ca.pem') as ConnectionOptions;
    expect(options).toEqual({ rejectUnauthorized: true, ca: CA_PEM });
    expect(acceptsOtherHostName(options)).toBe(false);
  });

  test('verify-full without sslrootcert trusts the system CAs and still checks the host name', () => {
    const options = tls('sslmode=verify-full') as ConnectionOptions;
    expect(options).toEqual({ rejectUnauthorized: true });
    expect(acceptsOtherHostName(options)).toBe(false);
  });

  test('sslrootcert leaves the connection string (pg would otherwise read it and override these options)', () => {
    const { pool } = parseDatabaseUrl(`${BASE}?sslmode=verify-ca&sslrootcert=/etc/ssl/webrana-ca.pem`, 'X', readCa);
    expect(pool.connectionString).toBe(BASE);
  });

  test('an unreadable sslrootcert is a DatabaseUrlError naming the variable and the file, not the password', () => {
    const error = (() => {
      try {
        tls('sslmode=verify-full&sslrootcert=/nowhere/ca.pem');
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a rejection');
    })();
    expect(error).toBeInstanceOf(DatabaseUrlError);
    expect(error.message).toBe('AUTH_DATABASE_URL: sslrootcert /nowhere/ca.pem cannot be read (ENOENT)');
  });

  test('sslrootcert is not read when the mode does not verify', () => {
    expect(tlsFor('disable', '/nowhere/ca.pem', 'X', readCa)).toBe(false);
    expect(tlsFor('prefer', '/nowhere/ca.pem', 'X', readCa)).toEqual({ rejectUnauthorized: false });
  });
});

describe('libpq environment carries the same TLS settings', () => {
  test.each(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'])(
    'sslmode=%s becomes PGSSLMODE unchanged',
    (mode) => {
      expect(libpqEnv(`${BASE}?sslmode=${mode}`, 'X', readCa).PGSSLMODE).toBe(mode);
    },
  );

  test("without sslmode PGSSLMODE is libpq's default, prefer", () => {
    expect(libpqEnv(BASE).PGSSLMODE).toBe('prefer');
  });

  test('sslrootcert becomes PGSSLROOTCERT; without it none is set', () => {
    const url = `${BASE}?sslmode=verify-full&sslrootcert=/etc/ssl/webrana-ca.pem`;
    expect(libpqEnv(url, 'X', readCa).PGSSLROOTCERT).toBe('/etc/ssl/webrana-ca.pem');
    expect(libpqEnv(`${BASE}?sslmode=require`)).not.toHaveProperty('PGSSLROOTCERT');
  });
});
