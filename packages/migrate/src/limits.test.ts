import { FlagRangeError, MAX_MS, parseDurationFlag, parseRetriesFlag } from './limits';

describe('parseDurationFlag', () => {
  test.each([
    ['lock-timeout', '500ms', 500],
    ['lock-timeout', '10s', 10_000],
    ['lock-timeout', '2m', 120_000],
    ['lock-timeout', '0', 0], // off, as PostgreSQL reads it
    ['statement-timeout', '0', 0],
    ['wait', '0', 0],
    ['lock-wait', '0s', 0],
    ['lock-timeout', String(MAX_MS), MAX_MS],
    ['lock-retry-delay', '10m', 600_000],
  ])('--%s=%s is %d ms', (flag, value, ms) => {
    expect(parseDurationFlag(flag, value)).toBe(ms);
  });

  test.each([
    ['lock-timeout', '-1', '--lock-timeout=-1 is out of range (-1ms); allowed: 0 (off: a DDL statement waits'],
    ['statement-timeout', String(MAX_MS + 1), `--statement-timeout=${MAX_MS + 1} is out of range`],
    [
      'wait',
      '35792m',
      '--wait=35792m is out of range (2147520000ms); allowed: 0 (try to connect once) or 1ms to 2147483647ms',
    ],
    ['lock-wait', '1.5s', '--lock-wait=1.5s is not a duration'],
    ['lock-wait', '', '--lock-wait= is not a duration'],
    ['lock-retry-delay', '0', '--lock-retry-delay=0 is out of range (0ms); allowed: 1ms to 600000ms'],
    ['lock-retry-delay', '11m', '--lock-retry-delay=11m is out of range'],
  ])('--%s=%s is refused, naming flag, value and range', (flag, value, message) => {
    expect(() => parseDurationFlag(flag, value)).toThrow(FlagRangeError);
    expect(() => parseDurationFlag(flag, value)).toThrow(message);
  });
});

describe('parseRetriesFlag', () => {
  test('whole numbers from 0 to 20', () => {
    expect(parseRetriesFlag('lock-retries', '0')).toBe(0);
    expect(parseRetriesFlag('lock-retries', '20')).toBe(20);
  });
  test.each(['-1', '21', '2.5', 'three', '', '1e3'])('"%s" is refused', (value) => {
    expect(() => parseRetriesFlag('lock-retries', value)).toThrow(
      `--lock-retries=${value} is out of range; allowed: a whole number from 0 (no retry) to 20`,
    );
  });
});
