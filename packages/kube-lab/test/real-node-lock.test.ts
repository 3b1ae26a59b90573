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
    // unref: a race already settled leaves no timer keeping jest alive
    new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref()),
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

describe('the jest global teardown (stopRealNodeOfRun)', () => {
  // In a child with a scratch state directory: the lock is <state>.lock, the owner <state>/jest-run. The
  // children are dead before the lock goes, so none can run scripts/kube-lab/stop (which would act on
  // the machine's real node).
  const state = path.join(dir, 'state');
  const children: ReturnType<typeof spawn>[] = [];
  const killChildren = () =>
    Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise((resolve) => {
              c.once('exit', resolve);
              c.kill('SIGKILL');
            }),
      ),
    );
  const teardown = (runId: string) => {
    const code = `require(${JSON.stringify(path.join(__dirname, '..', 'dist', 'real-node.js'))})
      .stopRealNodeOfRun(${JSON.stringify(runId)}).then(() => console.log('done'))`;
    const child = spawn(process.execPath, ['-e', code], {
      env: { ...process.env, KUBE_LAB_REAL_STATE: state },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  };

  test("of a run that did not start the node returns at once, while other runs' files hold it", async () => {
    fs.mkdirSync(state, { recursive: true });
    fs.writeFileSync(path.join(state, 'jest-run'), 'run-a\n');
    const other = await lockRealNode('shared', `${state}.lock`);
    try {
      expect(await settledWithin(teardown('run-b'), 10_000)).toBe(true);
      // The run that started it waits for the files still using it.
      expect(await settledWithin(teardown('run-a'), 2_000)).toBe(false);
    } finally {
      await killChildren();
      other.kill('SIGKILL');
    }
  });
});
