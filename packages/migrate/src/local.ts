import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** One migration folder as Prisma lays it out: `<migrations>/<name>/migration.sql`. */
export interface LocalMigration {
  name: string;
  file: string;
  sql: string;
  /** Lowercase hex SHA-256 of the file's bytes, as Prisma records it. */
  checksum: string;
}

export function checksumOf(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The migrations of a folder in name order (which is the order Prisma applies them in). */
export function readLocalMigrations(migrationsDir: string): LocalMigration[] {
  if (!fs.existsSync(migrationsDir)) throw new Error(`migrations folder not found: ${migrationsDir}`);
  return fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = path.join(migrationsDir, name, 'migration.sql');
      if (!fs.existsSync(file)) throw new Error(`migration ${name} has no migration.sql (${file})`);
      const bytes = fs.readFileSync(file);
      return { name, file, sql: bytes.toString('utf8'), checksum: checksumOf(bytes) };
    });
}
