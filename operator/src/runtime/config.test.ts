import { loadConfig } from './config';

describe('loadConfig', () => {
  test('defaults: leader election on a 30 s Lease renewed every 10 s, 4 workers, port 8080', () => {
    const c = loadConfig({ POD_NAME: 'op-0' });
    expect(c).toMatchObject({
      identity: 'op-0',
      namespace: 'default',
      leaderElect: true,
      leaseDurationSeconds: 30,
      renewPeriodMs: 10_000,
      renewDeadlineMs: 20_000,
      workers: 4,
      httpPort: 8080,
      resyncMs: 600_000,
    });
    expect(c.watchNamespace).toBeUndefined();
  });

  test('a bad variable fails fast, named', () => {
    expect(() => loadConfig({ WORKERS: 'many' })).toThrow(/WORKERS/);
    expect(() => loadConfig({ LEADER_ELECT: 'maybe' })).toThrow(/LEADER_ELECT: must be true or false/);
    expect(() => loadConfig({ RENEW_DEADLINE_SECONDS: '40' })).toThrow(/RENEW_DEADLINE_SECONDS must be less than/);
  });

  test('WATCH_NAMESPACE limits the watch; empty means all', () => {
    expect(loadConfig({ WATCH_NAMESPACE: 'shop' }).watchNamespace).toBe('shop');
    expect(loadConfig({ WATCH_NAMESPACE: '' }).watchNamespace).toBeUndefined();
  });
});
