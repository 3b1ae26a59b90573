/** The three kinds of dump the spec names: full (all of it, for pg_restore), schema-only and data-only (SQL). */
export type DumpKind = 'full' | 'schema' | 'data';
/**
 * How a dump is stored: `tar.zst` (pg_dump's directory format packed into one zstd-compressed tar,
 * what full dumps are written as), `custom` (pg_dump -Fc, what full dumps were before; still listed,
 * kept by retention and restored) and `sql` (plain SQL, the schema and data kinds).
 */
export type DumpFormat = 'tar.zst' | 'custom' | 'sql';

/** Every suffix this project reads, with what it means; the first of each kind is what it writes. */
const SUFFIXES: readonly { suffix: string; kind: DumpKind; format: DumpFormat }[] = [
  { suffix: '.tar.zst', kind: 'full', format: 'tar.zst' },
  { suffix: '.dump', kind: 'full', format: 'custom' },
  { suffix: '-schema.sql', kind: 'schema', format: 'sql' },
  { suffix: '-data.sql', kind: 'data', format: 'sql' },
];
const NAME = /^(?<service>[a-z0-9-]+?)-(?<stamp>\d{8}T\d{6}Z)(?<suffix>\.tar\.zst|\.dump|-schema\.sql|-data\.sql)$/;

/** 2026-03-01T02:00:00.123Z -> 20260301T020000Z (sortable, no characters a filesystem dislikes). */
export function compactStamp(time: Date): string {
  return time
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

export function dumpFileName(service: string, time: Date, kind: DumpKind): string {
  return `${service}-${compactStamp(time)}${SUFFIXES.find((s) => s.kind === kind)!.suffix}`;
}

export interface ParsedDumpName {
  service: string;
  time: Date;
  kind: DumpKind;
  format: DumpFormat;
}

/** Reads a file name this project wrote; null for anything else. */
export function parseDumpFileName(name: string): ParsedDumpName | null {
  const match = NAME.exec(name);
  if (!match?.groups) return null;
  const { service, stamp, suffix } = match.groups as { service: string; stamp: string; suffix: string };
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  const time = new Date(iso);
  if (Number.isNaN(time.getTime()) || time.toISOString().replace('.000', '') !== iso) return null;
  const { kind, format } = SUFFIXES.find((s) => s.suffix === suffix)!;
  return { service, time, kind, format };
}

/** The manifest written beside a dump. */
export const manifestName = (dumpName: string): string => `${dumpName}.json`;

/** The part of a host name safe in a file name (Kubernetes pod names already are). */
export const safeHost = (host: string): string => host.replace(/[^A-Za-z0-9.-]/g, '_') || 'unknown-host';

const TEMP = /^\.(?<final>.+)\.tmp-(?:(?<host>[A-Za-z0-9._-]+)-(?<pid>\d+)-[0-9a-f]{8}|\d+)$/;

/**
 * A temporary name beside `final`, unique to this process: host name (pids repeat across pods that
 * share a volume; pid 1 in every container), pid (so a sweeper on the same host can tell whether
 * its writer still runs) and random bytes (two writers in one process).
 */
export function tempFileName(final: string, host: string, pid: number, random: string): string {
  return `.${final}.tmp-${safeHost(host)}-${pid}-${random}`;
}

/** Reads a temporary name; host and pid are null for the old `.<name>.tmp-<pid>` form. */
export function parseTempFileName(name: string): { final: string; host: string | null; pid: number | null } | null {
  const match = TEMP.exec(name);
  if (!match?.groups) return null;
  const { final, host, pid } = match.groups;
  return { final: final!, host: host ?? null, pid: pid === undefined ? null : Number(pid) };
}

/** The final names to try, one second apart, when the run's own second is taken by another run. */
export function candidateDumpNames(service: string, time: Date, kind: DumpKind, count: number): string[] {
  return Array.from({ length: count }, (_, i) => dumpFileName(service, new Date(time.getTime() + i * 1000), kind));
}

/**
 * The completed dumps of one service and kind among a folder's names (a volume directory or a bucket
 * prefix): our name and its manifest beside it; anything else is not ours, or not finished. Pure.
 */
export function completedDumps(
  names: Iterable<string>,
  service: string,
  kind: DumpKind,
): { name: string; time: Date }[] {
  const all = new Set(names);
  return [...all]
    .sort()
    .map((name) => ({ name, parsed: parseDumpFileName(name) }))
    .filter(({ name, parsed }) => parsed?.service === service && parsed.kind === kind && all.has(manifestName(name)))
    .map(({ name, parsed }) => ({ name, time: parsed!.time }));
}
