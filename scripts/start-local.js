#!/usr/bin/env node
// `npm start`: the no-cluster local stack. PostgreSQL 15 (embedded, data kept in .local/postgres) or
// the four *_DATABASE_URL you set; the four databases created, migrated in dependency order and
// seeded; the four services started on their ports; a table of their /health/db; Ctrl-C stops it all.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('pg');
const { startEmbeddedPostgres } = require('@webrana/local-postgres');
const { seedOne } = require('@webrana/jobs');
const { deploy, DEFAULT_SETTINGS } = require('@webrana/migrate');
const { createLogger } = require('@webrana/logger');
const { redactUrl, withDatabase } = require('@webrana/db');
const { migrationOrder, migrationsDir, serviceDir, REPO_ROOT } = require('@webrana/registry');

const USAGE = `usage: npm start [-- --pg-port=N] [-- --once]

Starts PostgreSQL 15 (embedded, data kept in .local/postgres between runs) unless AUTH_DATABASE_URL,
CATALOG_DATABASE_URL, ORDER_DATABASE_URL and BILLING_DATABASE_URL are all set; creates the four
databases, migrates them in dependency order, seeds them, starts the four services and prints
their /health/db. Ctrl-C stops everything.
  --pg-port=N  embedded PostgreSQL port (default 54329, or LOCAL_PG_PORT); data dir: LOCAL_PG_DATA
  --once       stop everything once all services answered healthy (a smoke test)
Service ports: AUTH_PORT (3001), CATALOG_PORT (3002), ORDER_PORT (3003), BILLING_PORT (3004).
`;

const portVariable = (service) => `${service.name.replace('-service', '').toUpperCase()}_PORT`;

/** Resolves when nothing listens on the port; rejects with a message naming the port and its variable. */
function assertPortFree(port, service) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', () =>
      reject(
        new Error(
          `port ${port} for ${service.name} is already in use; stop what uses it or set ${portVariable(service)}`,
        ),
      ),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(resolve));
  });
}

async function healthOf(port) {
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health/db`);
      if (response.status === 200 || Date.now() - started > 15_000)
        return { status: response.status, body: await response.json() };
    } catch (error) {
      if (Date.now() - started > 15_000) return { status: 0, body: { error: error.message } };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function databases(values, log) {
  const given = migrationOrder().map((s) => process.env[s.urlVariable]);
  if (given.every(Boolean)) return { urls: given, stop: async () => undefined, where: 'the URLs from the environment' };
  const port = Number(values['pg-port'] ?? process.env.LOCAL_PG_PORT ?? 54329);
  const dataDir = process.env.LOCAL_PG_DATA ?? path.join(REPO_ROOT, '.local', 'postgres');
  const postgres = await startEmbeddedPostgres({ port, dataDir });
  const admin = new Client({ connectionString: postgres.url });
  await admin.connect();
  for (const service of migrationOrder()) {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [service.database]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${service.database}"`);
  }
  await admin.end();
  log.info({ port }, 'embedded PostgreSQL ready');
  return {
    urls: migrationOrder().map((s) => withDatabase(postgres.url, s.database)),
    stop: postgres.stop,
    where: `embedded PostgreSQL on 127.0.0.1:${port}`,
  };
}

async function main() {
  const { values } = parseArgs({
    options: { 'pg-port': { type: 'string' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void process.stdout.write(USAGE);
  const log = createLogger({ name: 'local-stack', level: process.env.LOG_LEVEL ?? 'warn' });
  const services = migrationOrder();
  const ports = services.map((s) => Number(process.env[portVariable(s)] ?? s.defaultPort));
  await Promise.all(services.map((s, i) => assertPortFree(ports[i], s)));

  const started = Date.now();
  const db = await databases(values, log);
  const children = [];
  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    children.forEach((child) => child.kill('SIGTERM'));
    await Promise.all(
      children.map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : undefined)),
    );
    await db.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => stop(0));
  process.once('SIGTERM', () => stop(0));

  try {
    for (const [i, service] of services.entries()) {
      const target = {
        service: service.name,
        databaseUrl: db.urls[i],
        urlVariable: service.urlVariable,
        migrationsDir: migrationsDir(service.name),
      };
      await deploy(target, DEFAULT_SETTINGS, log);
      if (service.hasSeed) await seedOne(service, { url: db.urls[i], variable: service.urlVariable }, process.env, log);
    }
  } catch (error) {
    // Never leave the embedded PostgreSQL running behind a failed start.
    process.stderr.write(`npm start: ${error.message}\n`);
    return stop(1);
  }
  for (const [i, service] of services.entries()) {
    const child = spawn(process.execPath, [path.join(serviceDir(service.name), 'dist', 'src', 'main.js')], {
      env: {
        ...process.env,
        [service.urlVariable]: db.urls[i],
        PORT: String(ports[i]),
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`npm start: ${service.name} exited with code ${code}; stopping everything\n`);
        void stop(1);
      }
    });
    children.push(child);
  }

  const health = await Promise.all(ports.map(healthOf));
  const rows = services.map((s, i) => [
    s.name,
    `http://127.0.0.1:${ports[i]}`,
    `${health[i].status} ${JSON.stringify(health[i].body)}`,
  ]);
  const widths = [0, 1].map((c) => Math.max(...rows.map((r) => r[c].length), 7));
  process.stdout.write(
    `\nWeBrana local stack (${db.where}), ready in ${((Date.now() - started) / 1000).toFixed(1)} s:\n`,
  );
  process.stdout.write(`${'service'.padEnd(widths[0])}  ${'url'.padEnd(widths[1])}  /health/db\n`);
  rows.forEach((r) => process.stdout.write(`${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2]}\n`));
  process.stdout.write('\nDatabases:\n');
  services.forEach((s, i) => process.stdout.write(`  ${s.urlVariable}=${redactUrl(db.urls[i])}\n`));
  const healthy = health.every((h) => h.status === 200);
  if (values.once) return stop(healthy ? 0 : 1);
  process.stdout.write('\nPress Ctrl-C to stop.\n');
}

main().catch((error) => {
  process.stderr.write(`npm start: ${error.message}\n`);
  process.exit(1);
});
