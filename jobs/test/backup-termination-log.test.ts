import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { migratedTestDatabase, type TestDatabase } from '@webrana/testing';
import { terminationMessage, type TerminationSummary } from '../src/commands/backup';
import { runCli } from './helpers';

// `webrana-jobs backup --termination-log=PATH`: the summary the operator's metrics read from the pod
// status (the kubelet copies the file into the container's termination message).
let db: TestDatabase;
let dir: string;
beforeAll(async () => {
  db = await migratedTestDatabase('auth-service');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'termlog-'));
});
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await db.drop();
});

test('a successful backup writes one JSON line with size, duration and finish time to --termination-log, and no URL', async () => {
  const file = path.join(dir, 'termination-log');
  const t0 = Date.now();
  const r = await runCli([
    'backup',
    '--service=auth-service',
    `--dir=${path.join(dir, 'dumps')}`,
    `--database-url=${db.url}`,
    `--termination-log=${file}`,
  ]);
  expect(r.code).toBe(0);
  const text = fs.readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text.trim().split('\n')).toHaveLength(1);
  const summary = JSON.parse(text) as TerminationSummary;
  const dumps = fs.readdirSync(path.join(dir, 'dumps', 'auth-service')).filter((f) => f.endsWith('.tar.zst'));
  expect(summary).toEqual({
    service: 'auth-service',
    kind: 'full',
    file: dumps[0],
    bytes: fs.statSync(path.join(dir, 'dumps', 'auth-service', dumps[0]!)).size,
    durationSeconds: expect.any(Number),
    startedAt: expect.any(String),
    finishedAt: expect.any(String),
    kept: 1,
    deleted: 0,
  });
  expect(summary.durationSeconds).toBeGreaterThan(0);
  expect(Date.parse(summary.finishedAt)).toBeGreaterThanOrEqual(Date.parse(summary.startedAt));
  expect(Date.parse(summary.startedAt)).toBeGreaterThanOrEqual(t0 - 1000);
  expect(text).not.toContain('postgres');
  expect(text).not.toContain(new URL(db.url).password || 'no-password');
}, 60_000);

test('a failed backup leaves the termination log empty (the kubelet then reports the log tail)', async () => {
  const file = path.join(dir, 'failed-termination-log');
  fs.writeFileSync(file, '');
  const r = await runCli([
    'backup',
    '--service=auth-service',
    `--dir=${path.join(dir, 'dumps')}`,
    '--database-url=postgresql://nobody:secret@127.0.0.1:1/none',
    `--termination-log=${file}`,
  ]);
  expect(r.code).not.toBe(0);
  expect(fs.readFileSync(file, 'utf8')).toBe('');
}, 60_000);

test('a termination message stays within 4096 bytes even for many services (file names dropped first)', () => {
  const one: TerminationSummary = {
    service: 'order-service',
    kind: 'full',
    file: `order-service-${'x'.repeat(200)}.dump`,
    bytes: 1,
    durationSeconds: 1,
    startedAt: new Date(0).toISOString(),
    finishedAt: new Date(0).toISOString(),
    kept: 1,
    deleted: 0,
  };
  const text = terminationMessage(Array(20).fill(one) as TerminationSummary[], false);
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
  expect((JSON.parse(text) as object[])[0]).not.toHaveProperty('file');
  expect(JSON.parse(terminationMessage([one], true))).toEqual(one);
});
