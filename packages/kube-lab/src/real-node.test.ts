import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { counted, startRealNode, type RealNode, type RealNodeHold } from './real-node';

/** An acquire that counts its calls and releases, resolving when `open()` is called. */
function fakeLock() {
  const calls = { acquired: 0, released: 0 };
  let open: () => void = () => undefined;
  const acquire = () => {
    calls.acquired += 1;
    return new Promise<RealNodeHold>((resolve) => {
      open = () =>
        resolve({ node: { nodeName: 'n' } as RealNode, imagesSeconds: 7, release: () => (calls.released += 1) });
    });
  };
  return { calls, acquire, open: () => open() };
}

const settle = () => new Promise((r) => setImmediate(r));

test('a second hold in a process while one is held or being taken asks for no lock, and the node goes at the last release', async () => {
  const lock = fakeLock();
  const hold = counted(lock.acquire);
  const first = hold();
  const second = hold(); // while the first still waits for the lock
  lock.open();
  const [a, b] = await Promise.all([first, second]);
  expect(lock.calls.acquired).toBe(1);
  expect([a.imagesSeconds, b.imagesSeconds]).toEqual([7, 0]);
  const third = await hold(); // while held
  expect(lock.calls.acquired).toBe(1);
  a.release();
  a.release(); // twice is once
  b.release();
  await settle();
  expect(lock.calls.released).toBe(0);
  third.release();
  await settle();
  expect(lock.calls.released).toBe(1);
});

test('after the last release, the next hold takes the lock again', async () => {
  const lock = fakeLock();
  const hold = counted(lock.acquire);
  const taking = hold();
  lock.open();
  (await taking).release();
  const again = hold();
  lock.open();
  await again;
  expect(lock.calls.acquired).toBe(2);
});

test('a hold whose lock fails is not kept: the next hold tries again', async () => {
  let attempts = 0;
  const hold = counted(async () => {
    attempts += 1;
    if (attempts === 1) throw new Error('could not lock');
    return { node: {} as RealNode, imagesSeconds: 0, release: () => undefined };
  });
  await expect(hold()).rejects.toThrow('could not lock');
  await expect(hold()).resolves.toMatchObject({ imagesSeconds: 0 });
  expect(attempts).toBe(2);
});

test('a start that fails is reported with its own error, not as exports missing from its output', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-start-'));
  try {
    const start = path.join(dir, 'start');
    fs.writeFileSync(start, '#!/bin/sh\necho "start: port 6443 is in use" >&2\nexit 3\n', { mode: 0o755 });
    await expect(startRealNode(dir)).rejects.toThrow(/failed \(exit 3\):\nstart: port 6443 is in use/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
