import type { Manifest } from './backup';
import { isScratchOf, isSystemError, scratchName, withDrillOutcome } from './drill';

const NOW = new Date('2026-11-30T10:41:07.123Z');

test("a scratch database name is <db>_drill_<stamp>_<random> and recognised as that database's", () => {
  const name = scratchName('orders', NOW, 'a1b2c3');
  expect(name).toBe('orders_drill_20261130t104107z_a1b2c3');
  expect(isScratchOf(name, 'orders')).toBe(true);
  expect(isScratchOf(name, 'order')).toBe(false);
  expect(isScratchOf('orders_drill_manual', 'orders')).toBe(false);
  expect(isScratchOf('orders', 'orders')).toBe(false);
});

test('a long database name is shortened so the scratch name fits 63 bytes, and still recognised', () => {
  const long = 'a'.repeat(60);
  const name = scratchName(long, NOW, 'ffffff');
  expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
  expect(isScratchOf(name, long)).toBe(true);
});

const MANIFEST: Manifest = {
  service: 'order-service',
  database: 'orders',
  kind: 'full',
  format: 'tar.zst',
  file: 'order-service-20261130T020000Z.tar.zst',
  serverVersion: '15.18',
  migrationHead: '20261125000100_rules',
  bytes: 10,
  sha256: 'ab',
  durationMs: 1,
  createdAt: '2026-11-30T02:00:00.000Z',
};

test('a passing drill records verifiedAt and clears an earlier failure; a failing one records its problems', () => {
  const failed = withDrillOutcome(MANIFEST, NOW, ['table public.orders has 2 rows, the manifest says 3']);
  expect(failed).toEqual({
    ...MANIFEST,
    drillFailure: { at: NOW.toISOString(), problems: ['table public.orders has 2 rows, the manifest says 3'] },
  });
  expect(withDrillOutcome(failed, NOW, [])).toEqual({ ...MANIFEST, verifiedAt: NOW.toISOString() });
});

test("this machine's system call errors are told apart from the dump's and the server's", () => {
  const eacces = Object.assign(new Error('EACCES: permission denied, open x'), { code: 'EACCES', syscall: 'open' });
  expect(isSystemError(eacces)).toBe(true);
  expect(isSystemError(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(false);
  expect(isSystemError(new Error('restore of x failed: pg_restore: error'))).toBe(false);
  expect(isSystemError(undefined)).toBe(false);
});
