import { describeHolders, jobsProblem, lockTimeoutProblem } from './limits';

describe('pg_restore --jobs against the server connection budget', () => {
  const budget = { maxConnections: 100, reserved: 3, inUse: 7 };
  test('one job always fits (it is one connection, the check frees its own)', () => {
    expect(jobsProblem(1, { maxConnections: 5, reserved: 3, inUse: 2 })).toBeNull();
  });
  test('N jobs fit while N workers, their leader and the lock watcher fit in what is free', () => {
    // 100 - 3 reserved - 6 others = 91 free: 89 workers + leader + watcher.
    expect(jobsProblem(89, budget)).toBeNull();
  });
  test('more jobs than free connections are refused, naming the numbers and the largest that fits', () => {
    expect(jobsProblem(90, budget)).toBe(
      '--jobs=90 needs 92 connections (90 workers, their leader and the lock watcher), but the server has room ' +
        'for 91 (max_connections 100 - 3 reserved - 6 in use by others): use --jobs=89 or less',
    );
  });
});

describe('lock timeout', () => {
  test.each([
    [100, null],
    [30_000, null],
    [3_600_000, null],
  ])('%i ms is accepted', (ms, problem) => expect(lockTimeoutProblem(ms)).toBe(problem));
  test.each([0, 99, 3_600_001])('%i ms is refused, saying the range', (ms) =>
    expect(lockTimeoutProblem(ms)).toMatch(/between 100ms and 60m/),
  );
});

test('lock holders are described by pid, application_name, state and relations', () => {
  expect(
    describeHolders([
      {
        pid: 4242,
        application_name: 'report-job',
        usename: 'app',
        state: 'idle in transaction',
        xact_start: new Date('2026-03-01T02:00:00Z'),
        relations: 'orders',
      },
    ]),
  ).toBe(
    'pid 4242 (application_name "report-job", user app, idle in transaction since 2026-03-01T02:00:00.000Z, on orders)',
  );
});
