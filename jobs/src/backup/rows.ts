import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Rows per table of a full dump, counted in the dump's own COPY data: pg_dump's directory format
 * writes each table's rows to <dumpId>.dat (uncompressed here) in COPY text format, where every row is
 * exactly one line (a newline inside a value is written as \n), ended by a line "\.". The counts are
 * therefore those of the one snapshot every pg_dump job read, and cost one read of the raw dump.
 */

/** Tables as manifests key them: schema.table. */
export type RowCounts = Record<string, number>;

/** The TABLE DATA entries of a `pg_restore --list` listing: dump id and schema.table. Pure. */
export function tableDataEntries(listing: string): { id: number; table: string }[] {
  const out: { id: number; table: string }[] = [];
  for (const line of listing.split('\n')) {
    const match = /^(\d+); \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(line);
    if (match) out.push({ id: Number(match[1]), table: `${match[2]}.${match[3]}` });
  }
  return out;
}

/**
 * Counts the rows of COPY data given in chunks that may split anywhere: the lines before the
 * terminating "\\." line (all lines when there is none).
 */
export function copyRowCounter(): { add(chunk: Buffer): void; rows(): number } {
  let newlines = 0;
  let tail = Buffer.alloc(0); // the last bytes seen, where the terminator is
  return {
    add(chunk) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
      tail = Buffer.concat([tail, chunk.subarray(-16)]).subarray(-16);
    },
    rows() {
      // The terminator line and any blank lines after it are not rows.
      const end = /(?:^|\n)\\\.(\n+)$/.exec(tail.toString('latin1'));
      return end ? newlines - end[1]!.length : newlines;
    },
  };
}

async function countFileRows(file: string): Promise<number> {
  const counter = copyRowCounter();
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) counter.add(chunk as Buffer);
  return counter.rows();
}

/**
 * Row counts of an unpacked, uncompressed directory-format dump, from its listing. A table without
 * a data file (pg_dump writes none for some empty tables) has 0 rows.
 */
export async function dumpRowCounts(dumpDir: string, listing: string): Promise<RowCounts> {
  const counts: RowCounts = {};
  for (const { id, table } of tableDataEntries(listing)) {
    const file = path.join(dumpDir, `${id}.dat`);
    counts[table] = fs.existsSync(file) ? await countFileRows(file) : 0;
  }
  return counts;
}

/** What differs between the manifest's counts and a restored database's, one sentence each. Pure. */
export function rowCountProblems(expected: RowCounts, actual: Record<string, number | null>): string[] {
  const problems: string[] = [];
  for (const [table, rows] of Object.entries(expected)) {
    const found = actual[table];
    if (found === null || found === undefined) problems.push(`table ${table} is missing after the restore`);
    else if (found !== rows) problems.push(`table ${table} has ${found} rows, the manifest says ${rows}`);
  }
  return problems;
}
