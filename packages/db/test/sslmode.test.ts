// The sslmode choices checked against a real PostgreSQL 15 (the embedded one has no TLS, like many
// development servers): pg honours `prefer` as "use TLS" and cannot fall back; libpq tools can.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@webrana/testing';
import { libpqEnv, parseDatabaseUrl } from '../src';

const run = promisify(execFile);
let db: TestDatabase;
beforeAll(async () => (db = await createTestDatabase('db_sslmode')));
afterAll(() => db?.drop());

const withMode = (mode: string) => {
  const u = new URL(db.url);
  u.searchParams.set('sslmode', mode);
  return u.toString();
};

async function pgConnects(url: string): Promise<string> {
  const client = new Client({ ...parseDatabaseUrl(url).pool, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    return (await client.query<{ ok: string }>("SELECT 'connected' AS ok")).rows[0]!.ok;
  } finally {
    await client.end().catch(() => undefined);
  }
}

test('on a server without TLS, pg connects with sslmode=disable and without sslmode', async () => {
  expect(await pgConnects(withMode('disable'))).toBe('connected');
  expect(await pgConnects(db.url)).toBe('connected');
});

test('on a server without TLS, pg with sslmode=prefer asks for TLS and is refused (no plain fallback)', async () => {
  await expect(pgConnects(withMode('prefer'))).rejects.toThrow(/does not support SSL/);
});

test('on a server without TLS, psql with sslmode=prefer (PGSSLMODE) falls back to plain, as libpq documents', async () => {
  const { stdout } = await run('psql', ['-XAtc', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'], {
    env: { PATH: process.env.PATH, ...libpqEnv(withMode('prefer')) },
  });
  expect(stdout.trim()).toBe('f');
});
