import { migrationSlug, migrationTimestamp, nextMigrationName } from './new';
import { migrationTimeouts } from './runner';

test('migration names follow Prisma: UTC YYYYMMDDHHMMSS, lowercase words joined by _', () => {
  expect(migrationTimestamp(new Date('2026-12-01T09:08:07.654Z'))).toBe('20261201090807');
  expect(migrationSlug(' Add badge to plans! ')).toBe('add_badge_to_plans');
  expect(nextMigrationName(['20261125000000_init'], 'add_badge', new Date('2026-12-01T09:08:07Z'))).toBe(
    '20261201090807_add_badge',
  );
});

test('a new migration always sorts after the last existing one', () => {
  const existing = ['20261125000000_init', '20270101000000_future'];
  expect(nextMigrationName(existing, 'x', new Date('2026-12-01T00:00:00Z'))).toBe('20270101000001_x');
  expect(nextMigrationName(['20261231235959_zzz'], 'a', new Date('2026-12-31T23:59:59Z'))).toBe('20270101000000_a');
});

test('a migration sets its own lock and statement timeouts with comments', () => {
  expect(migrationTimeouts('-- webrana:lock-timeout 2s\n-- webrana:statement-timeout 10m\nSELECT 1;')).toEqual({
    lockTimeoutMs: 2_000,
    statementTimeoutMs: 600_000,
    errors: [],
  });
  expect(migrationTimeouts('SELECT 1; -- webrana:lock-timeout 2s')).toEqual({ errors: [] });
  expect(migrationTimeouts('-- webrana:lock-timeout -1s\n').errors).toHaveLength(1);
});
