/** One applied migration as a Prisma ledger records it. */
export interface LedgerEntry {
  name: string;
  checksum: string;
}

/**
 * The `_prisma_migrations` rows of a COPY block (pg_restore -a -t _prisma_migrations, or a
 * data-only SQL dump), rolled-back rows left out. Empty when the text has no such block.
 */
export function parseLedgerCopy(text: string): LedgerEntry[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^COPY (?:"?[\w$]+"?\.)?"?_prisma_migrations"? \(.*\) FROM stdin;$/.test(l));
  if (start < 0) return [];
  const columns = /\((.*)\)/
    .exec(lines[start]!)![1]!
    .split(',')
    .map((c) => c.trim().replace(/"/g, ''));
  const at = (c: string) => columns.indexOf(c);
  const entries: LedgerEntry[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line === '\\.') break;
    const fields = line.split('\t');
    if (at('rolled_back_at') >= 0 && fields[at('rolled_back_at')] !== '\\N') continue;
    entries.push({ name: fields[at('migration_name')]!, checksum: fields[at('checksum')]! });
  }
  return entries;
}

/**
 * Which service a ledger belongs to: the one whose migrations folder has the most of its
 * (name, checksum) pairs. Names alone cannot tell: every service starts with *_init and *_rules.
 */
export function ownerOf(
  ledger: readonly LedgerEntry[],
  folders: Record<string, readonly LedgerEntry[]>,
): string | null {
  let best: string | null = null;
  let bestCount = 0;
  let tie = false;
  for (const [service, migrations] of Object.entries(folders)) {
    const known = new Set(migrations.map((m) => `${m.name}\0${m.checksum}`));
    const count = ledger.filter((e) => known.has(`${e.name}\0${e.checksum}`)).length;
    if (count > bestCount) [best, bestCount, tie] = [service, count, false];
    else if (count > 0 && count === bestCount) tie = true;
  }
  return tie ? null : best;
}

export interface RestoreIdentity {
  /** The service the manifest names. */
  dumpService: string;
  /** The service whose database the command was told to restore into (--service). */
  targetService: string;
  /** The ledger inside the dump (empty for schema-only dumps). */
  dumpLedger: readonly LedgerEntry[];
  /** The target database's ledger (empty when it has none). */
  targetLedger: readonly LedgerEntry[];
  targetDatabase: string;
  /** Every service's migrations folder, and each service's database name in the spec. */
  folders: Record<string, readonly LedgerEntry[]>;
  specDatabases: Record<string, string>;
}

/** Why this dump must not go into this database (names both sides), or null when it may. */
export function identityProblem(id: RestoreIdentity): string | null {
  if (id.dumpService !== id.targetService)
    return `the dump is ${id.dumpService}'s (manifest), but --service says ${id.targetService}`;
  const insideDump = ownerOf(id.dumpLedger, id.folders);
  if (insideDump && insideDump !== id.dumpService)
    return `the manifest says ${id.dumpService}, but the migrations ledger inside the dump is ${insideDump}'s`;
  const target = ownerOf(id.targetLedger, id.folders);
  if (target && target !== id.targetService)
    return `the target database ${id.targetDatabase} holds ${target}'s migrations ledger, not ${id.targetService}'s`;
  const specOwner = Object.keys(id.specDatabases).find((s) => id.specDatabases[s] === id.targetDatabase);
  if (specOwner && specOwner !== id.targetService)
    return `the target database ${id.targetDatabase} is ${specOwner}'s database`;
  // Same names, other checksums: another history (e.g. a service whose folder is not here).
  const expected = new Map(
    (id.dumpLedger.length > 0 ? id.dumpLedger : (id.folders[id.dumpService] ?? [])).map((e) => [e.name, e.checksum]),
  );
  const differing = id.targetLedger.filter((e) => expected.has(e.name) && expected.get(e.name) !== e.checksum);
  if (differing.length > 0)
    return (
      `the target database ${id.targetDatabase} applied ${differing.map((e) => e.name).join(', ')} with other ` +
      `checksums than this ${id.dumpService} dump: it is another service's database`
    );
  return null;
}
