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
export function runPrisma6(
  args: readonly string[],
  opts: {
    schemaPath: string;
    databaseUrl: string;
    /** More files for the work folder (name -> Prisma 6 schema text, written as is). */
    files?: Record<string, string>;
  },
): Prisma6Result {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'prisma6-'));
  try {
    const schema = path.join(work, 'schema.prisma');
    fs.writeFileSync(schema, toPrisma6Schema(fs.readFileSync(opts.schemaPath, 'utf8')));
    for (const [name, text] of Object.entries(opts.files ?? {})) fs.writeFileSync(path.join(work, name), text);
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

/**
 * The datamodel of a database as Prisma 6 introspects it (`db pull --print`), generator and
 * datasource taken from the service schema (already in Prisma 6 form).
 */
export function prismaPull(schemaPath: string, databaseUrl: string): string {
  const result = runPrisma6(['db', 'pull', '--print'], { schemaPath, databaseUrl });
  if (result.status !== 0) throw new Error(`prisma db pull failed:\n${result.stderr}${result.stdout}`);
  // The CLI prints its adapter warning on stdout before the schema.
  const start = result.stdout.search(/^(generator|datasource)\s/m);
  return start < 0 ? result.stdout : result.stdout.slice(start);
}

/**
 * Prisma's own migration script between two datamodels (`migrate diff --from-schema-datamodel
 * --to-schema-datamodel --script`): `from` is schema text in Prisma 6 form (e.g. from prismaPull or
 * toPrisma6Schema), `toSchemaPath` a service schema (rewritten for Prisma 6 here).
 */
export function prismaDiff(from: string, toSchemaPath: string, databaseUrl: string): string {
  const result = runPrisma6(
    ['migrate', 'diff', '--from-schema-datamodel', 'from.prisma', '--to-schema-datamodel', 'schema.prisma', '--script'],
    { schemaPath: toSchemaPath, databaseUrl, files: { 'from.prisma': from } },
  );
  if (result.status !== 0) throw new Error(`prisma migrate diff failed:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** True when a `migrate diff --script` output holds no statement (Prisma prints a comment then). */
export function isEmptyScript(script: string): boolean {
  return script
    .split('\n')
    .map((l) => l.trim())
    .every((l) => l === '' || l.startsWith('--'));
}
