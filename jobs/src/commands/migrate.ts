import type { Logger } from '@webrana/logger';
import { parseArgs } from 'node:util';
import type { Assessment } from '../migrate/assess';
import { checkDrift } from '../migrate/drift';
import {
  DEFAULT_SETTINGS,
  deploy,
  plan,
  reset,
  resolve,
  status,
  type MigrateSettings,
  type MigrateTarget,
} from '../migrate/runner';
import { isProduction, migrateTarget, parseDuration, requireService, UsageError } from './common';

export const MIGRATE_USAGE = `usage: webrana-jobs migrate <command> --service=NAME [options]

commands:
  deploy    apply pending migrations (what the Kubernetes migration Job runs)
  status    list applied, pending, failed, modified and missing-locally migrations;
            exit 0 only when up to date
  plan      print what deploy would run, and what would stop it; touches nothing
  resolve   --applied NAME | --rolled-back NAME, with Prisma's semantics
  reset     drop and recreate the schema, then apply every migration (refused in production)
  check     apply the migrations to a scratch database and compare with schema.prisma; exit 1 on drift

options:
  --service=NAME              auth-service, catalog-service, order-service or billing-service
  --database-url=URL          default: the service's variable (AUTH_DATABASE_URL, ...), then DATABASE_URL
  --migrations-dir=DIR        default: services/NAME/prisma/migrations
  --dry-run                   deploy: same as plan
  --json                      status, plan: machine-readable output
  --lock-timeout=DURATION     longest a DDL statement waits for a table lock (default 5s)
  --statement-timeout=DURATION  longest one statement may run (default 0: no limit)
  --wait=DURATION             how long to wait for the database to accept connections (default 60s)
  --lock-wait=DURATION        how long to wait for another migration's lock (default 120s)
  --allow-missing             deploy even if the database has migrations this checkout lacks
  --scratch-url=URL           check: server URL where scratch databases may be created
                              (default: the service's database URL)
  -h, --help                  this text
`;

const OPTIONS = {
  service: { type: 'string' },
  'database-url': { type: 'string' },
  'migrations-dir': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  'lock-timeout': { type: 'string' },
  'statement-timeout': { type: 'string' },
  wait: { type: 'string' },
  'lock-wait': { type: 'string' },
  'allow-missing': { type: 'boolean', default: false },
  applied: { type: 'string' },
  'rolled-back': { type: 'string' },
  'scratch-url': { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CommandIO {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  log: Logger;
}

function settingsFrom(values: Record<string, unknown>): MigrateSettings {
  const duration = (flag: string, fallback: number) =>
    typeof values[flag] === 'string' ? parseDuration(values[flag] as string, flag) : fallback;
  return {
    lockTimeoutMs: duration('lock-timeout', DEFAULT_SETTINGS.lockTimeoutMs),
    statementTimeoutMs: duration('statement-timeout', DEFAULT_SETTINGS.statementTimeoutMs),
    connectWaitMs: duration('wait', DEFAULT_SETTINGS.connectWaitMs),
    advisoryLockWaitMs: duration('lock-wait', DEFAULT_SETTINGS.advisoryLockWaitMs),
    allowMissingLocally: values['allow-missing'] === true,
  };
}

function formatStatus(service: string, assessment: Assessment): string {
  const lines = assessment.entries.map(
    (e) =>
      `  ${e.state.padEnd(16)} ${e.name}${e.logs ? `\n${' '.repeat(19)}${e.logs.split('\n').join(`\n${' '.repeat(19)}`)}` : ''}`,
  );
  const verdict = assessment.upToDate ? 'up to date' : 'NOT up to date';
  return `${service}: ${verdict}\n${lines.join('\n')}\n`;
}

async function planCommand(
  service: string,
  target: MigrateTarget,
  settings: MigrateSettings,
  json: boolean,
  io: CommandIO,
) {
  const result = await plan(target, settings, io.log);
  if (json) io.out(`${JSON.stringify({ service, ...result })}\n`);
  else {
    const steps = result.pending.map(
      (m) =>
        `  would apply ${m.name} (${m.nonTransactional ? `outside a transaction: ${m.nonTransactional}` : 'in one transaction'})\n`,
    );
    io.out(`${service}: ${result.pending.length} pending migration(s)\n${steps.join('')}`);
    result.blockers.forEach((b) => io.out(`  blocked: ${b}\n`));
  }
  return result.blockers.length ? 1 : 0;
}

/** Runs `webrana-jobs migrate ...`; returns the exit code. */
export async function migrateCommand(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const [command] = positionals;
  if (values.help || !command) {
    io.out(MIGRATE_USAGE);
    return values.help ? 0 : 2;
  }
  const service = requireService(values.service);
  const target = migrateTarget(service, values, io.env);
  const settings = settingsFrom(values);

  switch (command) {
    case 'deploy':
      if (values['dry-run']) return planCommand(service.name, target, settings, values.json, io);
      await deploy(target, settings, io.log);
      return 0;
    case 'plan':
      return planCommand(service.name, target, settings, values.json, io);
    case 'status': {
      const assessment = await status(target, settings, io.log);
      if (values.json)
        io.out(
          `${JSON.stringify({ service: service.name, upToDate: assessment.upToDate, migrations: assessment.entries })}\n`,
        );
      else io.out(formatStatus(service.name, assessment));
      return assessment.upToDate ? 0 : 1;
    }
    case 'resolve': {
      if (Boolean(values.applied) === Boolean(values['rolled-back'])) {
        throw new UsageError('resolve takes exactly one of --applied NAME or --rolled-back NAME');
      }
      await resolve(
        target,
        settings,
        io.log,
        values.applied ? { applied: values.applied } : { rolledBack: values['rolled-back']! },
      );
      return 0;
    }
    case 'reset':
      if (isProduction(io.env)) {
        throw new UsageError(
          'migrate reset drops every table and is refused in production (NODE_ENV or WEBRANA_ENV is "production")',
        );
      }
      await reset(target, settings, io.log);
      return 0;
    case 'check': {
      const report = await checkDrift(target, settings, io.log, values['scratch-url']);
      io.out(
        report.differences.length
          ? `${service.name}: schema drift\n- ${report.differences.join('\n- ')}\n`
          : `${service.name}: migrations match schema.prisma\n`,
      );
      return report.differences.length ? 1 : 0;
    }
    default:
      throw new UsageError(`unknown migrate command "${command}"`);
  }
}
