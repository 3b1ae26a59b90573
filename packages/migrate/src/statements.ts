import { loadModule, parseSync } from 'libpg-query';

/** PostgreSQL's own parser (libpg_query, WebAssembly): statements are split exactly as the server would. */
async function parse(sql: string) {
  if (sql.trim() === '') return { stmts: [] }; // the parser rejects an empty query; an empty file has no statements
  await loadModule();
  return parseSync(sql);
}

/** One statement of a script as written, with the line it starts on (1-based). */
export interface Statement {
  text: string;
  line: number;
}

/** The statements of a script with their lines (comments between statements dropped). */
export async function statementsOf(sql: string): Promise<Statement[]> {
  const bytes = Buffer.from(sql, 'utf8'); // the parser reports byte offsets
  const { stmts = [] } = await parse(sql);
  return stmts.flatMap((s) => {
    const start = s.stmt_location ?? 0;
    const end = s.stmt_len ? start + s.stmt_len : bytes.length;
    const raw = bytes.subarray(start, end).toString('utf8');
    const text = raw.trim();
    if (text.length === 0) return [];
    const before = bytes.subarray(0, start).toString('utf8') + raw.slice(0, raw.indexOf(text));
    return [{ text, line: before.split('\n').length }];
  });
}

/** The statements of a script, as written (comments between statements dropped). */
export async function splitStatements(sql: string): Promise<string[]> {
  return (await statementsOf(sql)).map((s) => s.text);
}

/** The line (1-based) of a 0-based character offset into a script (libpg_query's cursorPosition counts characters). */
export function lineAt(sql: string, charOffset: number): number {
  return Array.from(sql).slice(0, charOffset).join('').split('\n').length;
}

/** PostgreSQL's own syntax check: null when the script parses, else the error and its line. */
export async function syntaxErrorOf(sql: string): Promise<{ message: string; line: number | null } | null> {
  try {
    await parse(sql);
    return null;
  } catch (error) {
    const details = (error as { sqlDetails?: { message?: string; cursorPosition?: number } }).sqlDetails;
    if (!details) throw error;
    const line = typeof details.cursorPosition === 'number' ? lineAt(sql, details.cursorPosition) : null;
    return { message: details.message ?? (error as Error).message, line };
  }
}

/**
 * Why a script cannot run inside a transaction block, or null when it can: statements PostgreSQL
 * refuses in a transaction (CREATE/DROP/REINDEX ... CONCURRENTLY, VACUUM, CREATE DATABASE, ...).
 */
export async function nonTransactionalReason(sql: string): Promise<string | null> {
  const { stmts = [] } = await parse(sql);
  for (const { stmt } of stmts) {
    const [kind, node] = Object.entries(stmt ?? {})[0] ?? [];
    const n = (node ?? {}) as Record<string, unknown>;
    if (kind === 'IndexStmt' && n.concurrent) return 'CREATE INDEX CONCURRENTLY';
    if (kind === 'DropStmt' && n.concurrent) return 'DROP INDEX CONCURRENTLY';
    if (kind === 'ReindexStmt' && JSON.stringify(n.params ?? []).includes('"concurrently"'))
      return 'REINDEX CONCURRENTLY';
    if (kind === 'VacuumStmt' && n.is_vacuumcmd) return 'VACUUM'; // ANALYZE shares the node and may run in a transaction
    const always: Record<string, string> = {
      CreatedbStmt: 'CREATE DATABASE',
      DropdbStmt: 'DROP DATABASE',
      AlterSystemStmt: 'ALTER SYSTEM',
      CreateTableSpaceStmt: 'CREATE TABLESPACE',
      DropTableSpaceStmt: 'DROP TABLESPACE',
    };
    if (kind && always[kind]) return always[kind];
    // A script with its own BEGIN/COMMIT is run as written, never wrapped in ours.
    if (kind === 'TransactionStmt') return 'it controls its own transaction (BEGIN/COMMIT)';
  }
  return null;
}
