// `webrana-jobs studio --service=NAME`: Prisma Studio 7 on one service's database. Prisma 7 dropped
// `prisma studio --schema`; Studio takes its URL from a Prisma config's `datasource.url` (or `--url`,
// which would put the password in the process list). So this writes a throw-away config that reads the
// URL from an environment variable, starts the repo's own Prisma CLI with it and removes it on exit.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import {
  DatabaseUrlError,
  findDatabaseUrl,
  fromSource,
  redactUrl,
  type DatabaseSettings,
  type UrlSource,
} from '@webrana/db';
import { REPO_ROOT, SERVICES, schemaPath, serviceDir, type ServiceSpec } from '@webrana/registry';
import { requireService, UsageError } from './common';
import type { CommandIO } from './migrate';

const DEFAULT_PORT = 5555;
const LOCAL_PG_PORT = 54329;
const URL_VARIABLE = 'WEBRANA_STUDIO_DATABASE_URL';
const LOCAL_STACK = 'the `npm start` local stack';

export const STUDIO_USAGE = `usage: webrana-jobs studio --service=NAME [--port=N] [--browser=NAME]
       npm run studio -- --service=NAME [--port=N]      (node scripts/studio.js, the same command)

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

/** The URL to browse and where it came from: @webrana/db's rule, then the local stack's own database. */
export function studioDatabaseUrl(service: ServiceSpec, env: NodeJS.ProcessEnv): UrlSource {
  const found = findDatabaseUrl(service, { env });
  if (found) return found;
  const port = env.LOCAL_PG_PORT || String(LOCAL_PG_PORT);
  return { url: `postgresql://postgres:postgres@127.0.0.1:${port}/${service.database}`, variable: LOCAL_STACK };
}

/** The URL parsed by @webrana/db's rules; one it cannot use is a usage error naming where it came from. */
function settingsOf(source: UrlSource): DatabaseSettings {
  try {
    return fromSource(source).settings;
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new UsageError(error.message);
    throw error;
  }
}

function assertPortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', () =>
      reject(new UsageError(`port ${port} is already in use; stop what uses it or pass --port=N`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** Fails fast, with a hint, when the database is not there (Studio itself would only fail in the browser). */
async function assertReachable({ variable }: UrlSource, settings: DatabaseSettings): Promise<void> {
  const client = new Client({ ...settings.pool, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    const hint = variable === LOCAL_STACK ? '; is `npm start` running?' : '';
    throw new Error(`cannot reach ${settings.redacted} (from ${variable}): ${(error as Error).message}${hint}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every spelling of the URL's password that could show up in a message. */
export function secretsOf(url: string): string[] {
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

/** Replaces every secret in `text` by ***, longest first (a secret may contain a shorter one). */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const list = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => list.reduce((acc, s) => acc.split(s).join('***'), text);
}

/** Copies a child's output, line by line, with any password replaced by ***. */
function pipeRedacted(from: NodeJS.ReadableStream, to: (text: string) => void, url: string): void {
  const redact = redactor(secretsOf(url));
  let pending = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!;
    if (lines.length > 0) to(redact(lines.join('\n') + '\n'));
  });
  from.on('end', () => pending && to(redact(pending)));
}

/** A Prisma config that Studio loads from outside the repo: no secret in it, only an env lookup. */
function writeTemporaryConfig(service: ServiceSpec): { file: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-studio-'));
  const file = path.join(dir, 'prisma.config.mjs');
  const body = [
    `// Written by webrana-jobs studio for ${service.name}; removed when Studio stops.`,
    'export default {',
    `  schema: ${JSON.stringify(schemaPath(service.name))},`,
    `  datasource: { url: process.env.${URL_VARIABLE} },`,
    '};',
    '',
  ].join('\n');
  fs.writeFileSync(file, body, { mode: 0o600 });
  return { file, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function portOf(raw: string | undefined): number {
  const port = raw === undefined ? DEFAULT_PORT : Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`--port must be an integer between 1 and 65535, got "${raw}"`);
  }
  return port;
}

export async function studioCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      service: { type: 'string' },
      port: { type: 'string' },
      browser: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (io.out(STUDIO_USAGE), 0);
  const service = requireService(values.service);
  const port = portOf(values.port);
  const source = studioDatabaseUrl(service, io.env);
  const settings = settingsOf(source);
  await assertPortFree(port);
  await assertReachable(source, settings);
  return runStudio(service, source, port, values.browser || 'none', io);
}

async function runStudio(
  service: ServiceSpec,
  { url, variable }: UrlSource,
  port: number,
  browser: string,
  io: CommandIO,
): Promise<number> {
  const config = writeTemporaryConfig(service);
  const prisma = require.resolve('prisma/build/index.js', { paths: [REPO_ROOT] });
  const args = [prisma, 'studio', '--config', config.file, '--port', String(port), '--browser', browser];
  io.out(`Prisma Studio for ${service.name} on ${redactUrl(url)} (from ${variable})\n`);
  const child = spawn(process.execPath, args, {
    cwd: serviceDir(service.name),
    env: {
      ...io.env,
      [URL_VARIABLE]: url,
      // Studio needs no native engine, but the CLI tries to download one unless told where one is.
      PRISMA_SCHEMA_ENGINE_BINARY: io.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
      // No update check / telemetry call home unless asked for (these machines have no internet).
      CHECKPOINT_DISABLE: io.env.CHECKPOINT_DISABLE ?? '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipeRedacted(child.stdout, io.out, url);
  pipeRedacted(child.stderr, io.err ?? io.out, url);

  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    // Studio closes its server and pool on SIGINT/SIGTERM; give it a moment, then insist.
    killTimer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    killTimer.unref();
  };
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const code = await new Promise<number>((resolve) =>
    child.once('exit', (exitCode) => resolve(stopping ? 0 : (exitCode ?? 1))),
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  clearTimeout(killTimer);
  config.remove();
  return code;
}
