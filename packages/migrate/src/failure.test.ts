import { backoffMs, classifyError, describeBlocker, lockFailureMessage, shortQuery, type Blocker } from './failure';

describe('classifyError', () => {
  test.each([
    ['55P03', 'lock'], // lock_timeout, NOWAIT
    ['40P01', 'lock'], // deadlock: PostgreSQL rolled the transaction back
    ['42501', 'permission'],
    ['42601', 'syntax'],
    ['57P01', 'connection'], // admin shutdown
    ['08006', 'connection'],
    ['ECONNRESET', 'connection'],
    ['42P01', 'sql'],
    ['23505', 'sql'],
    ['57014', 'sql'], // statement_timeout is not a lock wait: retrying would time out again
  ])('SQLSTATE/code %s is %s', (code, kind) => {
    expect(classifyError(Object.assign(new Error('x'), { code }))).toBe(kind);
  });

  test('a connection dropped by the driver (no code) is a connection failure; an unknown error is sql', () => {
    expect(classifyError(new Error('Connection terminated unexpectedly'))).toBe('connection');
    expect(classifyError(new Error('Client has encountered a connection error and is not queryable'))).toBe(
      'connection',
    );
    expect(classifyError(new Error('something else'))).toBe('sql');
    expect(classifyError(null)).toBe('sql');
  });
});

describe('backoffMs', () => {
  test('doubles from the base for each retry and never exceeds the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(n, 1_000))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffMs(20, 1_000)).toBe(60_000);
    expect(backoffMs(3, 500, 1_500)).toBe(1_500);
  });
});

const blocker: Blocker = {
  pid: 4242,
  applicationName: 'nightly-report',
  user: 'reporter',
  state: 'idle in transaction',
  xactStart: new Date('2026-12-01T10:00:00.000Z'),
  queryStart: new Date('2026-12-01T10:00:01.000Z'),
  query: 'LOCK TABLE users\n   IN ACCESS EXCLUSIVE MODE',
  relation: 'users',
  wanted: 'AccessExclusiveLock',
  held: 'AccessExclusiveLock',
};
const now = new Date('2026-12-01T10:00:12.500Z');

describe('describeBlocker', () => {
  test('names pid, application_name, user, state, how long, when its query started, the lock and the query on one line', () => {
    expect(describeBlocker(blocker, now)).toBe(
      'session pid 4242 (application_name "nightly-report", user reporter, state "idle in transaction", ' +
        'transaction open for 12.5s, query started 2026-12-01T10:00:01.000Z) holds AccessExclusiveLock on users ' +
        '(the migration wanted AccessExclusiveLock); its query: `LOCK TABLE users IN ACCESS EXCLUSIVE MODE`',
    );
  });

  test('leaves out what pg_stat_activity did not show (another role without pg_read_all_stats)', () => {
    const hidden = { ...blocker, user: null, state: null, xactStart: null, queryStart: null, query: null };
    expect(describeBlocker({ ...hidden, relation: null, applicationName: null }, now)).toBe(
      'session pid 4242 (application_name "")',
    );
  });

  test('a long query is cut to one short line', () => {
    const long = `UPDATE users SET full_name = '${'x'.repeat(500)}'`;
    expect(shortQuery(long)).toHaveLength(100);
    expect(shortQuery(long).endsWith('...')).toBe(true);
    expect(describeBlocker({ ...blocker, query: long }, now)).not.toContain('x'.repeat(200));
  });
});

describe('lockFailureMessage', () => {
  const base = {
    migration: '20261201000000_add_nickname',
    file: 'services/auth-service/prisma/migrations/20261201000000_add_nickname/migration.sql',
    lockTimeoutMs: 5_000,
    attempts: 4,
    reason: 'canceling statement due to lock timeout',
    now,
  };

  test('says nothing was applied or recorded, names the blocker and how to end it', () => {
    const text = lockFailureMessage({ ...base, blockers: [blocker] });
    expect(text).toContain(
      `migration 20261201000000_add_nickname (${base.file}): it did not get its lock within the lock timeout (5000ms) ` +
        'in 4 attempt(s) (canceling statement due to lock timeout)',
    );
    expect(text).toContain('nothing of it was applied and no failure was recorded');
    expect(text).toContain('- session pid 4242 (application_name "nightly-report"');
    expect(text).toContain('SELECT pg_terminate_backend(4242)');
  });

  test('without a captured blocker it says so, and a statement-by-statement migration names the statement', () => {
    const text = lockFailureMessage({ ...base, blockers: [], statement: { index: 1, total: 3 } });
    expect(text).toContain('statement 1 of 3 did not get its lock');
    expect(text).toContain('The blocking session was not seen');
  });
});
