import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Fields that may carry a secret; pino replaces their values before anything is written. */
const REDACT = [
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'url',
  '*.url',
  'connectionString',
  '*.connectionString',
];

/** JSON lines on stdout (or `destination`), one logger per process. */
export function createLogger(opts: { name: string; level?: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: opts.name,
      level: opts.level ?? 'info',
      redact: { paths: REDACT, censor: '[redacted]' },
      base: { service: opts.name },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
