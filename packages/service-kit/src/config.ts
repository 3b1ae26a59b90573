import { DatabaseUrlError, findDatabaseUrl, parseDatabaseUrl, urlVariables, type DatabaseSettings } from '@webrana/db';
import { getService, type ServiceName } from '@webrana/registry';
import { z } from 'zod';

/** Everything a service process reads from its environment, validated once at start. */
export interface ServiceConfig {
  service: ServiceName;
  /** The variable the database URL came from (AUTH_DATABASE_URL, ... or DATABASE_URL), for messages. */
  databaseUrlVariable: string;
  database: DatabaseSettings;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Longest a /health/db answer waits for the database before reporting it unhealthy. */
  healthTimeoutMs: number;
  /** How long a database probe's answer is reused by later health requests (0: never). */
  healthCacheMs: number;
  /** Longest a graceful shutdown waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
  /** How long a shutdown keeps serving open keep-alive connections as usual (capped at half the timeout). */
  shutdownDrainMs: number;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_HEALTH_TIMEOUT_MS = 2000;
// Half a second of staleness at most: with the 2 s timeout, an outage still shows within 2.5 s.
export const DEFAULT_HEALTH_CACHE_MS = 500;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_SHUTDOWN_DRAIN_MS = 1000;

/** Thrown when the environment cannot run the service; every line names a variable, none holds a password. */
export class ConfigError extends Error {
  constructor(
    readonly service: string,
    readonly problems: readonly string[],
  ) {
    super(`invalid configuration for ${service}: ${problems.join('; ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** An empty variable (`PORT=`) means "not set", as in a shell, so the default applies. */
function orDefault<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  return z.preprocess((value) => (value === '' ? undefined : value), schema.default(fallback as never));
}

// These variables hold no secret, so their bad values may be quoted back.
function wholeNumber(env: Env, variable: string, min: number, max: number, fallback: number) {
  const message = `${variable} must be a whole number from ${min} to ${max}, got "${env[variable]}"`;
  return orDefault(
    z.coerce
      .number({ error: message })
      .int({ error: message })
      .min(min, { error: message })
      .max(max, { error: message }),
    fallback,
  );
}

function environmentSchema(env: Env, defaultPort: number) {
  const logLevelMessage = `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`;
  return z.object({
    HOST: orDefault(z.string(), '0.0.0.0'),
    PORT: wholeNumber(env, 'PORT', 0, 65_535, defaultPort),
    LOG_LEVEL: orDefault(z.enum(LOG_LEVELS, { error: logLevelMessage }), 'info'),
    HEALTH_TIMEOUT_MS: wholeNumber(env, 'HEALTH_TIMEOUT_MS', 1, 600_000, DEFAULT_HEALTH_TIMEOUT_MS),
    HEALTH_CACHE_MS: wholeNumber(env, 'HEALTH_CACHE_MS', 0, 600_000, DEFAULT_HEALTH_CACHE_MS),
    SHUTDOWN_TIMEOUT_MS: wholeNumber(env, 'SHUTDOWN_TIMEOUT_MS', 1, 600_000, DEFAULT_SHUTDOWN_TIMEOUT_MS),
    SHUTDOWN_DRAIN_MS: wholeNumber(env, 'SHUTDOWN_DRAIN_MS', 0, 600_000, DEFAULT_SHUTDOWN_DRAIN_MS),
  });
}

/**
 * Reads and validates a service's configuration from `env`. Collects every problem before throwing,
 * so one failed start shows all of them.
 */
export function loadServiceConfig(service: ServiceName, env: Env): ServiceConfig {
  const spec = getService(service);
  const problems: string[] = [];

  // Unset: parseDatabaseUrl reports "AUTH_DATABASE_URL (or DATABASE_URL) is not set".
  const { variable, url } = findDatabaseUrl(spec, { env }) ?? { variable: urlVariables(spec), url: '' };
  let database: DatabaseSettings | undefined;
  try {
    database = parseDatabaseUrl(url, variable);
  } catch (error) {
    // Any other error type could echo its input; only DatabaseUrlError messages are known to be safe.
    problems.push(error instanceof DatabaseUrlError ? error.message : `${variable} could not be read`);
  }

  const parsed = environmentSchema(env, spec.defaultPort).safeParse(env);
  if (!parsed.success) problems.push(...parsed.error.issues.map((issue) => issue.message));

  if (!parsed.success || !database) throw new ConfigError(service, problems);
  return {
    service,
    databaseUrlVariable: variable,
    database,
    host: parsed.data.HOST,
    port: parsed.data.PORT,
    logLevel: parsed.data.LOG_LEVEL,
    healthTimeoutMs: parsed.data.HEALTH_TIMEOUT_MS,
    healthCacheMs: parsed.data.HEALTH_CACHE_MS,
    shutdownTimeoutMs: parsed.data.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: parsed.data.SHUTDOWN_DRAIN_MS,
  };
}
