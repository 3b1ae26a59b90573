import * as fs from 'node:fs';
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
  // pg's own URL parser would read sslrootcert itself and override the TLS settings made here.
  'sslrootcert',
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

/** Reads a CA file named by sslrootcert; injectable so the TLS mapping stays testable without files. */
export type ReadCa = (path: string) => string;
const readCaFile: ReadCa = (file) => fs.readFileSync(file, 'utf8');

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/**
 * libpq's sslmode as pg TLS options. pg cannot fall back from TLS to plain as libpq does, so the
 * modes that ask for TLS at all (`prefer` included, as pg_dump tries it first) always use it; a
 * server without TLS then refuses the connection: write `sslmode=disable` (or leave sslmode out) for one.
 * `allow` (plain first) stays plain.
 */
export function tlsFor(
  sslmode: string | null,
  rootCert: string | null,
  variable: string,
  readCa: ReadCa = readCaFile,
): ClientConfig['ssl'] {
  if (sslmode !== null && !(SSL_MODES as readonly string[]).includes(sslmode)) {
    throw new DatabaseUrlError(
      `${variable}: sslmode must be one of disable, prefer, require, verify-ca, verify-full; got "${sslmode}"`,
    );
  }
  const mode = sslmode as SslMode | null;
  if (mode === null || mode === 'disable' || mode === 'allow') return false;
  // prefer and require encrypt without verifying (as in libpq)...
  if (mode === 'prefer' || (mode === 'require' && rootCert === null)) return { rejectUnauthorized: false };
  const ca = rootCert === null ? {} : { ca: readRootCert(rootCert, variable, readCa) };
  // ...except require with a root certificate, which libpq treats as verify-ca.
  // verify-ca checks the chain, not the host name; verify-full checks both.
  if (mode === 'verify-full') return { rejectUnauthorized: true, ...ca };
  return { rejectUnauthorized: true, ...ca, checkServerIdentity: () => undefined };
}

function readRootCert(file: string, variable: string, readCa: ReadCa): string {
  try {
    return readCa(file);
  } catch (error) {
    throw new DatabaseUrlError(
      `${variable}: sslrootcert ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/**
 * Parses `postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=S&connection_limit=N&pool_timeout=S&sslmode=M`
 * into pg settings. `variable` names where the URL came from, for error messages.
 */
export function parseDatabaseUrl(
  url: string,
  variable = 'DATABASE_URL',
  readCa: ReadCa = readCaFile,
): DatabaseSettings {
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
  const ssl = tlsFor(params.get('sslmode'), params.get('sslrootcert'), variable, readCa);
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
 * command line that `ps` would show. Without sslmode libpq's own default (prefer) applies.
 */
export function libpqEnv(url: string, variable = 'DATABASE_URL', readCa: ReadCa = readCaFile): Record<string, string> {
  return libpqEnvOf(url, parseDatabaseUrl(url, variable, readCa));
}

/** libpq environment of a URL already parsed into `settings` (nothing is read twice). */
export function libpqEnvOf(url: string, settings: DatabaseSettings): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')),
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGDATABASE: settings.database,
    PGSSLMODE: u.searchParams.get('sslmode') ?? 'prefer',
    PGOPTIONS: `-c search_path=${settings.schema}`,
  };
  const rootCert = u.searchParams.get('sslrootcert');
  if (rootCert !== null) env.PGSSLROOTCERT = rootCert;
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
