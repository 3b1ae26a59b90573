import {
  candidateDumpNames,
  compactStamp,
  dumpFileName,
  manifestName,
  parseDumpFileName,
  parseTempFileName,
  tempFileName,
} from './names';

describe('dump file names', () => {
  const time = new Date('2026-03-01T02:00:00.789Z');

  test('are <service>-<UTC time>.tar.zst for full dumps and -schema.sql / -data.sql for the SQL variants', () => {
    expect(compactStamp(time)).toBe('20260301T020000Z');
    expect(dumpFileName('order-service', time, 'full')).toBe('order-service-20260301T020000Z.tar.zst');
    expect(dumpFileName('order-service', time, 'schema')).toBe('order-service-20260301T020000Z-schema.sql');
    expect(dumpFileName('order-service', time, 'data')).toBe('order-service-20260301T020000Z-data.sql');
    expect(manifestName('order-service-20260301T020000Z.dump')).toBe('order-service-20260301T020000Z.dump.json');
  });

  test('parse back to service, second-precise time, kind and format', () => {
    expect(parseDumpFileName('billing-service-20260301T020000Z-data.sql')).toEqual({
      service: 'billing-service',
      time: new Date('2026-03-01T02:00:00Z'),
      kind: 'data',
      format: 'sql',
    });
    expect(parseDumpFileName('order-service-20260301T020000Z.tar.zst')).toMatchObject({
      kind: 'full',
      format: 'tar.zst',
    });
  });

  test('full dumps of the earlier custom format (.dump) still parse as full dumps', () => {
    expect(parseDumpFileName('auth-service-20260301T020000Z.dump')).toEqual({
      service: 'auth-service',
      time: new Date('2026-03-01T02:00:00Z'),
      kind: 'full',
      format: 'custom',
    });
  });

  test.each([
    'auth-service-20260301T020000Z.dump.json',
    'auth-service-20260301T020000Z.tar.zst.json',
    'auth-service-20260301T020000Z.tar',
    '.auth-service-20260301T020000Z.tar.zst.d.tmp-host-1-0a1b2c3d',
    '.auth-service-20260301T020000Z.dump.tmp-123',
    'auth-service-20261301T020000Z.dump', // month 13
    'auth-service-20260230T020000Z.dump', // February 30
    'auth-service-2026-03-01.dump',
    'notes.txt',
  ])('%s is not a dump of this project', (name) => {
    expect(parseDumpFileName(name)).toBeNull();
  });
});

describe('temporary file names', () => {
  test('carry host name and pid, so a sweeper can tell whose they are, and never parse as a dump', () => {
    const name = tempFileName('order-service-20260301T020000Z.dump', 'backup-7f9c-x2b', 1, '0a1b2c3d');
    expect(name).toBe('.order-service-20260301T020000Z.dump.tmp-backup-7f9c-x2b-1-0a1b2c3d');
    expect(parseTempFileName(name)).toEqual({
      final: 'order-service-20260301T020000Z.dump',
      host: 'backup-7f9c-x2b',
      pid: 1,
    });
    expect(parseDumpFileName(name)).toBeNull();
  });

  test('a host name with characters a file name dislikes is made safe', () => {
    expect(tempFileName('a.dump', 'my host/1', 7, 'ffffffff')).toBe('.a.dump.tmp-my_host_1-7-ffffffff');
  });

  test('the old .<name>.tmp-<pid> form is still recognised, without host or pid', () => {
    expect(parseTempFileName('.auth-service-20260301T020000Z.dump.tmp-123')).toEqual({
      final: 'auth-service-20260301T020000Z.dump',
      host: null,
      pid: null,
    });
    expect(parseTempFileName('auth-service-20260301T020000Z.dump')).toBeNull();
  });
});

test('candidate names after a taken second are the following seconds and still parse as dumps', () => {
  const names = candidateDumpNames('order-service', new Date('2026-03-01T23:59:59Z'), 'full', 3);
  expect(names).toEqual([
    'order-service-20260301T235959Z.tar.zst',
    'order-service-20260302T000000Z.tar.zst',
    'order-service-20260302T000001Z.tar.zst',
  ]);
  expect(names.every((n) => parseDumpFileName(n)?.service === 'order-service')).toBe(true);
});
