import { assess, deployBlockers, ROLLED_BACK_NOTE, type Assessment, type LedgerRow } from './assess';
import type { LocalMigration } from './local';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const T1 = new Date('2026-11-25T10:05:00.000Z');
const T2 = new Date('2026-11-25T10:10:00.000Z');

function local(name: string, checksum = `sum-${name}`): LocalMigration {
  return { name, file: `/migrations/${name}/migration.sql`, sql: `-- ${name}`, checksum };
}

let nextId = 0;
function row(name: string, fields: Partial<LedgerRow> = {}): LedgerRow {
  nextId += 1;
  return {
    id: `row-${nextId}`,
    checksum: `sum-${name}`,
    finished_at: T1,
    migration_name: name,
    logs: null,
    rolled_back_at: null,
    started_at: T0,
    applied_steps_count: 1,
    ...fields,
  };
}

const INIT = '20261125000000_init';
const RULES = '20261125000100_rules';
const NEXT = '20261201000000_add_index';

describe('assess', () => {
  test('an empty ledger makes every local migration pending, in local order', () => {
    const migrations = [local(INIT), local(RULES)];
    const result = assess(migrations, []);
    expect(result.entries).toEqual([
      { name: INIT, state: 'pending' },
      { name: RULES, state: 'pending' },
    ]);
    expect(result.pending).toEqual(migrations);
    expect(result.upToDate).toBe(false);
  });

  test('no local migrations and an empty ledger is up to date with no entries', () => {
    expect(assess([], [])).toEqual({ entries: [], pending: [], upToDate: true });
  });

  test('a finished row with the same checksum is applied, with its finished_at as appliedAt', () => {
    const result = assess([local(INIT)], [row(INIT, { finished_at: T2 })]);
    expect(result.entries).toEqual([{ name: INIT, state: 'applied', appliedAt: T2 }]);
    expect(result.pending).toEqual([]);
    expect(result.upToDate).toBe(true);
  });

  test('upToDate only when every entry is applied: one pending migration makes it false', () => {
    const result = assess([local(INIT), local(RULES)], [row(INIT)]);
    expect(result.entries).toEqual([
      { name: INIT, state: 'applied', appliedAt: T1 },
      { name: RULES, state: 'pending' },
    ]);
    expect(result.pending.map((m) => m.name)).toEqual([RULES]);
    expect(result.upToDate).toBe(false);
  });

  test('a local migration not in the ledger is pending and returned with its file', () => {
    const next = local(NEXT);
    const result = assess([local(INIT), next], [row(INIT)]);
    expect(result.pending).toEqual([next]);
    expect(result.pending[0]).toBe(next);
  });

  test('a rolled-back row is ignored, so its migration becomes pending again', () => {
    const result = assess(
      [local(INIT), local(RULES)],
      [row(INIT), row(RULES, { finished_at: null, rolled_back_at: T2, logs: 'boom' })],
    );
    expect(result.entries).toEqual([
      { name: INIT, state: 'applied', appliedAt: T1 },
      { name: RULES, state: 'pending' },
    ]);
    expect(result.pending.map((m) => m.name)).toEqual([RULES]);
    expect(result.upToDate).toBe(false);
  });

  test('a rolled-back row of a migration missing locally is ignored entirely (no entry at all)', () => {
    const result = assess([local(INIT)], [row(INIT), row('20200101000000_gone', { rolled_back_at: T2 })]);
    expect(result.entries).toEqual([{ name: INIT, state: 'applied', appliedAt: T1 }]);
    expect(result.upToDate).toBe(true);
  });

  test('a row neither finished nor rolled back is failed, carrying its logs', () => {
    const result = assess(
      [local(INIT), local(RULES)],
      [row(INIT), row(RULES, { finished_at: null, logs: 'ERROR: relation "users" does not exist' })],
    );
    expect(result.entries).toEqual([
      { name: INIT, state: 'applied', appliedAt: T1 },
      { name: RULES, state: 'failed', logs: 'ERROR: relation "users" does not exist' },
    ]);
    expect(result.pending).toEqual([]);
    expect(result.upToDate).toBe(false);
  });

  test('a failed row with null logs gives a failed entry without logs', () => {
    const result = assess([local(INIT)], [row(INIT, { finished_at: null, logs: null })]);
    expect(result.entries).toEqual([{ name: INIT, state: 'failed', logs: undefined }]);
    expect(result.entries[0]).not.toHaveProperty('appliedAt');
  });

  test('a failed attempt followed by a successful re-apply after resolve --rolled-back counts as applied', () => {
    const result = assess(
      [local(RULES)],
      [
        row(RULES, { finished_at: null, rolled_back_at: T1, logs: 'first attempt failed' }),
        row(RULES, { started_at: T1, finished_at: T2 }),
      ],
    );
    expect(result.entries).toEqual([{ name: RULES, state: 'applied', appliedAt: T2 }]);
    expect(result.pending).toEqual([]);
    expect(result.upToDate).toBe(true);
  });

  test('resolve --applied (failed row rolled back, then a finished row) counts as applied', () => {
    const result = assess(
      [local(RULES)],
      [
        row(RULES, { finished_at: null, rolled_back_at: T1, logs: 'failed' }),
        row(RULES, { started_at: T1, finished_at: T1, applied_steps_count: 0 }),
      ],
    );
    expect(result.entries).toEqual([{ name: RULES, state: 'applied', appliedAt: T1 }]);
    expect(result.upToDate).toBe(true);
  });

  test('an unresolved failed row beside a finished row of the same migration is still failed', () => {
    const result = assess(
      [local(RULES)],
      [row(RULES), row(RULES, { started_at: T1, finished_at: null, logs: 'second attempt failed' })],
    );
    expect(result.entries).toEqual([{ name: RULES, state: 'failed', logs: 'second attempt failed' }]);
    expect(result.upToDate).toBe(false);
  });

  test('a migration with several ledger rows yields exactly one entry', () => {
    const result = assess(
      [local(INIT)],
      [
        row(INIT, { finished_at: null, rolled_back_at: T1 }),
        row(INIT, { finished_at: null, rolled_back_at: T1 }),
        row(INIT, { finished_at: T2 }),
      ],
    );
    expect(result.entries).toHaveLength(1);
    expect(result.entries[0]).toEqual({ name: INIT, state: 'applied', appliedAt: T2 });
  });

  test('an applied migration whose local checksum differs from the ledger is modified', () => {
    const result = assess([local(INIT, 'edited-checksum')], [row(INIT, { checksum: 'original-checksum' })]);
    expect(result.entries).toEqual([{ name: INIT, state: 'modified', appliedAt: T1 }]);
    expect(result.pending).toEqual([]);
    expect(result.upToDate).toBe(false);
  });

  test('a failed migration whose file changed since is reported failed, not modified', () => {
    const result = assess(
      [local(INIT, 'fixed-checksum')],
      [row(INIT, { checksum: 'broken-checksum', finished_at: null, logs: 'syntax error' })],
    );
    expect(result.entries).toEqual([{ name: INIT, state: 'failed', logs: 'syntax error' }]);
  });

  test('a ledger row with no local migration is missing-locally, with its appliedAt', () => {
    const result = assess([local(INIT)], [row(INIT), row(NEXT, { finished_at: T2 })]);
    expect(result.entries).toEqual([
      { name: INIT, state: 'applied', appliedAt: T1 },
      { name: NEXT, state: 'missing-locally', appliedAt: T2 },
    ]);
    expect(result.pending).toEqual([]);
    expect(result.upToDate).toBe(false);
  });

  test('a failed row of a migration missing locally is reported failed', () => {
    const result = assess([], [row(NEXT, { finished_at: null, logs: 'lock timeout' })]);
    expect(result.entries).toEqual([{ name: NEXT, state: 'failed', logs: 'lock timeout' }]);
  });

  test('entries are sorted by name whatever the order of ledger rows and local migrations', () => {
    const result = assess(
      [local('20261125000300_c'), local('20261125000100_a'), local('20261125000400_d')],
      [
        row('20261125000400_d', { started_at: T0 }),
        row('20261125000200_b', { started_at: T1 }),
        row('20261125000100_a', { started_at: T2 }),
      ],
    );
    expect(result.entries.map((e) => [e.name, e.state])).toEqual([
      ['20261125000100_a', 'applied'],
      ['20261125000200_b', 'missing-locally'],
      ['20261125000300_c', 'pending'],
      ['20261125000400_d', 'applied'],
    ]);
  });

  test('pending keeps the order of the local migrations (the order they are applied in)', () => {
    const a = local('20261125000100_a');
    const b = local('20261125000200_b');
    const c = local('20261125000300_c');
    expect(assess([a, b, c], [row('20261125000200_b')]).pending).toEqual([a, c]);
  });

  test('a mix of every state is reported, each migration once', () => {
    const result = assess(
      [local('m1_applied'), local('m2_failed'), local('m3_modified', 'new'), local('m5_pending')],
      [
        row('m1_applied'),
        row('m2_failed', { finished_at: null, logs: 'err' }),
        row('m3_modified', { checksum: 'old' }),
        row('m4_missing'),
      ],
    );
    expect(result.entries.map((e) => [e.name, e.state])).toEqual([
      ['m1_applied', 'applied'],
      ['m2_failed', 'failed'],
      ['m3_modified', 'modified'],
      ['m4_missing', 'missing-locally'],
      ['m5_pending', 'pending'],
    ]);
    expect(result.pending.map((m) => m.name)).toEqual(['m5_pending']);
    expect(result.upToDate).toBe(false);
  });

  test('does not modify its inputs', () => {
    const migrations = [local(RULES), local(INIT)];
    const ledger = [row(RULES), row(INIT, { rolled_back_at: T2, finished_at: null })];
    const before = JSON.stringify({ migrations, ledger });
    assess(migrations, ledger);
    expect(JSON.stringify({ migrations, ledger })).toBe(before);
  });
});

describe('deployBlockers', () => {
  function only(entries: Assessment['entries']): Assessment {
    return { entries, pending: [], upToDate: false };
  }

  test('nothing blocks when every migration is applied or pending', () => {
    const assessment = assess([local(INIT), local(RULES)], [row(INIT)]);
    expect(deployBlockers(assessment)).toEqual([]);
    expect(deployBlockers(assessment, { allowMissingLocally: true })).toEqual([]);
  });

  test('a failed migration blocks with P3009 and the exact resolve command', () => {
    expect(deployBlockers(only([{ name: RULES, state: 'failed' }]))).toEqual([
      `migration ${RULES} failed earlier and blocks new migrations (Prisma P3009). Nothing of it stayed applied: ` +
        `fix the cause, then run: migrate resolve --rolled-back ${RULES}`,
    ]);
  });

  test('a failed migration whose logs say it ran outside a transaction warns it may be partly applied', () => {
    const [message] = deployBlockers(
      only([{ name: RULES, state: 'failed', logs: 'ERROR: column "x" does not exist\nLINE 1: SELECT x' }]),
    );
    expect(message).toBe(
      `migration ${RULES} failed earlier and blocks new migrations (Prisma P3009). It ran outside a transaction and ` +
        `may be partly applied: repair the schema by hand, then run migrate resolve --rolled-back ${RULES} ` +
        `(to run it again) or --applied ${RULES} (if it is now in place)\n` +
        `  database error: ERROR: column "x" does not exist`,
    );
    expect(message).not.toContain('LINE 1');
  });

  test("a failed migration shows the database error from the runner's logs, not their first line", () => {
    const logs = [
      `Migration name: ${RULES}`,
      'Database error code: 42P01',
      'Database error at line 2:\nrelation "t" does not exist',
      ROLLED_BACK_NOTE,
    ].join('\n\n');
    const [message] = deployBlockers(only([{ name: RULES, state: 'failed', logs }]));
    expect(message).toContain('Nothing of it stayed applied');
    expect(message).toMatch(/\n {2}database error: relation "t" does not exist$/);
  });

  test('a statement-by-statement migration whose runner stopped says which statements completed instead of "nothing stayed applied"', () => {
    const logs =
      '2 of 3 statements completed (run outside a transaction, statement by statement).\n' +
      'Statement 3 (line 3) started 2026-12-01T10:00:00.000Z: CREATE INDEX CONCURRENTLY i ON users (full_name)';
    const [message] = deployBlockers(only([{ name: RULES, state: 'failed', logs }]), {
      invalidIndexes: [{ index: 'i', table: 'users' }],
    });
    expect(message).toContain(`statements 1-2 of 3 of ${RULES}/migration.sql completed before the runner stopped`);
    expect(message).toContain('may have left an INVALID index');
    expect(message).toContain('INVALID indexes in the database now: i (on users)');
    expect(message).not.toContain('Nothing of it stayed applied');
    expect(message).not.toContain('database error');
  });

  test('a failed migration blocks even when missing migrations are allowed', () => {
    const blockers = deployBlockers(only([{ name: RULES, state: 'failed' }]), { allowMissingLocally: true });
    expect(blockers).toHaveLength(1);
    expect(blockers[0]).toContain('(Prisma P3009)');
    expect(blockers[0]).toContain(`migrate resolve --rolled-back ${RULES}`);
  });

  test('a modified migration blocks with a message saying the checksum differs', () => {
    expect(deployBlockers(only([{ name: INIT, state: 'modified', appliedAt: T1 }]))).toEqual([
      `migration ${INIT} was edited after it was applied (checksum differs). Applied migrations must never change: ` +
        `restore the original file and put the change in a new migration`,
    ]);
  });

  test('a migration missing locally blocks by default, suggesting --allow-missing', () => {
    expect(deployBlockers(only([{ name: NEXT, state: 'missing-locally', appliedAt: T1 }]))).toEqual([
      `migration ${NEXT} is applied in the database but missing from the migrations folder ` +
        `(an older checkout, or a deleted migration). Deploy the release that has it, or pass --allow-missing`,
    ]);
  });

  test('a migration missing locally does not block with allowMissingLocally', () => {
    expect(
      deployBlockers(only([{ name: NEXT, state: 'missing-locally', appliedAt: T1 }]), { allowMissingLocally: true }),
    ).toEqual([]);
  });

  test('allowMissingLocally: false behaves like the default', () => {
    expect(
      deployBlockers(only([{ name: NEXT, state: 'missing-locally' }]), { allowMissingLocally: false }),
    ).toHaveLength(1);
  });

  test('one message per blocking migration, in entry (name) order', () => {
    const assessment = assess(
      [local('m1_failed'), local('m2_modified', 'new'), local('m4_pending')],
      [row('m1_failed', { finished_at: null }), row('m2_modified', { checksum: 'old' }), row('m3_missing')],
    );
    const blockers = deployBlockers(assessment);
    expect(blockers).toHaveLength(3);
    expect(blockers[0]).toMatch(/^migration m1_failed failed earlier/);
    expect(blockers[1]).toMatch(/^migration m2_modified was edited after it was applied/);
    expect(blockers[2]).toMatch(/^migration m3_missing is applied in the database but missing/);
    expect(deployBlockers(assessment, { allowMissingLocally: true })).toEqual(blockers.slice(0, 2));
  });
});
