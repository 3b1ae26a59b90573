import { CRON_PATTERN, cronProblem } from './cron';

describe('cron schedules', () => {
  const accepted = [
    '0 2 * * *',
    '*/15 * * * *',
    '0 0 1 1 *',
    '30 3 * * 1-5',
    '0 2 * * SUN',
    '0 2 * JAN-MAR mon-fri',
    '5,35 1,13 * * *',
    '0 0 31 12 6',
    '59 23 * * 0',
    '0 2 ? * *',
    '@daily',
    '@hourly',
    '@monthly',
    '0  2  *  *  *',
  ];
  const rejected = [
    '',
    '61 2 * * *',
    '0 24 * * *',
    '0 2 32 * *',
    '0 2 0 * *',
    '0 2 * 13 *',
    '0 2 * * 7',
    '0 2 * *',
    '0 2 * * * *',
    'every day',
    '@every 1h',
    '@reboot',
    'TZ=UTC 0 2 * * *',
    '0 2 * * MON;',
    ' 0 2 * * *',
  ];

  test.each(accepted)('"%s" is accepted', (s) => {
    expect(new RegExp(CRON_PATTERN).test(s)).toBe(true);
    expect(cronProblem(s)).toBeUndefined();
  });

  test.each(rejected)('"%s" is rejected by the pattern the CRD uses', (s) => {
    expect(new RegExp(CRON_PATTERN).test(s)).toBe(false);
    expect(cronProblem(s)).toMatch(/is not a cron expression/);
  });

  test('a range that runs backwards or a zero step passes the pattern but not cronProblem', () => {
    expect(cronProblem('0 5-2 * * *')).toBe('schedule "0 5-2 * * *": hour range 5-2 runs backwards');
    expect(cronProblem('0 2 * DEC-JAN *')).toMatch(/month range DEC-JAN runs backwards/);
    expect(cronProblem('*/0 * * * *')).toMatch(/minute step must be at least 1/);
  });

  test('the pattern uses only syntax both RE2 (apiserver) and JavaScript read the same way', () => {
    expect(CRON_PATTERN).not.toMatch(/\(\?[=!<i]/); // no lookaround, no inline flags
    expect(CRON_PATTERN).not.toMatch(/\\[dws]/i); // no shorthand classes that differ in Unicode handling
  });
});
