import { createLifecycle, drainPeriodMs, mayCloseConnection } from './lifecycle';

test('a lifecycle starts serving and stays shutting down once begun', () => {
  const lifecycle = createLifecycle();
  expect(lifecycle.shuttingDown).toBe(false);
  lifecycle.beginShutdown();
  lifecycle.beginShutdown();
  expect(lifecycle.shuttingDown).toBe(true);
});

test('the drain period is 1 s by default and never more than half the shutdown timeout', () => {
  expect(drainPeriodMs(10_000)).toBe(1000);
  expect(drainPeriodMs(10_000, 3000)).toBe(3000);
  expect(drainPeriodMs(1500)).toBe(750);
  expect(drainPeriodMs(1)).toBe(0);
  expect(drainPeriodMs(10_000, -5)).toBe(0);
});

describe('mayCloseConnection', () => {
  const idle = { active: 0, idleSince: 1000, bytesReadWhenIdle: 500 };

  test('a connection idle for the grace period with nothing arriving may be closed', () => {
    expect(mayCloseConnection(idle, 500, 1250)).toBe(true);
  });

  test('a connection answering a request, idle only briefly, or receiving bytes is kept', () => {
    expect(mayCloseConnection({ ...idle, active: 1 }, 500, 5000)).toBe(false);
    expect(mayCloseConnection(idle, 500, 1249)).toBe(false);
    expect(mayCloseConnection(idle, 510, 5000)).toBe(false);
  });
});
