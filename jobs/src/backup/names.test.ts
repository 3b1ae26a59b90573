import { compactStamp, dumpFileName, manifestName, parseDumpFileName } from './names';

describe('dump file names', () => {
  const time = new Date('2026-03-01T02:00:00.789Z');

  test('are <service>-<UTC time>.dump for full dumps and -schema.sql / -data.sql for the SQL variants', () => {
    expect(compactStamp(time)).toBe('20260301T020000Z');
    expect(dumpFileName('order-service', time, 'full')).toBe('order-service-20260301T020000Z.dump');
    expect(dumpFileName('order-service', time, 'schema')).toBe('order-service-20260301T020000Z-schema.sql');
    expect(dumpFileName('order-service', time, 'data')).toBe('order-service-20260301T020000Z-data.sql');
    expect(manifestName('order-service-20260301T020000Z.dump')).toBe('order-service-20260301T020000Z.dump.json');
  });

  test('parse back to service, second-precise time and kind', () => {
    expect(parseDumpFileName('billing-service-20260301T020000Z-data.sql')).toEqual({
      service: 'billing-service',
      time: new Date('2026-03-01T02:00:00Z'),
      kind: 'data',
    });
  });

  test.each([
    'auth-service-20260301T020000Z.dump.json',
    '.auth-service-20260301T020000Z.dump.tmp-123',
    'auth-service-20261301T020000Z.dump', // month 13
    'auth-service-20260230T020000Z.dump', // February 30
    'auth-service-2026-03-01.dump',
    'notes.txt',
  ])('%s is not a dump of this project', (name) => {
    expect(parseDumpFileName(name)).toBeNull();
  });
});
