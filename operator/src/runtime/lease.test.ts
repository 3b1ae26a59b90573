import { decide, nextLeaseSpec, observe, releasedLeaseSpec } from './lease';

describe('leader election decisions', () => {
  const held = { holderIdentity: 'pod-a', leaseDurationSeconds: 30, renewTime: '2026-03-01T00:00:00.000000Z' };

  test('the holder renews; a free Lease is taken', () => {
    const o = observe(undefined, held, 0);
    expect(decide(held, o, 'pod-a', 0, 30)).toBe('renew');
    expect(decide({ holderIdentity: null }, observe(undefined, {}, 0), 'pod-b', 0, 30)).toBe('acquire');
  });

  test("another holder's Lease is taken only after it went unchanged for a full duration on our own clock", () => {
    let o = observe(undefined, held, 1_000);
    expect(decide(held, o, 'pod-b', 30_999, 30)).toBe('wait');
    expect(decide(held, o, 'pod-b', 31_000, 30)).toBe('acquire');
    // A renewal (changed record) restarts the wait.
    const renewed = { ...held, renewTime: '2026-03-01T00:00:10.000000Z' };
    o = observe(o, renewed, 20_000);
    expect(o.since).toBe(20_000);
    expect(decide(renewed, o, 'pod-b', 31_000, 30)).toBe('wait');
  });

  test('taking over counts a transition; renewing keeps acquireTime; releasing frees it at once', () => {
    const now = new Date('2026-03-01T00:01:00Z');
    const taken = nextLeaseSpec({ ...held, leaseTransitions: 2 }, 'acquire', 'pod-b', 30, now);
    expect(taken).toMatchObject({
      holderIdentity: 'pod-b',
      leaseTransitions: 3,
      acquireTime: '2026-03-01T00:01:00.000000Z',
    });
    const renewed = nextLeaseSpec(taken, 'renew', 'pod-b', 30, new Date('2026-03-01T00:01:10Z'));
    expect(renewed.acquireTime).toBe(taken.acquireTime);
    expect(renewed.renewTime).toBe('2026-03-01T00:01:10.000000Z');
    const released = releasedLeaseSpec(renewed, now);
    expect(decide(released, observe(undefined, released, 0), 'pod-a', 0, 30)).toBe('acquire');
  });
});
