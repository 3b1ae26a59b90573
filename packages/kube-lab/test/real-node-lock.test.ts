import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lockRealNode } from '../src';

// The real node's lock (flock(1) on a file): test files share the node, and what needs it alone waits
// for them. A real lock file in a scratch directory, no node.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-real-node-lock-'));
const lockFile = path.join(dir, 'node.lock');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const settledWithin = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
  ]);

test('two shared holders hold the node at once; an exclusive one waits until both released it', async () => {
  const a = await lockRealNode('shared', lockFile);
  const b = await lockRealNode('shared', lockFile);
  const exclusive = lockRealNode('exclusive', lockFile);
  expect(await settledWithin(exclusive, 1500)).toBe(false);
  a.kill('SIGKILL');
  expect(await settledWithin(exclusive, 1500)).toBe(false);
  b.kill('SIGKILL');
  const alone = await exclusive;
  // And while it holds the node, a shared holder waits.
  const shared = lockRealNode('shared', lockFile);
  expect(await settledWithin(shared, 1500)).toBe(false);
  alone.kill('SIGKILL');
  (await shared).kill('SIGKILL');
});

test('a test process killed with SIGKILL while holding the node releases it', async () => {
  // A process holding the lock the way a jest worker does (lockRealNode): when it dies, however it
  // dies, the pipe to its flock child closes and the lock goes.
  const code = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'real-node.js'))})
    .lockRealNode('exclusive', ${JSON.stringify(lockFile)}).then(() => console.log('locked'))`;
  const holder = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => holder.stdout.once('data', resolve));
  expect(await settledWithin(lockRealNode('shared', lockFile, 1_000), 2_000)).toBe(false);
  holder.kill('SIGKILL');
  const next = await lockRealNode('shared', lockFile, 10_000);
  next.kill('SIGKILL');
});

test('a lock not had within its timeout fails, naming the lock file', async () => {
  const holder = await lockRealNode('exclusive', lockFile);
  try {
    await expect(lockRealNode('shared', lockFile, 1_000)).rejects.toThrow(lockFile);
  } finally {
    holder.kill('SIGKILL');
  }
});
