import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const CONFIG = path.join(__dirname, '..', 'prisma.config.cjs');
const CLI = require.resolve('prisma6/build/index.js');

export interface Prisma6Result {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Rewrites a Prisma 7 schema into what Prisma 6 accepts without downloading native engines:
 * the datasource gets `url = env("DATABASE_URL")` and the generator becomes a client-engine one.
 */
export function toPrisma6Schema(schema: string): string {
  return schema
    .replace(
      /generator\s+\w+\s*\{[^}]*\}/,
      'generator client {\n  provider   = "prisma-client-js"\n  engineType = "client"\n}',
    )
    .replace(/(datasource\s+\w+\s*\{[^}]*provider\s*=\s*"postgresql")/, '$1\n  url      = env("DATABASE_URL")');
}

/**
 * Runs the Prisma 6.19 CLI against a patched copy of a service schema (and a copy of its migrations
 * folder, when there is one), with the WebAssembly schema engine over a pg driver adapter.
 */
export function runPrisma6(args: readonly string[], opts: { schemaPath: string; databaseUrl: string }): Prisma6Result {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'prisma6-'));
  try {
    const schema = path.join(work, 'schema.prisma');
    fs.writeFileSync(schema, toPrisma6Schema(fs.readFileSync(opts.schemaPath, 'utf8')));
    const migrations = path.join(path.dirname(opts.schemaPath), 'migrations');
    if (fs.existsSync(migrations)) fs.cpSync(migrations, path.join(work, 'migrations'), { recursive: true });
    const result = spawnSync(process.execPath, [CLI, ...args, '--config', CONFIG], {
      cwd: work,
      encoding: 'utf8',
      env: {
        ...process.env,
        WEBRANA_PRISMA6_SCHEMA: schema,
        DATABASE_URL: opts.databaseUrl,
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
        CHECKPOINT_DISABLE: '1',
      },
    });
    return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Prisma's own DDL for a schema, from an empty database (`migrate diff --from-empty`). The engine
 * connects to `databaseUrl` (any reachable PostgreSQL) even though the diff does not read it.
 */
export function prismaDdl(schemaPath: string, databaseUrl: string): string {
  const result = runPrisma6(['migrate', 'diff', '--from-empty', '--to-schema-datamodel', 'schema.prisma', '--script'], {
    schemaPath,
    databaseUrl,
  });
  if (result.status !== 0) throw new Error(`prisma migrate diff failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}
