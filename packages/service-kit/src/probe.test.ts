import { createSingleFlightProbe, describeProbeFailure, type ProbeResult } from './probe';

/** A ping the test settles by hand, counting how often it was started. */
function manualPing() {
  const pending: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  return {
    ping: () => new Promise<void>((resolve, reject) => void pending.push({ resolve, reject })),
    get calls() {
      return pending.length;
    },
    succeed: (i = pending.length - 1) => pending[i]!.resolve(),
    fail: (error: unknown, i = pending.length - 1) => pending[i]!.reject(error),
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('createSingleFlightProbe', () => {
  test('concurrent checks share one ping and all get its answer', async () => {
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 1000 });
    const answers = Array.from({ length: 200 }, () => probe.check());
    expect(db.calls).toBe(1);
    db.succeed();
    const results = await Promise.all(answers);
    expect(new Set(results).size).toBe(1);
    expect(results[0]).toMatchObject({ ok: true });
  });

  test('without reuse, a check after the answer starts a new ping', async () => {
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 1000 });
    const first = probe.check();
    db.succeed();
    await first;
    await Promise.resolve(); // the slot frees in the callback after the answer
    void probe.check();
    expect(db.calls).toBe(2);
  });

  test('with reuse, checks within reuseMs of the answer get it again, later ones probe anew', async () => {
    let now = 0;
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 1000, reuseMs: 500, clock: () => now });
    const first = probe.check();
    db.succeed();
    await first;
    await Promise.resolve();
    now = 499;
    expect(await probe.check()).toBe(await first);
    expect(db.calls).toBe(1);
    now = 500;
    void probe.check();
    expect(db.calls).toBe(2);
  });

  test('a failed ping answers not ok with a short reason and its latency', async () => {
    let now = 100;
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 1000, clock: () => now });
    const answer = probe.check();
    now = 112;
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    db.fail(refused);
    expect(await answer).toEqual({ ok: false, latencyMs: 12, error: 'ECONNREFUSED', cause: refused });
  });

  test('a ping slower than the timeout is answered "no answer" at the deadline', async () => {
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 50 });
    const started = performance.now();
    const result = await probe.check();
    expect(result).toMatchObject({ ok: false, error: 'no answer within 50 ms' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(performance.now() - started).toBeLessThan(500);
  });

  test('while a timed-out ping still hangs, checks are told "down" at once and no second ping starts', async () => {
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 30 });
    await probe.check();
    const started = performance.now();
    expect(await probe.check()).toMatchObject({ ok: false, error: 'no answer within 30 ms' });
    expect(performance.now() - started).toBeLessThan(20);
    expect(db.calls).toBe(1);
    db.succeed(); // the hanging ping finally ends
    await sleep(0);
    const next = probe.check();
    expect(db.calls).toBe(2);
    db.succeed();
    expect(await next).toMatchObject({ ok: true });
  });

  test('onResult sees each probe once, with what the requests were told', async () => {
    const seen: ProbeResult[] = [];
    const db = manualPing();
    const probe = createSingleFlightProbe({ ping: db.ping, timeoutMs: 1000, onResult: (r) => seen.push(r) });
    const answers = [probe.check(), probe.check(), probe.check()];
    db.fail(new Error('boom'));
    await Promise.all(answers);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ ok: false, error: 'boom' });
  });
});

describe('describeProbeFailure', () => {
  test.each([
    [
      'a socket error code',
      Object.assign(new Error('connect ECONNREFUSED 10.1.2.3:5432'), { code: 'ECONNREFUSED' }),
      'ECONNREFUSED',
    ],
    [
      'a PostgreSQL SQLSTATE',
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      'postgres error 57P03',
    ],
    [
      'a message without code (first line only)',
      new Error('Connection terminated unexpectedly\nat ...'),
      'Connection terminated unexpectedly',
    ],
    ['something that is not an error', undefined, 'unknown error'],
  ])('%s', (_label, error, expected) => {
    expect(describeProbeFailure(error)).toBe(expected);
  });
});
