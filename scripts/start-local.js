#!/usr/bin/env node
// `npm start`: the no-cluster local stack. Starts PostgreSQL 15 (embedded, data kept in .local/postgres),
// creates the four service databases, applies their migrations and seeds, prints their URLs, and runs until Ctrl-C.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('pg');
const { startEmbeddedPostgres } = require('@webrana/local-postgres');
const { deploy, DEFAULT_SETTINGS, seedOne } = require('@webrana/jobs');
const { createLogger } = require('@webrana/logger');
const { migrationOrder, migrationsDir, REPO_ROOT } = require('@webrana/registry');

const USAGE = `usage: npm start [-- --port=N] [-- --once]

Starts PostgreSQL 15 (embedded, data in .local/postgres), creates webrana_auth, webrana_catalog,
webrana_order and webrana_billing, applies every migration and seed, prints each service's URL variable, and
keeps running until Ctrl-C.
  --port=N   PostgreSQL port (default 54329, or LOCAL_PG_PORT)
  --once     stop PostgreSQL and exit once the databases are ready (a smoke test)
`;

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function main() {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const log = createLogger({ name: 'local-stack', level: process.env.LOG_LEVEL });
  const port = Number(values.port ?? process.env.LOCAL_PG_PORT ?? 54329);
  const postgres = await startEmbeddedPostgres({ port, dataDir: path.join(REPO_ROOT, '.local', 'postgres') });
  const stop = async () => {
    await postgres.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const admin = new Client({ connectionString: postgres.url });
  await admin.connect();
  const env = {};
  for (const service of migrationOrder()) {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [service.database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${service.database}"`);
    const url = withDatabase(postgres.url, service.database);
    await deploy(
      {
        service: service.name,
        databaseUrl: url,
        urlVariable: service.urlVariable,
        migrationsDir: migrationsDir(service.name),
      },
      DEFAULT_SETTINGS,
      log,
    );
    if (service.hasSeed) await seedOne(service, { url, variable: service.urlVariable }, process.env, log);
    env[service.urlVariable] = url;
  }
  await admin.end();
  // A local, throw-away password (embedded server on loopback): printed so it can be exported.
  process.stdout.write(`\nLocal databases ready (PostgreSQL on 127.0.0.1:${port}):\n`);
  for (const [variable, url] of Object.entries(env)) process.stdout.write(`export ${variable}=${url}\n`);
  if (values.once) return stop();
  process.stdout.write('\nPress Ctrl-C to stop.\n');
}

main().catch((error) => {
  process.stderr.write(`npm start: ${error.message}\n`);
  process.exit(1);
});
