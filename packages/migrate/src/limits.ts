/** PostgreSQL's timeouts are int milliseconds; Node's timers share the same ceiling. */
export const MAX_MS = 2_147_483_647;

/** A bad flag value; the command line turns it into a usage error (exit 2). */
export class FlagRangeError extends Error {}

interface DurationRule {
  /** What 0 means, when it is allowed ("off: ..."); undefined when 0 is refused. */
  zero?: string;
  minMs: number;
  maxMs: number;
}

/** The allowed values of each timing flag of `migrate`, checked before anything connects. */
export const DURATION_RULES: Record<string, DurationRule> = {
  'lock-timeout': { zero: 'off: a DDL statement waits for its lock as long as it takes', minMs: 1, maxMs: MAX_MS },
  'statement-timeout': { zero: 'off: no limit', minMs: 1, maxMs: MAX_MS },
  wait: { zero: 'try to connect once', minMs: 1, maxMs: MAX_MS },
  'lock-wait': { zero: 'try the advisory lock once', minMs: 1, maxMs: MAX_MS },
  'lock-retry-delay': { minMs: 1, maxMs: 600_000 },
  'rollout-grace': { zero: 'do not wait', minMs: 1, maxMs: 3_600_000 },
};

/** --lock-retries: attempts beyond the first after a lock timeout. */
export const LOCK_RETRIES = { min: 0, max: 20 };

const UNITS = { ms: 1, s: 1_000, m: 60_000 } as const;

function allowed(rule: DurationRule): string {
  const range = `${rule.minMs}ms to ${rule.maxMs}ms`;
  return rule.zero ? `0 (${rule.zero}) or ${range}` : range;
}

/** Parses "500ms", "10s", "2m" or plain milliseconds and checks the flag's range; errors name flag, value and range. */
export function parseDurationFlag(flag: string, value: string): number {
  const rule = DURATION_RULES[flag];
  if (!rule) throw new Error(`no range known for --${flag}`);
  const match = /^(-?\d+)(ms|s|m)?$/.exec(value.trim());
  if (!match)
    throw new FlagRangeError(
      `--${flag}=${value} is not a duration: use whole numbers with ms, s or m (e.g. 500ms, 10s, 2m); allowed: ${allowed(rule)}`,
    );
  const ms = Number(match[1]) * UNITS[(match[2] ?? 'ms') as keyof typeof UNITS];
  const ok = (ms === 0 && rule.zero !== undefined) || (ms >= rule.minMs && ms <= rule.maxMs);
  if (!ok) throw new FlagRangeError(`--${flag}=${value} is out of range (${ms}ms); allowed: ${allowed(rule)}`);
  return ms;
}

export function parseRetriesFlag(flag: string, value: string): number {
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < LOCK_RETRIES.min || n > LOCK_RETRIES.max)
    throw new FlagRangeError(
      `--${flag}=${value} is out of range; allowed: a whole number from ${LOCK_RETRIES.min} (no retry) to ${LOCK_RETRIES.max}`,
    );
  return n;
}
