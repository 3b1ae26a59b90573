import type { ClientConfig, PoolConfig } from 'pg';

/** What a spec-style database URL means for pg (Prisma 7's adapter reads none of Prisma's own parameters). */
export interface DatabaseSettings {
  /** For pg.Client / pg.Pool: connection string without Prisma-only parameters, TLS and search_path applied. */
  pool: PoolConfig;
  /** `schema` parameter (default "public"), applied as the session search_path. */
  schema: string;
  database: string;
  /** The URL with its password replaced, safe to log. */
  redacted: string;
}

const PRISMA_ONLY_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'sslmode',
  'pgbouncer',
  'statement_cache_size',
];
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown for a URL that cannot be used; the message names the variable and never contains the password. */
export class DatabaseUrlError extends Error {}

const UNREADABLE = '<unparseable database URL>';

/**
 * The URL with its password replaced by `***`. Never throws, and never echoes a URL it cannot read
 * (a mistyped `postgresql:/user:pw@host` would otherwise come back with the password in it).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.host) return UNREADABLE;
    if (u.password) u.password = '***';
    if (u.searchParams.has('password')) u.searchParams.set('password', '***');
    return u.toString();
  } catch {
    return UNREADABLE;
  }
}

function positiveInteger(params: URLSearchParams, name: string, variable: string): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  if (!/^[1-9][0-9]*$/.test(raw)) {
    throw new DatabaseUrlError(`${variable}: ${name} must be a positive whole number, got "${raw}"`);
  }
  return Number(raw);
}

function tlsFor(sslmode: string | null, variable: string): ClientConfig['ssl'] {
  switch (sslmode) {
    case null:
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      // libpq's `require` encrypts without verifying the server certificate.
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      throw new DatabaseUrlError(
        `${variable}: sslmode must be one of disable, prefer, require, verify-ca, verify-full; got "${sslmode}"`,
      );
  }
}

/**
 * Parses `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=S&connection_limit=N&pool_timeout=S&sslmode=M`
 * into pg settings. `variable` names where the URL came from, for error messages.
 */
export function parseDatabaseUrl(url: string, variable = 'DATABASE_URL'): DatabaseSettings {
  if (!url)
    throw new DatabaseUrlError(`${variable} is not set; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseUrlError(
      `${variable} is not a valid URL; expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE`,
    );
  }
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new DatabaseUrlError(`${variable} must start with postgresql:// (got ${u.protocol}//)`);
  }
  let database: string;
  try {
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    throw new DatabaseUrlError(`${variable}: the database name has a malformed %-escape: ${redactUrl(url)}`);
  }
  if (!u.hostname || !database) {
    throw new DatabaseUrlError(`${variable} must name a host and a database: ${redactUrl(url)}`);
  }
  const params = u.searchParams;
  const schema = params.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new DatabaseUrlError(`${variable}: schema must be a plain identifier, got "${schema}"`);
  const max = positiveInteger(params, 'connection_limit', variable);
  const poolTimeout = positiveInteger(params, 'pool_timeout', variable);
  const ssl = tlsFor(params.get('sslmode'), variable);
  const plain = new URL(u.toString());
  PRISMA_ONLY_PARAMS.forEach((p) => plain.searchParams.delete(p));
  return {
    pool: {
      connectionString: plain.toString(),
      ssl,
      options: `-c search_path=${schema}`,
      ...(max !== undefined && { max }),
      ...(poolTimeout !== undefined && { connectionTimeoutMillis: poolTimeout * 1000 }),
    },
    schema,
    database,
    redacted: redactUrl(url),
  };
}

/**
 * libpq environment for pg_dump, pg_restore and psql: the password travels in PGPASSWORD, never on a
 * command line that `ps` would show.
 */
export function libpqEnv(url: string, variable = 'DATABASE_URL'): Record<string, string> {
  const settings = parseDatabaseUrl(url, variable);
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')),
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGDATABASE: settings.database,
    PGSSLMODE: u.searchParams.get('sslmode') ?? 'prefer',
    PGOPTIONS: `-c search_path=${settings.schema}`,
  };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  return env;
}

/** The same server and credentials, another database (Prisma's `schema` parameter dropped). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  u.searchParams.delete('schema');
  return u.toString();
}
