import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { serviceDir, REPO_ROOT, type ServiceName } from '@webrana/registry';
import { withClient } from '@webrana/testing';

export const CLI = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the built webrana-jobs CLI; `result` settles when it exits. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; result: Promise<CliResult> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const result = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, result };
}

export const runCli = (args: string[], env: NodeJS.ProcessEnv = {}) => startCli(args, env).result;

/**
 * Unpacks a full dump by hand, as an operator would without our tools (zstd -d | tar -x), and has
 * pg_restore list it; throws if either fails.
 */
export async function expectDumpLists(file: string): Promise<void> {
  const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'unpacked-'));
  try {
    await promisify(execFile)('bash', [
      '-c',
      'set -o pipefail; zstd -d -q -c -- "$1" | tar -C "$2" -xf -',
      'unpack',
      file,
      unpacked,
    ]);
    await promisify(execFile)('pg_restore', ['--list', unpacked]);
  } finally {
    fs.rmSync(unpacked, { recursive: true, force: true });
  }
}

/** A private copy of a service's prisma folder (schema.prisma + migrations) that a test may edit. */
export function copyPrismaFolder(service: ServiceName): { dir: string; migrationsDir: string; remove(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${service}-prisma-`));
  fs.cpSync(path.join(serviceDir(service), 'prisma'), dir, { recursive: true });
  return {
    dir,
    migrationsDir: path.join(dir, 'migrations'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

/** Adds a migration folder to a migrations copy. */
export function addMigration(migrationsDir: string, name: string, sql: string): string {
  fs.mkdirSync(path.join(migrationsDir, name));
  const file = path.join(migrationsDir, name, 'migration.sql');
  fs.writeFileSync(file, sql);
  return file;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The migration ledger's rows, oldest first. */
export const ledger = (url: string) =>
  withClient(url, (c) =>
    c
      .query(
        'SELECT migration_name, checksum, finished_at, rolled_back_at, logs, applied_steps_count FROM _prisma_migrations ORDER BY started_at',
      )
      .then((r) => r.rows),
  );

export const columnExists = (url: string, table: string, column: string) =>
  withClient(url, (c) =>
    c
      .query(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`, [
        table,
        column,
      ])
      .then((r) => r.rows[0].n === 1),
  );
