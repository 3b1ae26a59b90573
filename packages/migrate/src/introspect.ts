import type { Client } from 'pg';

/**
 * The parts of a schema that Prisma models, flattened to "what -> definition" pairs so two schemas
 * compare with a plain map diff. CHECK constraints, triggers and functions are left out on purpose.
 */
export type SchemaSnapshot = Map<string, string>;

const QUERIES: { sql: string; entries: (row: Record<string, string>) => [string, string][] }[] = [
  {
    sql: `SELECT c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`,
    entries: (r) => [[`table ${r.table}`, 'exists']],
  },
  {
    sql: `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
                 a.attnotnull::text AS not_null, coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS default
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'
            AND a.attnum > 0 AND NOT a.attisdropped`,
    entries: (r) => [
      [`column ${r.table}.${r.column} type`, r.type!],
      [`column ${r.table}.${r.column} nullability`, r.not_null === 'true' ? 'NOT NULL' : 'NULL'],
      [`column ${r.table}.${r.column} default`, r.default || '(none)'],
    ],
  },
  {
    // Primary keys, unique indexes and plain indexes, with their columns, order and method.
    sql: `SELECT c.relname AS index, pg_get_indexdef(i.indexrelid) AS def
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_class t ON t.oid = i.indrelid
          WHERE n.nspname = $1 AND t.relname <> '_prisma_migrations'`,
    entries: (r) => [[`index ${r.index}`, r.def!]],
  },
  {
    sql: `SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def
          FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND k.contype IN ('f', 'p', 'u') AND c.relname <> '_prisma_migrations'`,
    entries: (r) => [[`constraint ${r.table}.${r.name}`, r.def!]],
  },
  {
    sql: `SELECT t.typname AS enum, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) AS labels
          FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = $1 GROUP BY t.typname`,
    entries: (r) => [[`enum ${r.enum}`, r.labels!]],
  },
];

export async function snapshotSchema(client: Client, schema = 'public'): Promise<SchemaSnapshot> {
  const snapshot: SchemaSnapshot = new Map();
  for (const query of QUERIES) {
    const { rows } = await client.query<Record<string, string>>(query.sql, [schema]);
    rows.forEach((row) => query.entries(row).forEach(([key, value]) => snapshot.set(key, value)));
  }
  return snapshot;
}

/** Every difference between what the migrations build and what schema.prisma describes, sorted. */
export function diffSnapshots(fromMigrations: SchemaSnapshot, fromSchema: SchemaSnapshot): string[] {
  const keys = [...new Set([...fromMigrations.keys(), ...fromSchema.keys()])].sort();
  return keys.flatMap((key) => {
    const a = fromMigrations.get(key);
    const b = fromSchema.get(key);
    if (a === b) return [];
    if (a === undefined) return [`${key}: in schema.prisma (${b}) but not built by the migrations`];
    if (b === undefined) return [`${key}: built by the migrations (${a}) but not in schema.prisma`];
    return [`${key}: migrations give ${a}; schema.prisma says ${b}`];
  });
}
