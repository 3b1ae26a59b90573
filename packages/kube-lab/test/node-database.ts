// A database on a real-node file's PostgreSQL (useRealNode), with the URL the host uses and the one
// pods use (through the namespace's `postgres` Service).
import { randomBytes } from 'node:crypto';
import { withClient, withDatabase } from '@webrana/testing';
import { kubectl, type RealNodeNamespace } from '../src';

export interface NodeDatabase {
  readonly name: string;
  /** From the host (127.0.0.1). */
  readonly url: string;
  /** From pods of the file's namespace. */
  readonly podUrl: string;
  drop(): Promise<void>;
}

/** Creates `<label>_<random>` (empty, from template0). */
export async function createNodeDatabase(lab: RealNodeNamespace, label: string): Promise<NodeDatabase> {
  const name = `${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const admin = lab.postgres.url;
  await withClient(admin, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  return {
    name,
    url: withDatabase(admin, name),
    podUrl: lab.postgres.podUrl(name),
    drop: () =>
      withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/**
 * Creates database `db` and a Secret `secret` in the namespace whose `key` is the URL pods use for it;
 * returns the host's URL.
 */
export async function databaseAndSecret(
  lab: RealNodeNamespace,
  db: string,
  secret: string,
  key: string,
): Promise<string> {
  await withClient(lab.postgres.url, (c) => c.query(`CREATE DATABASE "${db}"`));
  await kubectl(lab, [
    'create',
    'secret',
    'generic',
    secret,
    '-n',
    lab.ns,
    `--from-literal=${key}=${lab.postgres.podUrl(db)}`,
  ]);
  return withDatabase(lab.postgres.url, db);
}
