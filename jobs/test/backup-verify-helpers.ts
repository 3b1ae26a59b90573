import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { serverUrl, withClient } from '@webrana/testing';
import { tableDataEntries } from '../src/backup/rows';

const run = promisify(execFile);

/** The scratch databases of drills on `database` that exist now. */
export const scratchDatabases = (database: string) =>
  withClient(serverUrl(), (c) =>
    c
      .query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1`, [
        `${database}\\_drill\\_%`,
      ])
      .then((r) => r.rows.map((row) => row.datname)),
  );

/** Sessions connected to a database. */
export const sessionsIn = (database: string) =>
  withClient(serverUrl(), (c) =>
    c
      .query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1`, [database])
      .then((r) => r.rows[0]!.n),
  );

/** The scratch database of `database` a restore (pg_restore, by its application_name) is writing into now, if any. */
export const restoringInto = (database: string) =>
  withClient(serverUrl(), (c) =>
    c
      .query<{ datname: string }>(
        `SELECT datname FROM pg_stat_activity WHERE datname LIKE $1 AND application_name LIKE 'webrana-jobs-restore-%'`,
        [`${database}\\_drill\\_%`],
      )
      .then((r) => r.rows[0]?.datname),
  );

/**
 * Rewrites a .tar.zst dump as a tamperer would: unpacked, `edit` given the dump directory and a
 * function that finds a table's data file, packed again by tar | zstd. The manifest's sha256 and size
 * are updated to match, so only the drill's restore checks can tell.
 */
export async function tamperedArchive(
  dump: string,
  edit: (dataFile: (table: string) => string) => void,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tamper-'));
  try {
    await run('bash', ['-c', 'set -o pipefail; zstd -d -q -c -- "$1" | tar -C "$2" -xf -', 'unpack', dump, dir]);
    const listing = (await run('pg_restore', ['--list', dir])).stdout;
    const entries = tableDataEntries(listing);
    edit((table) => {
      const entry = entries.find((e) => e.table === table);
      if (!entry) throw new Error(`no TABLE DATA for ${table} in ${dump}`);
      return path.join(dir, `${entry.id}.dat`);
    });
    await run('bash', ['-c', 'set -o pipefail; tar -C "$1" -cf - . | zstd -1 -q -c > "$2"', 'pack', dir, dump]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const bytes = fs.readFileSync(dump);
  const manifestFile = `${dump}.json`;
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
  manifest.bytes = bytes.length;
  fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
}

/** Drops the first row (line) of a COPY data file. */
export function dropFirstRow(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(text.indexOf('\n') + 1));
}

/** Drops the row of a COPY data file that contains `needle`. */
export function dropRowWith(file: string, needle: string): void {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(needle));
  if (at < 0) throw new Error(`no row with ${needle} in ${file}`);
  lines.splice(at, 1);
  fs.writeFileSync(file, lines.join('\n'));
}

/** A dump name `seconds` later than `name`. */
export function laterName(name: string, seconds: number): string {
  const stamp = /-(\d{8}T\d{6}Z)\.tar\.zst$/.exec(name)![1]!;
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  const later = new Date(Date.parse(iso) + seconds * 1000)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return name.replace(stamp, later);
}

/** A copy of a dump and its manifest under the name of a later time (so --latest picks it). */
export function copyAsLater(dump: string, seconds: number): string {
  const copy = path.join(path.dirname(dump), laterName(path.basename(dump), seconds));
  fs.copyFileSync(dump, copy);
  const manifest = JSON.parse(fs.readFileSync(`${dump}.json`, 'utf8'));
  fs.writeFileSync(`${copy}.json`, JSON.stringify({ ...manifest, file: path.basename(copy) }, null, 2));
  return copy;
}
