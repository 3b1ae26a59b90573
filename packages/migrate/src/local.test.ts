import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checksumOf, readLocalMigrations } from './local';

// Expected values computed with `printf ... | sha256sum`.
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SHA256_SELECT1_LF = 'b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd'; // 'SELECT 1;\n'
const SHA256_SELECT1_CRLF = 'd3cd5042f97738960d802ad6b3a548dfa18152215118ba18f04493bc6944b0e4'; // 'SELECT 1;\r\n'
const SHA256_UTF8 = 'f4c058a7c00f9af769038e89461b4747617e4824d4b050430da5453bdb7165b0'; // 'CREATE TABLE "é" (id int);\n'
const SHA256_BOM = '34b0bcbe990d70cd4adde7a8005ade4334f170e0625d767d78872a66515dec8a'; // BOM + 'SELECT 1;\n'

describe('checksumOf', () => {
  test('is the lowercase hex SHA-256 of a string, as sha256sum prints it', () => {
    expect(checksumOf('SELECT 1;\n')).toBe(SHA256_SELECT1_LF);
    expect(checksumOf('')).toBe(SHA256_EMPTY);
  });

  test('CRLF and LF line endings give different checksums', () => {
    expect(checksumOf('SELECT 1;\r\n')).toBe(SHA256_SELECT1_CRLF);
    expect(checksumOf('SELECT 1;\r\n')).not.toBe(checksumOf('SELECT 1;\n'));
  });

  test('hashes a string as its UTF-8 bytes, the same as the Buffer of those bytes', () => {
    expect(checksumOf('CREATE TABLE "é" (id int);\n')).toBe(SHA256_UTF8);
    expect(checksumOf(Buffer.from('CREATE TABLE "é" (id int);\n', 'utf8'))).toBe(SHA256_UTF8);
  });

  test('is 64 lowercase hex characters', () => {
    expect(checksumOf('anything')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('readLocalMigrations', () => {
  let root: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-local-migrations-'));
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  function writeMigration(name: string, contents: string | Buffer): string {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'migration.sql');
    fs.writeFileSync(file, contents);
    return file;
  }

  test('returns the migrations in name order, not creation order', () => {
    writeMigration('20261125000100_rules', 'SELECT 2;\n');
    writeMigration('20261201000000_later', 'SELECT 3;\n');
    writeMigration('20261125000000_init', 'SELECT 1;\n');
    expect(readLocalMigrations(root).map((m) => m.name)).toEqual([
      '20261125000000_init',
      '20261125000100_rules',
      '20261201000000_later',
    ]);
  });

  test('gives each migration its name, file path, SQL text and checksum', () => {
    const file = writeMigration('20261125000000_init', 'SELECT 1;\n');
    expect(readLocalMigrations(root)).toEqual([
      { name: '20261125000000_init', file, sql: 'SELECT 1;\n', checksum: SHA256_SELECT1_LF },
    ]);
    expect(file).toBe(path.join(root, '20261125000000_init', 'migration.sql'));
  });

  test('the checksum is of the exact file bytes: a CRLF file differs from the LF one', () => {
    writeMigration('a_lf', 'SELECT 1;\n');
    writeMigration('b_crlf', 'SELECT 1;\r\n');
    const [lf, crlf] = readLocalMigrations(root);
    expect(lf!.checksum).toBe(SHA256_SELECT1_LF);
    expect(crlf!.checksum).toBe(SHA256_SELECT1_CRLF);
    expect(crlf!.sql).toBe('SELECT 1;\r\n');
  });

  test('a UTF-8 byte order mark is part of the checksum', () => {
    writeMigration('m', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('SELECT 1;\n')]));
    expect(readLocalMigrations(root)[0]!.checksum).toBe(SHA256_BOM);
  });

  test('multi-byte UTF-8 SQL is read as text and hashed as bytes', () => {
    writeMigration('m', 'CREATE TABLE "é" (id int);\n');
    const [m] = readLocalMigrations(root);
    expect(m!.sql).toBe('CREATE TABLE "é" (id int);\n');
    expect(m!.checksum).toBe(SHA256_UTF8);
  });

  test('an empty migration.sql is read with the checksum of no bytes', () => {
    writeMigration('m', '');
    expect(readLocalMigrations(root)).toEqual([
      { name: 'm', file: path.join(root, 'm', 'migration.sql'), sql: '', checksum: SHA256_EMPTY },
    ]);
  });

  test('files beside the folders (migration_lock.toml) are ignored', () => {
    fs.writeFileSync(path.join(root, 'migration_lock.toml'), 'provider = "postgresql"\n');
    fs.writeFileSync(path.join(root, 'README.md'), '# notes\n');
    writeMigration('20261125000000_init', 'SELECT 1;\n');
    expect(readLocalMigrations(root).map((m) => m.name)).toEqual(['20261125000000_init']);
  });

  test('other files inside a migration folder are ignored', () => {
    const file = writeMigration('20261125000000_init', 'SELECT 1;\n');
    fs.writeFileSync(path.join(root, '20261125000000_init', 'notes.txt'), 'ignored');
    expect(readLocalMigrations(root)).toEqual([
      { name: '20261125000000_init', file, sql: 'SELECT 1;\n', checksum: SHA256_SELECT1_LF },
    ]);
  });

  test('a folder with no migration folders gives no migrations', () => {
    fs.writeFileSync(path.join(root, 'migration_lock.toml'), 'provider = "postgresql"\n');
    expect(readLocalMigrations(root)).toEqual([]);
  });

  test('a migration folder without migration.sql is an error naming the folder and the file', () => {
    writeMigration('20261125000000_init', 'SELECT 1;\n');
    fs.mkdirSync(path.join(root, '20261125000100_broken'));
    const expected = path.join(root, '20261125000100_broken', 'migration.sql');
    expect(() => readLocalMigrations(root)).toThrow(
      new Error(`migration 20261125000100_broken has no migration.sql (${expected})`),
    );
  });

  test('a missing migrations folder is an error naming it', () => {
    const missing = path.join(root, 'does-not-exist');
    expect(() => readLocalMigrations(missing)).toThrow(new Error(`migrations folder not found: ${missing}`));
  });
});
