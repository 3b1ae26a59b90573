import { WorkQueue, type Timers } from './queue';

/** Manual clock: timers fire only when the test advances time. */
class FakeTimers implements Timers {
  private t = 0;
  private seq = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, { at, fn }] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (at <= this.t) {
        this.timers.delete(id);
        fn();
      }
    }
  }
}

describe('WorkQueue', () => {
  test('a key added many times waits once', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  test('a key is never handed out twice at once; an add while processing runs it again after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await Promise.resolve();
    expect(second).toBeUndefined();
    q.done(key!);
    await Promise.resolve();
    expect(second).toBe('a');
  });

  test('a waiting worker gets a key as soon as it is added', async () => {
    const q = new WorkQueue();
    const next = q.get();
    q.add('x');
    expect(await next).toBe('x');
  });

  test('failures back off exponentially per key, up to the cap, and forget resets', () => {
    const timers = new FakeTimers();
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, timers });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited('a'))).toEqual([100, 200, 400, 800, 1000]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.nextDelay('a')).toBe(100);
  });

  test('a delayed add arrives after its delay; of two delays the earlier wins', () => {
    const timers = new FakeTimers();
    const q = new WorkQueue({ timers });
    q.addAfter('a', 500);
    q.addAfter('a', 200);
    q.addAfter('a', 900);
    expect(q.length).toBe(0);
    timers.advance(199);
    expect(q.length).toBe(0);
    timers.advance(1);
    expect(q.length).toBe(1);
    timers.advance(1000);
    expect(q.length).toBe(1);
  });

  test('shutDown releases waiting workers and drops delayed keys', async () => {
    const timers = new FakeTimers();
    const q = new WorkQueue({ timers });
    const waiting = q.get();
    q.addAfter('a', 100);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(timers.timers.size).toBe(0);
    q.add('b');
    expect(q.length).toBe(0);
  });
});
