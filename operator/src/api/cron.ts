/**
 * Cron schedules as a CronJob accepts them (five fields, or one of the @ descriptors), checked by a
 * regular expression the CRD uses as its OpenAPI `pattern` (RE2 and JavaScript alike: no lookaround,
 * no inline flags), plus `cronProblem` for what a regular expression cannot see (a range that runs
 * backwards, a zero step).
 */

interface Field {
  readonly name: string;
  /** Alternatives for one value, most specific first. */
  readonly value: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const withLower = (names: readonly string[]): string[] => [...names, ...names.map((n) => n.toLowerCase())];

const FIELDS: readonly Field[] = [
  { name: 'minute', value: '[0-5]?[0-9]', min: 0, max: 59 },
  { name: 'hour', value: '2[0-3]|[01]?[0-9]', min: 0, max: 23 },
  { name: 'day of month', value: '3[01]|[12][0-9]|0?[1-9]', min: 1, max: 31 },
  { name: 'month', value: ['1[0-2]', '0?[1-9]', ...withLower(MONTHS)].join('|'), min: 1, max: 12, names: MONTHS },
  { name: 'day of week', value: ['[0-6]', ...withLower(DAYS)].join('|'), min: 0, max: 6, names: DAYS },
];

export const CRON_DESCRIPTORS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

function fieldPattern(f: Field): string {
  const v = `(${f.value})`;
  const element = `(\\*|\\?|${v}(-${v})?)(/[0-9]{1,2})?`;
  return `${element}(,${element})*`;
}

/** The schedule pattern (anchored). */
export const CRON_PATTERN = `^((${CRON_DESCRIPTORS.join('|')})|${FIELDS.map(fieldPattern).join(' +')})$`;

const CRON_REGEX = new RegExp(CRON_PATTERN);

function numberOf(f: Field, token: string): number {
  const upper = token.toUpperCase();
  const named = f.names?.indexOf(upper) ?? -1;
  if (named >= 0) return f === FIELDS[3] ? named + 1 : named;
  return Number(token);
}

/** Why a schedule is not one a CronJob accepts, or undefined when it is. */
export function cronProblem(schedule: string): string | undefined {
  if (!CRON_REGEX.test(schedule)) {
    return `schedule "${schedule}" is not a cron expression of five fields (minute hour day-of-month month day-of-week) or one of ${CRON_DESCRIPTORS.join(', ')}`;
  }
  if (schedule.startsWith('@')) return undefined;
  const parts = schedule.split(/ +/);
  for (const [i, part] of parts.entries()) {
    const f = FIELDS[i] as Field;
    for (const element of part.split(',')) {
      const [range = '', step] = element.split('/');
      if (step !== undefined && Number(step) === 0) return `schedule "${schedule}": ${f.name} step must be at least 1`;
      const [from, to] = range.split('-');
      if (from !== undefined && to !== undefined && numberOf(f, from) > numberOf(f, to)) {
        return `schedule "${schedule}": ${f.name} range ${range} runs backwards`;
      }
    }
  }
  return undefined;
}
