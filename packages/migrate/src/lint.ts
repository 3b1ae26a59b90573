import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadModule, parseSync } from 'libpg-query';
import type { LocalMigration } from './local';
import { nonTransactionalReason, statementsOf } from './statements';

const run = promisify(execFile);

/**
 * squawk rules whose findings we treat as errors: each can take a long ACCESS EXCLUSIVE / SHARE lock
 * or rewrite a table (an outage on a busy table), fail on existing rows, or break the code still
 * running against the database during a rolling deploy. Every other squawk rule is a warning.
 * The value is the safe alternative printed with the finding.
 */
export const ERROR_RULES: Record<string, string> = {
  'adding-required-field':
    'add the column nullable (or with a non-volatile DEFAULT), backfill, then SET NOT NULL in a later migration',
  'adding-not-nullable-field':
    'add a CHECK (col IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT in a later migration, then SET NOT NULL',
  'adding-field-with-default':
    'add the column nullable without a volatile default, backfill in batches, then set the default',
  'changing-column-type': 'add a new column, backfill it, switch the code, then drop the old column',
  'constraint-missing-not-valid': 'add the constraint NOT VALID, then VALIDATE CONSTRAINT in a later migration',
  'adding-foreign-key-constraint': 'add the foreign key NOT VALID, then VALIDATE CONSTRAINT in a later migration',
  'disallowed-unique-constraint':
    'CREATE UNIQUE INDEX CONCURRENTLY in its own migration, then ADD CONSTRAINT ... UNIQUE USING INDEX',
  'adding-serial-primary-key-field':
    'CREATE UNIQUE INDEX CONCURRENTLY in its own migration, then ADD CONSTRAINT ... PRIMARY KEY USING INDEX',
  'require-concurrent-index-creation': 'CREATE INDEX CONCURRENTLY in a migration of its own',
  'require-concurrent-index-deletion': 'DROP INDEX CONCURRENTLY in a migration of its own',
  'ban-concurrent-index-creation-in-transaction':
    'put the CONCURRENTLY statement in a migration of its own (the runner then applies it outside a transaction)',
  'ban-drop-column': 'stop using the column in the code and deploy that first, then drop it',
  'ban-drop-table': 'stop using the table in the code and deploy that first, then drop it',
  'ban-drop-database': 'drop databases by hand, never from a migration',
  'renaming-column': 'add the new column, dual-write and backfill, switch reads, then drop the old column',
  'renaming-table': 'create the new table (or a view), migrate the code, then drop the old table',
};

/** Rules the runner makes moot: it sets lock_timeout and statement_timeout around every migration. */
export const EXCLUDED_RULES = ['require-lock-timeout', 'require-statement-timeout'];

/** squawk 2.66's rule names (for validating allow comments). */
export const KNOWN_RULES = new Set([
  ...Object.keys(ERROR_RULES),
  ...EXCLUDED_RULES,
  'ban-char-field',
  'ban-create-domain-with-constraint',
  'ban-alter-domain-with-add-constraint',
  'ban-drop-not-null',
  'ban-truncate-cascade',
  'ban-uncommitted-transaction',
  'prefer-big-int',
  'prefer-bigint-over-int',
  'prefer-bigint-over-smallint',
  'prefer-identity',
  'prefer-robust-stmts',
  'prefer-text-field',
  'prefer-timestamp-tz',
  'require-enum-value-ordering',
  'require-table-schema',
  'transaction-nesting',
  'ban-duplicate-column-assignments',
]);

export interface LintFinding {
  rule: string;
  level: 'error' | 'warning';
  /** The migration folder name. */
  migration: string;
  file: string;
  /** 1-based. */
  line: number;
  message: string;
  /** The safe alternative (errors) or squawk's help. */
  help: string;
  /** Why it is allowed (an allow comment or the folder's lint-allow.json), when it is. */
  allowed?: string;
}

/** Per-service allowlist for migrations whose bytes must not change: `{ "<migration>": { "<rule>": "reason" } }`. */
export const ALLOWLIST_FILE = 'lint-allow.json';

type Allowlist = Record<string, Record<string, string>>;

function readAllowlist(migrationsDir: string): Allowlist {
  const file = path.join(migrationsDir, ALLOWLIST_FILE);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Allowlist) : {};
}

const SQUAWK = (() => {
  try {
    return require.resolve('squawk-cli/js/bin/squawk');
  } catch {
    return null;
  }
})();

interface SquawkViolation {
  line: number;
  level: string;
  message: string;
  help: string | null;
  rule_name: string;
}

async function squawk(file: string, inTransaction: boolean): Promise<SquawkViolation[]> {
  if (!SQUAWK) throw new Error('squawk-cli is not installed (a dependency of @webrana/migrate)');
  const args = [
    SQUAWK,
    '--reporter',
    'json',
    '--pg-version=15.0',
    `--exclude=${EXCLUDED_RULES.join(',')}`,
    inTransaction ? '--assume-in-transaction' : '--no-assume-in-transaction',
    file,
  ];
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    // squawk exits 1 when it found something; its report is on stdout all the same.
    stdout = (error as { stdout?: string }).stdout ?? '';
    if (!stdout.trim().startsWith('[')) throw error;
  }
  return JSON.parse(stdout || '[]') as SquawkViolation[];
}

interface Span {
  /** First line of the comments before the statement (after the previous one). */
  from: number;
  start: number;
  end: number;
  relation: string | null;
  creates: string | null;
}

async function spansOf(sql: string): Promise<Span[]> {
  const statements = await statementsOf(sql);
  await loadModule();
  let from = 1;
  return statements.map((s) => {
    const end = s.line + s.text.split('\n').length - 1;
    let relation: string | null = null;
    let creates: string | null = null;
    try {
      const stmt = parseSync(s.text).stmts?.[0]?.stmt ?? {};
      const [kind, node] = Object.entries(stmt)[0] ?? [];
      const rel = (node as { relation?: { relname?: string } } | undefined)?.relation?.relname ?? null;
      if (kind === 'CreateStmt') creates = rel;
      relation = rel;
    } catch {
      // a statement the parser rejects alone: no relation known
    }
    const span = { from, start: s.line, end, relation, creates };
    from = end + 1;
    return span;
  });
}

const ALLOW = /--\s*webrana:allow\b(.*)$/;

/** Lints migration files with squawk, the way the runner applies them. */
export async function lintMigrations(
  migrations: readonly LocalMigration[],
  migrationsDir: string,
): Promise<LintFinding[]> {
  const allowlist = readAllowlist(migrationsDir);
  const findings: LintFinding[] = [];
  for (const m of migrations) {
    const inTransaction = (await nonTransactionalReason(m.sql).catch(() => null)) === null;
    const spans = await spansOf(m.sql).catch(() => [] as Span[]);
    const lines = m.sql.split('\n');
    const created = new Set<string>();
    const createdBefore = new Map<Span, Set<string>>();
    for (const span of spans) {
      createdBefore.set(span, new Set(created));
      if (span.creates) created.add(span.creates);
    }
    const spanAt = (line: number) => spans.find((s) => s.from <= line && line <= s.end);
    const allowsOf = (span: Span | undefined) => {
      const found = new Map<string, string>();
      if (!span) return found;
      for (let n = span.from; n <= span.end; n += 1) {
        const match = ALLOW.exec(lines[n - 1] ?? '');
        if (!match) continue;
        const body = match[1]!.trim();
        const rule = /^([a-z0-9-]+)/.exec(body)?.[1] ?? '';
        const reason = body.slice(rule.length).replace(/^\s*:?\s*/, '');
        if (!KNOWN_RULES.has(rule) || !reason) {
          findings.push({
            rule: 'webrana-allow',
            level: 'error',
            migration: m.name,
            file: m.file,
            line: n,
            message: !KNOWN_RULES.has(rule)
              ? `allow comment names no known squawk rule ("${rule}")`
              : `allow comment for ${rule} gives no reason`,
            help: 'write `-- webrana:allow <squawk rule>: <why it is safe here>` on the line before the statement',
          });
          continue;
        }
        found.set(rule, reason);
      }
      return found;
    };
    const allows = new Map(spans.map((s) => [s, allowsOf(s)]));
    for (const v of await squawk(m.file, inTransaction)) {
      const line = v.line + 1; // squawk counts lines from 0
      const span = spanAt(line);
      // Rules about existing tables do not apply to a table created earlier in the same file.
      if (span?.relation && createdBefore.get(span)?.has(span.relation) && span.creates === null) continue;
      const level = v.rule_name in ERROR_RULES ? 'error' : 'warning';
      const allowed = (span && allows.get(span)?.get(v.rule_name)) ?? allowlist[m.name]?.[v.rule_name];
      findings.push({
        rule: v.rule_name,
        level,
        migration: m.name,
        file: m.file,
        line,
        message: v.message,
        help: ERROR_RULES[v.rule_name] ?? v.help ?? '',
        ...(allowed ? { allowed } : {}),
      });
    }
  }
  // An invalid allow comment is reported once per comment line.
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.file}:${f.line}:${f.rule}:${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Findings that block: errors with no allow comment or allowlist entry. */
export const blocking = (findings: readonly LintFinding[]) => findings.filter((f) => f.level === 'error' && !f.allowed);

export function formatFinding(f: LintFinding): string {
  const state = f.allowed ? `allowed (${f.allowed})` : f.level;
  return `${f.file}:${f.line}: ${state} [${f.rule}] ${f.message}${f.help ? `; safe alternative: ${f.help}` : ''}`;
}
