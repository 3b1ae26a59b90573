import { loadModule, parseSync } from 'libpg-query';

/** PostgreSQL's own parser (libpg_query, WebAssembly): statements are split exactly as the server would. */
async function parse(sql: string) {
  if (sql.trim() === '') return { stmts: [] }; // the parser rejects an empty query; an empty file has no statements
  await loadModule();
  return parseSync(sql);
}

/** The statements of a script, as written (comments between statements dropped). */
export async function splitStatements(sql: string): Promise<string[]> {
  const bytes = Buffer.from(sql, 'utf8'); // the parser reports byte offsets
  const { stmts = [] } = await parse(sql);
  return stmts
    .map((s) => {
      const start = s.stmt_location ?? 0;
      const end = s.stmt_len ? start + s.stmt_len : bytes.length;
      return bytes.subarray(start, end).toString('utf8').trim();
    })
    .filter((s) => s.length > 0);
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
