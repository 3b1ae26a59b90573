import type { RequestListener } from 'node:http';
import { createLogger } from '@webrana/logger';
import type { ServiceName } from '@webrana/registry';
import type { ServiceDeps } from './app';
import { ConfigError, loadServiceConfig } from './config';
import { createServiceDatabase, type PrismaClientClass } from './database';
import { createLifecycle, drainPeriodMs } from './lifecycle';
import { startServer } from './server';

/** What a service's main.ts hands over: its name, its generated Prisma client and its app factory. */
export interface ServiceProgram<P> {
  service: ServiceName;
  PrismaClient: PrismaClientClass<P>;
  createApp(deps: ServiceDeps<P>): RequestListener;
}

/** The parts of `process` a service's main uses; passed in so this module never reaches for globals. */
export type ServiceProcess = Pick<NodeJS.Process, 'env' | 'once' | 'exit' | 'exitCode'>;

/** sysexits.h EX_CONFIG: the environment is wrong, restarting will not help. */
export const EXIT_CONFIG = 78;
export const EXIT_FAILURE = 1;

// Beyond the drain timeout, time to disconnect from the database before giving up and exiting anyway.
const DISCONNECT_GRACE_MS = 5000;

/**
 * Runs a service: config from the environment, database pool and Prisma client, HTTP server, and a
 * graceful shutdown on SIGTERM/SIGINT (not ready, stop accepting, finish in-flight requests,
 * disconnect, exit 0). A bad config exits 78 and a start failure exits 1, with a JSON log line naming
 * the cause (never a password).
 */
export async function runServiceMain<P extends { $disconnect(): Promise<void> }>(
  program: ServiceProgram<P>,
  proc: ServiceProcess,
): Promise<void> {
  let config;
  try {
    config = loadServiceConfig(program.service, proc.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    createLogger({ name: program.service }).fatal({ problems: error.problems }, error.message);
    proc.exitCode = EXIT_CONFIG;
    return;
  }

  const logger = createLogger({ name: program.service, level: config.logLevel });
  logger.info(
    { database: config.database.redacted, source: config.databaseUrlVariable, healthTimeoutMs: config.healthTimeoutMs },
    'starting',
  );
  const database = createServiceDatabase({
    settings: config.database,
    PrismaClient: program.PrismaClient,
    logger,
    applicationName: program.service,
  });
  const lifecycle = createLifecycle();
  const app = program.createApp({ config, logger, database, lifecycle });

  let server;
  try {
    server = await startServer(app, {
      host: config.host,
      port: config.port,
      lifecycle,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      drainMs: drainPeriodMs(config.shutdownTimeoutMs, config.shutdownDrainMs),
      logger,
    });
  } catch (error) {
    logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
    await database.close().catch(() => undefined);
    proc.exitCode = EXIT_FAILURE;
    return;
  }
  logger.info({ host: config.host, port: server.port, address: server.url }, 'listening');

  const running = server;
  const shutDown = async (signal: string) => {
    logger.info({ signal }, 'signal received');
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting anyway');
      proc.exit(EXIT_FAILURE);
    }, config.shutdownTimeoutMs + DISCONNECT_GRACE_MS).unref();
    const outcome = await running.stop();
    await database.close();
    logger.info(outcome, 'stopped');
    proc.exit(0);
  };
  // A second signal finds no handler and ends the process at once (e.g. Ctrl-C twice).
  proc.once('SIGTERM', () => void shutDown('SIGTERM'));
  proc.once('SIGINT', () => void shutDown('SIGINT'));
}
