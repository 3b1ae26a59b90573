import * as fs from 'node:fs';
import * as path from 'node:path';
import { nonTransactionalReason, splitStatements, statementsOf, syntaxErrorOf } from './statements';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Every services/<service>/prisma/migrations/<name>/migration.sql in the repository. */
function realMigrationFiles(): string[] {
  const servicesDir = path.join(REPO_ROOT, 'services');
  return fs
    .readdirSync(servicesDir)
    .map((service) => path.join(servicesDir, service, 'prisma', 'migrations'))
    .filter((dir) => fs.existsSync(dir))
    .flatMap((dir) =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(dir, e.name, 'migration.sql')),
    )
    .filter((file) => fs.existsSync(file))
    .sort();
}

describe('splitStatements', () => {
  test('splits on top-level semicolons and drops the terminators', async () => {
    expect(await splitStatements('CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n')).toEqual([
      'CREATE TABLE a (id int)',
      'CREATE TABLE b (id int)',
    ]);
  });

  test('a last statement without a semicolon is kept', async () => {
    expect(await splitStatements('SELECT 1; SELECT 2')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  test('a semicolon inside a string literal does not split', async () => {
    expect(await splitStatements("INSERT INTO t VALUES ('a;b'); SELECT 2;")).toEqual([
      "INSERT INTO t VALUES ('a;b')",
      'SELECT 2',
    ]);
  });

  test('a semicolon inside a quoted identifier does not split', async () => {
    expect(await splitStatements('CREATE TABLE "we;ird" (id int); SELECT 1;')).toEqual([
      'CREATE TABLE "we;ird" (id int)',
      'SELECT 1',
    ]);
  });

  test('a dollar-quoted function body stays one statement', async () => {
    const fn =
      'CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  NEW.updated_at := now();\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql';
    expect(await splitStatements(`${fn};\nSELECT 1;`)).toEqual([fn, 'SELECT 1']);
  });

  test('a tagged dollar quote containing $$ and semicolons stays one statement', async () => {
    const fn = "CREATE FUNCTION f() RETURNS text AS $body$ SELECT '$$;'::text; $body$ LANGUAGE sql";
    expect(await splitStatements(`${fn}; SELECT 2;`)).toEqual([fn, 'SELECT 2']);
  });

  test('comments between statements are dropped, including ones with semicolons', async () => {
    expect(
      await splitStatements('-- first; not a statement\nSELECT 1;\n/* block; comment */\nSELECT 2; -- trailing;\n'),
    ).toEqual(['SELECT 1', 'SELECT 2']);
  });

  test('a comment inside a statement is kept as written', async () => {
    expect(await splitStatements('SELECT 1 /* inner; */ + 2; SELECT 3;')).toEqual([
      'SELECT 1 /* inner; */ + 2',
      'SELECT 3',
    ]);
  });

  test('multi-byte UTF-8 characters before a statement do not shift it (offsets are bytes)', async () => {
    expect(await splitStatements("-- héllo 日本語 🚀\nSELECT 'ü'; -- ß\nSELECT 'ok';")).toEqual([
      "SELECT 'ü'",
      "SELECT 'ok'",
    ]);
  });

  test('multi-byte characters inside several consecutive statements are kept intact', async () => {
    expect(await splitStatements("SELECT 'é'; SELECT '日本'; SELECT 3")).toEqual([
      "SELECT 'é'",
      "SELECT '日本'",
      'SELECT 3',
    ]);
  });

  test('an empty (0-byte) migration has no statements and runs in a transaction', async () => {
    expect(await splitStatements('')).toEqual([]);
    expect(await nonTransactionalReason('')).toBeNull();
  });

  test("ANALYZE may run in a transaction (it shares VACUUM's parse node)", async () => {
    expect(await nonTransactionalReason('ANALYZE users;')).toBeNull();
    expect(await nonTransactionalReason('ANALYZE;')).toBeNull();
  });

  test('empty statements (;;) are skipped', async () => {
    expect(await splitStatements('SELECT 1;;\n;SELECT 2;')).toEqual(['SELECT 1', 'SELECT 2']);
  });

  test('a script of only comments and whitespace has no statements', async () => {
    expect(await splitStatements('-- This is an empty migration.\n')).toEqual([]);
    expect(await splitStatements('   \n\t')).toEqual([]);
  });

  test('a syntax error is reported by the parser', async () => {
    await expect(splitStatements('SELEC 1;')).rejects.toThrow('syntax error at or near "SELEC"');
  });
});

describe('nonTransactionalReason', () => {
  test.each([
    ['CREATE INDEX CONCURRENTLY "users_email_idx" ON "users" ("email");', 'CREATE INDEX CONCURRENTLY'],
    ['CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON t (a);', 'CREATE INDEX CONCURRENTLY'],
    ['DROP INDEX CONCURRENTLY "users_email_idx";', 'DROP INDEX CONCURRENTLY'],
    ['DROP INDEX CONCURRENTLY IF EXISTS a;', 'DROP INDEX CONCURRENTLY'],
    ['REINDEX INDEX CONCURRENTLY users_email_idx;', 'REINDEX CONCURRENTLY'],
    ['REINDEX TABLE CONCURRENTLY users;', 'REINDEX CONCURRENTLY'],
    ['REINDEX (CONCURRENTLY) TABLE users;', 'REINDEX CONCURRENTLY'],
    ['VACUUM users;', 'VACUUM'],
    ['VACUUM FULL;', 'VACUUM'],
    ['VACUUM (ANALYZE) users;', 'VACUUM'],
    ['CREATE DATABASE webrana_extra;', 'CREATE DATABASE'],
    ['DROP DATABASE webrana_extra;', 'DROP DATABASE'],
    ["ALTER SYSTEM SET work_mem = '64MB';", 'ALTER SYSTEM'],
    ["CREATE TABLESPACE fast LOCATION '/ssd';", 'CREATE TABLESPACE'],
    ['DROP TABLESPACE fast;', 'DROP TABLESPACE'],
  ])('%s -> %s', async (sql, reason) => {
    expect(await nonTransactionalReason(sql)).toBe(reason);
  });

  test('a script with its own BEGIN/COMMIT is detected', async () => {
    expect(await nonTransactionalReason('BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n')).toBe(
      'it controls its own transaction (BEGIN/COMMIT)',
    );
  });

  test('START TRANSACTION and a lone COMMIT are detected as transaction control', async () => {
    expect(await nonTransactionalReason('START TRANSACTION;')).toBe('it controls its own transaction (BEGIN/COMMIT)');
    expect(await nonTransactionalReason('CREATE TABLE t (id int); COMMIT;')).toBe(
      'it controls its own transaction (BEGIN/COMMIT)',
    );
  });

  test('a non-transactional statement after plain DDL is found', async () => {
    expect(
      await nonTransactionalReason(
        'CREATE TABLE t (id int, a int);\nALTER TABLE t ADD COLUMN b int;\nCREATE INDEX CONCURRENTLY t_a ON t (a);\n',
      ),
    ).toBe('CREATE INDEX CONCURRENTLY');
  });

  test('the first non-transactional statement gives the reason', async () => {
    expect(await nonTransactionalReason('VACUUM t; CREATE INDEX CONCURRENTLY i ON t (a);')).toBe('VACUUM');
  });

  test('plain DDL returns null', async () => {
    expect(
      await nonTransactionalReason(
        [
          "CREATE TYPE \"Role\" AS ENUM ('USER', 'ADMIN');",
          'CREATE TABLE "users" ("id" TEXT NOT NULL, "email" TEXT NOT NULL, CONSTRAINT "users_pkey" PRIMARY KEY ("id"));',
          'CREATE UNIQUE INDEX "users_email_key" ON "users"("email");',
          'ALTER TABLE "users" ADD CONSTRAINT "users_email_lowercase" CHECK ("email" = lower("email"));',
          'DROP INDEX "users_email_key";',
          'REINDEX INDEX "users_pkey";',
          'DROP TABLE "users";',
        ].join('\n'),
      ),
    ).toBeNull();
  });

  test('non-concurrent CREATE INDEX, DROP INDEX and REINDEX return null', async () => {
    expect(await nonTransactionalReason('CREATE INDEX i ON t (a);')).toBeNull();
    expect(await nonTransactionalReason('DROP INDEX i;')).toBeNull();
    expect(await nonTransactionalReason('REINDEX TABLE t;')).toBeNull();
  });

  test('CONCURRENTLY inside a string literal or comment is not a concurrent statement', async () => {
    expect(
      await nonTransactionalReason(
        "-- CREATE INDEX CONCURRENTLY i ON t (a);\nCOMMENT ON TABLE t IS 'VACUUM; CREATE INDEX CONCURRENTLY';",
      ),
    ).toBeNull();
  });

  test('a dollar-quoted function body mentioning COMMIT and VACUUM is still transactional', async () => {
    expect(
      await nonTransactionalReason(
        "CREATE FUNCTION f() RETURNS void AS $$ BEGIN PERFORM 1; RAISE NOTICE 'COMMIT; VACUUM;'; END $$ LANGUAGE plpgsql;",
      ),
    ).toBeNull();
  });

  test('a comment-only script returns null', async () => {
    expect(await nonTransactionalReason('-- This is an empty migration.\n')).toBeNull();
  });

  test('a syntax error is reported by the parser', async () => {
    await expect(nonTransactionalReason('CREATE TABLE (;')).rejects.toThrow('syntax error at or near "("');
  });

  const files = realMigrationFiles();

  test('the real migration files of all four services are found', () => {
    const relative = files.map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/'));
    for (const service of ['auth-service', 'billing-service', 'catalog-service', 'order-service']) {
      expect(relative).toContain(`services/${service}/prisma/migrations/20261125000000_init/migration.sql`);
    }
  });

  test.each(files.map((f) => [path.relative(REPO_ROOT, f), f]))(
    '%s runs in one transaction (null) and splits into statements',
    async (_relative, file) => {
      const sql = fs.readFileSync(file, 'utf8');
      expect(await nonTransactionalReason(sql)).toBeNull();
      const statements = await splitStatements(sql);
      expect(statements.length).toBeGreaterThan(0);
      for (const statement of statements) {
        expect(statement).not.toMatch(/^\s|\s$/);
        expect(statement.endsWith(';')).toBe(false);
      }
    },
  );
});

describe('statementsOf / syntaxErrorOf', () => {
  test('each statement with the line it starts on (comments and blank lines skipped)', async () => {
    const sql = '-- header\nCREATE TABLE a (id INT);\n\n  CREATE INDEX CONCURRENTLY a_idx\n  ON a (id);\nVACUUM a;';
    expect(await statementsOf(sql)).toEqual([
      { text: 'CREATE TABLE a (id INT)', line: 2 },
      { text: 'CREATE INDEX CONCURRENTLY a_idx\n  ON a (id)', line: 4 },
      { text: 'VACUUM a', line: 6 },
    ]);
  });

  test('a syntax error names PostgreSQL message and its line, counting non-ASCII characters right', async () => {
    expect(await syntaxErrorOf("SELECT 'é😀';\n\nCRATE TABLE x (id INT);")).toEqual({
      message: 'syntax error at or near "CRATE"',
      line: 3,
    });
    expect(await syntaxErrorOf('SELECT 1;')).toBeNull();
    expect(await syntaxErrorOf('')).toBeNull();
  });
});
