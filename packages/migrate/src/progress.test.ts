import { describeInterrupted, parseProgress, progressLogs, type Progress } from './progress';

const T = new Date('2026-12-01T10:00:00.000Z');
const NAME = '20261201000000_indexes';
const CIC = 'CREATE INDEX CONCURRENTLY users_full_name_idx ON users (full_name)';

describe('progressLogs / parseProgress', () => {
  test('round-trip: what is written before a statement is read back exactly', () => {
    const p: Progress = { total: 3, done: 2, running: { index: 3, line: 7, text: CIC } };
    const logs = progressLogs(p, T);
    expect(logs).toContain('2 of 3 statements completed');
    expect(logs).toContain(`Statement 3 (line 7) started 2026-12-01T10:00:00.000Z: ${CIC}`);
    expect(parseProgress(logs)).toEqual(p);
  });

  test('progress is still found when a failure report follows it', () => {
    const logs = `${progressLogs({ total: 2, done: 0, running: { index: 1, line: 1, text: 'VACUUM users' } }, T)}\n\nMigration name: x\n\nDatabase error at line 1:\nboom`;
    expect(parseProgress(logs)).toEqual({ total: 2, done: 0, running: { index: 1, line: 1, text: 'VACUUM users' } });
  });

  test("logs without progress (a transactional migration, Prisma's own) give null", () => {
    expect(parseProgress(null)).toBeNull();
    expect(parseProgress(undefined)).toBeNull();
    expect(parseProgress('Migration name: x\n\nDatabase error code: 42P01')).toBeNull();
  });
});

describe('describeInterrupted', () => {
  const p: Progress = { total: 3, done: 2, running: { index: 3, line: 7, text: CIC } };

  test('a runner stopped inside CREATE INDEX CONCURRENTLY: which statements completed, the INVALID index and both ways out', () => {
    const text = describeInterrupted(NAME, p, {
      failed: false,
      invalidIndexes: [{ index: 'users_full_name_idx', table: 'users' }],
    });
    expect(text).toContain(`statements 1-2 of 3 of ${NAME}/migration.sql completed before the runner stopped`);
    expect(text).toContain(`statement 3 (line 7: \`${CIC}\`) may have left an INVALID index`);
    expect(text).toContain('INVALID indexes in the database now: users_full_name_idx (on users)');
    expect(text).toContain('DROP INDEX CONCURRENTLY "users_full_name_idx";');
    expect(text).toContain(`finish by hand (statement 3) and run: migrate resolve --applied ${NAME}`);
    expect(text).toContain(`undid statements 1-2, run: migrate resolve --rolled-back ${NAME}`);
  });

  test('a plain statement either completed or was rolled back as a whole; a failed one is called failed', () => {
    const plain: Progress = { total: 2, done: 1, running: { index: 2, line: 2, text: 'VACUUM users' } };
    expect(describeInterrupted(NAME, plain, { failed: false, invalidIndexes: [] })).toContain(
      'statement 2 (line 2: `VACUUM users`) either completed or was rolled back as a whole',
    );
    const failed = describeInterrupted(NAME, plain, { failed: true, invalidIndexes: [] });
    expect(failed).toContain(`statement 1 of 2 of ${NAME}/migration.sql completed before a statement failed`);
    expect(failed).toContain('statement 2 (line 2: `VACUUM users`) failed');
    expect(failed).toContain('No INVALID index is left');
  });

  test('stopped before its first statement completed', () => {
    const first: Progress = { total: 2, done: 0, running: { index: 1, line: 1, text: CIC } };
    expect(describeInterrupted(NAME, first, { failed: false, invalidIndexes: [] })).toContain(
      `no statement of ${NAME}/migration.sql (2) completed before the runner stopped`,
    );
  });
});
