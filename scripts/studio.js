#!/usr/bin/env node
// `npm run studio -- --service=NAME`: Prisma Studio 7 on one service's database. Prisma 7 dropped
// `prisma studio --schema`; Studio takes its URL from a Prisma config's `datasource.url` (or `--url`,
// which would put the password in the process list). So this writes a throw-away config that reads the
// URL from an environment variable, starts the repo's own Prisma CLI with it and removes it on exit.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Client } = require('pg');
const { redactUrl } = require('@webrana/db');
const { SERVICES, getService, schemaPath, serviceDir, REPO_ROOT } = require('@webrana/registry');

const DEFAULT_PORT = 5555;
const LOCAL_PG_PORT = 54329;
const URL_VARIABLE = 'WEBRANA_STUDIO_DATABASE_URL';

const USAGE = `usage: node scripts/studio.js --service=NAME [--port=N] [--browser=NAME]
       npm run studio -- --service=NAME [--port=N]

Opens Prisma Studio (the repo's Prisma 7 CLI) on one service's database and serves it at
http://localhost:PORT until Ctrl-C.
  --service=NAME    ${SERVICES.map((s) => s.name).join(', ')}
  --port=N          Studio's HTTP port, on 127.0.0.1 (default ${DEFAULT_PORT})
  --browser=NAME    open Studio in this browser (default: none, just print the URL)
  -h, --help        this text

Database URL, the first one set of:
  the service's variable  ${SERVICES.map((s) => s.urlVariable).join(', ')}
  DATABASE_URL
  the \`npm start\` stack   postgresql://postgres:***@127.0.0.1:${LOCAL_PG_PORT}/<database> (LOCAL_PG_PORT overrides the port)
The password is never printed, put on a command line or written to disk (Studio reads it from its environment).
`;

class UsageError extends Error {}

/** The URL to browse and where it came from (never a secret default beyond the local stack's own). */
function resolveDatabaseUrl(service, env) {
  for (const variable of [service.urlVariable, 'DATABASE_URL']) {
    if (env[variable]) return { url: env[variable], source: variable };
  }
  const port = env.LOCAL_PG_PORT || String(LOCAL_PG_PORT);
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/${service.database}`,
    source: 'the `npm start` local stack',
  };
}

function checkUrl(url, source) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${source} is not a valid URL (expected postgresql://USER:PASSWORD@HOST:PORT/DATABASE)`);
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new UsageError(`${source} must be a postgresql:// URL, got ${parsed.protocol}//`);
  }
}

function assertPortFree(port) {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', () =>
      reject(new UsageError(`port ${port} is already in use; stop what uses it or pass --port=N`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(resolve));
  });
}

/** Fails fast, with a hint, when the database is not there (Studio itself would only fail in the browser). */
async function assertReachable(url, source) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const hint = source.startsWith('the `npm start`') ? '; is `npm start` running?' : '';
    throw new Error(`cannot reach ${redactUrl(url)} (from ${source}): ${error.message}${hint}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every spelling of the URL's password that could show up in a message. */
function secretsOf(url) {
  const u = new URL(url);
  const candidates = [u.password, u.searchParams.get('password') ?? ''];
  for (const value of [...candidates]) {
    try {
      candidates.push(decodeURIComponent(value));
    } catch {
      // not percent-encoded
    }
  }
  return [...new Set(candidates.filter((s) => s.length > 0))];
}

/** Copies a child's output, line by line, with any password replaced by ***. */
function pipeRedacted(from, to, url) {
  const secrets = secretsOf(url).sort((a, b) => b.length - a.length);
  let pending = '';
  const redact = (text) => secrets.reduce((acc, s) => acc.split(s).join('***'), text);
  from.setEncoding('utf8');
  from.on('data', (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop();
    if (lines.length > 0) to.write(redact(lines.join('\n') + '\n'));
  });
  from.on('end', () => pending && to.write(redact(pending)));
}

/** A Prisma config that Studio loads from outside the repo: no secret in it, only an env lookup. */
function writeTemporaryConfig(service) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-studio-'));
  const file = path.join(dir, 'prisma.config.mjs');
  const body = [
    `// Written by scripts/studio.js for ${service.name}; removed when Studio stops.`,
    'export default {',
    `  schema: ${JSON.stringify(schemaPath(service.name))},`,
    `  datasource: { url: process.env.${URL_VARIABLE} },`,
    '};',
    '',
  ].join('\n');
  fs.writeFileSync(file, body, { mode: 0o600 });
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      service: { type: 'string' },
      port: { type: 'string' },
      browser: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return void process.stdout.write(USAGE);
  if (!values.service) throw new UsageError('--service=NAME is required');
  let service;
  try {
    service = getService(values.service);
  } catch (error) {
    throw new UsageError(error.message);
  }
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--port must be an integer between 1 and 65535, got "${values.port}"`);
  }

  const { url, source } = resolveDatabaseUrl(service, process.env);
  checkUrl(url, source);
  await assertPortFree(port);
  await assertReachable(url, source);

  const config = writeTemporaryConfig(service);
  const prisma = require.resolve('prisma/build/index.js', { paths: [REPO_ROOT] });
  const args = [
    prisma,
    'studio',
    '--config',
    config.file,
    '--port',
    String(port),
    '--browser',
    values.browser || 'none',
  ];
  process.stdout.write(`Prisma Studio for ${service.name} on ${redactUrl(url)} (from ${source})\n`);
  const child = spawn(process.execPath, args, {
    cwd: serviceDir(service.name),
    env: {
      ...process.env,
      [URL_VARIABLE]: url,
      // Studio needs no native engine, but the CLI tries to download one unless told where one is.
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
      // No update check / telemetry call home unless asked for (these machines have no internet).
      CHECKPOINT_DISABLE: process.env.CHECKPOINT_DISABLE ?? '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipeRedacted(child.stdout, process.stdout, url);
  pipeRedacted(child.stderr, process.stderr, url);

  let killTimer;
  let stopping = false;
  const stop = (signal) => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    // Studio closes its server and pool on SIGINT/SIGTERM; give it a moment, then insist.
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    killTimer.unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const code = await new Promise((resolve) =>
    child.once('exit', (exitCode) => resolve(stopping ? 0 : (exitCode ?? 1))),
  );
  clearTimeout(killTimer);
  config.remove();
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code ?? 0),
    (error) => {
      process.stderr.write(`studio: ${error.message}\n`);
      if (error instanceof UsageError) process.stderr.write('run with --help for usage\n');
      process.exit(error instanceof UsageError ? 2 : 1);
    },
  );
}
