import { DatabaseUrlError, libpqEnvOf, parseDatabaseUrl, type DatabaseSettings, type ReadCa } from './url';

/** What the resolver needs of a service: its name and its URL variable, both from @webrana/registry. */
export interface UrlOwner {
  readonly name: string;
  readonly urlVariable: string;
}

/** The generic fallback every tool reads after the service's own variable. */
export const GENERIC_URL_VARIABLE = 'DATABASE_URL';
/** The command-line flag that overrides both variables. */
export const URL_FLAG = '--database-url';

export interface UrlLookup {
  /** The value of --database-url, if given. */
  flag?: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Whether DATABASE_URL counts (default true). A run over several services turns it off: one URL
   * cannot be every service's database.
   */
  generic?: boolean;
}

export interface UrlSource {
  url: string;
  /** Where it came from (`--database-url`, AUTH_DATABASE_URL, DATABASE_URL), for messages. */
  variable: string;
}

/** The URL to use: --database-url, else the service's variable, else DATABASE_URL; empty counts as unset. */
export function findDatabaseUrl(owner: UrlOwner, lookup: UrlLookup): UrlSource | undefined {
  const candidates: [string, string | undefined][] = [
    [URL_FLAG, lookup.flag],
    [owner.urlVariable, lookup.env[owner.urlVariable]],
  ];
  if (lookup.generic !== false) candidates.push([GENERIC_URL_VARIABLE, lookup.env[GENERIC_URL_VARIABLE]]);
  const found = candidates.find(([, url]) => url !== undefined && url !== '');
  return found && { variable: found[0], url: found[1]! };
}

/** The variables that are read, as a message names them: "AUTH_DATABASE_URL (or DATABASE_URL)". */
export function urlVariables(owner: UrlOwner, generic = true): string {
  return generic ? `${owner.urlVariable} (or ${GENERIC_URL_VARIABLE})` : owner.urlVariable;
}

/** No URL for a service anywhere it is looked for. */
export class MissingDatabaseUrl extends DatabaseUrlError {
  constructor(
    readonly owner: UrlOwner,
    generic: boolean,
    flagAllowed: boolean,
  ) {
    super(
      `no database URL for ${owner.name}: set ${urlVariables(owner, generic)}` +
        (flagAllowed ? `, or pass ${URL_FLAG}` : ''),
    );
  }
}

/** A service's database, resolved and parsed once, in the forms its consumers need. */
export interface ResolvedDatabase extends UrlSource {
  settings: DatabaseSettings;
  /** For pg_dump, pg_restore and psql. */
  libpq: Record<string, string>;
}

/** Finds and parses a service's URL; throws MissingDatabaseUrl or DatabaseUrlError (never with the password). */
export function resolveDatabase(
  owner: UrlOwner,
  lookup: UrlLookup,
  options: { flagAllowed?: boolean; readCa?: ReadCa } = {},
): ResolvedDatabase {
  const source = findDatabaseUrl(owner, lookup);
  if (!source) throw new MissingDatabaseUrl(owner, lookup.generic !== false, options.flagAllowed ?? true);
  return fromSource(source, options.readCa);
}

/** Parses a URL whose source is already known. */
export function fromSource(source: UrlSource, readCa?: ReadCa): ResolvedDatabase {
  const settings = parseDatabaseUrl(source.url, source.variable, readCa);
  return { ...source, settings, libpq: libpqEnvOf(source.url, settings) };
}
