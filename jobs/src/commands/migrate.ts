import type { Logger } from '@webrana/logger';
import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import {
  blocking,
  checkDrift,
  formatFinding,
  lintMigrations,
  newMigration,
  readLocalMigrations,
  type LintFinding,
  DEFAULT_SETTINGS,
  deploy,
  EXIT_TEMPFAIL,
  FlagRangeError,
  LOCK_RETRIES,
  MAX_MS,
  MigrationError,
  parseDurationFlag,
  parseRetriesFlag,
  PHASE_SELECTORS,
  plan,
  reset,
  resolve,
  status,
  TransientMigrationError,
  type Assessment,
  type MigrateSettings,
  type MigrateTarget,
  type PhaseSelector,
} from '@webrana/migrate';
import { dependencyWaves, migrationsDir, SERVICES, withDependencies, type ServiceSpec } from '@webrana/registry';
import { isProduction, migrateTarget, requireService, UsageError } from './common';

export const MIGRATE_USAGE = `usage: webrana-jobs migrate <command> --service=NAME [options]

commands:
  deploy    apply pending migrations (what the Kubernetes migration Job runs); without --service,
            every service in dependency order (independent ones in parallel), each from its own
            variable (AUTH_DATABASE_URL, CATALOG_DATABASE_URL, ORDER_DATABASE_URL, BILLING_DATABASE_URL)
  status    list applied, pending, failed, modified and missing-locally migrations (a pending
            post-deploy migration shows as waiting for the rollout); exit 0 only when up to date
  plan      print what deploy would run, and what would stop it; touches nothing
  resolve   --applied NAME | --rolled-back NAME, with Prisma's semantics
  reset     drop and recreate the schema, then apply every migration (refused in production)
  check     apply the migrations to a scratch database and compare with schema.prisma; exit 1 on drift
  new       --name=NAME: write the next migration folder (<UTC YYYYMMDDHHMMSS>_<name>/migration.sql) with
            Prisma's own SQL from "all migrations applied" to schema.prisma, print it and its lint
            findings; never applies it unless --apply (development only); writes nothing when
            nothing changed (also: npm run migrate:new -- --service=X --name=NAME)
  lint      squawk on the pending migrations (--all: every migration; without --service: every
            service); exit 1 on an error finding with no allow comment
            (-- webrana:allow RULE: REASON) or lint-allow.json entry

options:
  --service=NAME              auth-service, catalog-service, order-service or billing-service
  --database-url=URL          default: the service's variable (AUTH_DATABASE_URL, ...), then DATABASE_URL
                              (a URL given here is visible to other users in the process list; prefer the variables)
  --migrations-dir=DIR        default: services/NAME/prisma/migrations
  --dry-run                   deploy: same as plan
  --phase=PHASE               deploy, plan: which pending migrations to apply (expand/contract; a migration is
                              post-deploy when the comment lines at the top of its file say
                              -- webrana:phase post-deploy, else pre-deploy):
                                pre-deploy   before the new release rolls out (the chart's pre-upgrade hook):
                                             the pending migrations before the first pending post-deploy
                                             one; that one and all after it wait for the rollout. Refuses
                                             (applies nothing) when a pre-deploy migration comes after a
                                             pending post-deploy one: migrations run in name order only
                                post-deploy  after the rollout (the chart's post-upgrade hook): every
                                             pending migration, in order
                                all          every pending migration, in order (default: local use)
  --rollout-grace=DURATION    deploy: when a migration is pending, first wait this long: the old
                              pods' terminationGracePeriodSeconds, so none still serves (the chart's
                              post-upgrade hook passes it; helm --wait returns while old pods drain)
  --json                      status, plan: machine-readable output
  --lock-timeout=DURATION     longest a DDL statement waits for a table lock (default 5s; 0: no limit)
  --lock-retries=N            after a lock timeout (nothing applied, nothing recorded) try again up to N
                              times, waiting --lock-retry-delay, then twice as long each time
                              (default 3; ${LOCK_RETRIES.min} to ${LOCK_RETRIES.max})
  --lock-retry-delay=DURATION wait before the first retry (default 1s; at most 10m; each wait at most 60s)
  --statement-timeout=DURATION  longest one statement may run (default 0: no limit)
  --wait=DURATION             how long to wait for the database to accept connections (default 60s;
                              0: try once)
  --lock-wait=DURATION        how long to wait for another migration's lock (default 120s; 0: try once)
                              DURATION: 500ms, 10s, 2m or milliseconds, at most ${MAX_MS}ms
                              (PostgreSQL's limit); negative values are refused
  --allow-missing             deploy even if the database has migrations this checkout lacks
  --check-deps                deploy: refuse while a service this one depends on has unapplied migrations
  --with-deps                 deploy: migrate the services this one depends on first
  --scratch-url=URL           check: server URL where scratch databases may be created
                              (default: the service's database URL)
  --name=NAME                 new: the migration's name (lowercased, words joined by _)
  --shadow-database-url=URL   new: server where a scratch database may be created (default:
                              SHADOW_DATABASE_URL; in development, else an embedded PostgreSQL 15)
  --create-only               new: write the migration, do not apply it (the default)
  --apply                     new: also deploy it to the service's database (refused in production)
  --all                       lint: every migration, not only the pending ones (no database needed)
  -h, --help                  this text

exit codes:
  0   done (status: up to date)
  1   failed; the message says why and what to do (a genuine SQL error is recorded as Prisma does
      and blocks later deploys until migrate resolve)
  2   bad command line
  ${EXIT_TEMPFAIL}  temporary failure, nothing recorded: a migration never got its lock after the
      retries (the message names the blocking session) or the connection dropped mid-transaction;
      deploy again later
`;

const OPTIONS = {
  service: { type: 'string' },
  'database-url': { type: 'string' },
  'migrations-dir': { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  phase: { type: 'string' },
  json: { type: 'boolean', default: false },
  'lock-timeout': { type: 'string' },
  'statement-timeout': { type: 'string' },
  wait: { type: 'string' },
  'lock-wait': { type: 'string' },
  'lock-retries': { type: 'string' },
  'lock-retry-delay': { type: 'string' },
  'rollout-grace': { type: 'string' },
  'allow-missing': { type: 'boolean', default: false },
  'check-deps': { type: 'boolean', default: false },
  'with-deps': { type: 'boolean', default: false },
  applied: { type: 'string' },
  'rolled-back': { type: 'string' },
  'scratch-url': { type: 'string' },
  name: { type: 'string' },
  'shadow-database-url': { type: 'string' },
  'create-only': { type: 'boolean', default: false },
  apply: { type: 'boolean', default: false },
  all: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CommandIO {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  /** Where messages for a person go (stderr); stdout when not given. */
  err?: (text: string) => void;
  log: Logger;
  /** The name messages for a person start with (a wrapper script's own name; default webrana-jobs). */
  program?: string;
}

/** Every flag is range-checked here, before anything connects. */
function settingsFrom(values: Record<string, unknown>): MigrateSettings {
  const given = (flag: string) => (typeof values[flag] === 'string' ? (values[flag] as string) : undefined);
  const duration = (flag: string, fallback: number) => {
    const value = given(flag);
    return value === undefined ? fallback : parseDurationFlag(flag, value);
  };
  const retries = given('lock-retries');
  const phase = given('phase') ?? 'all';
  if (!(PHASE_SELECTORS as readonly string[]).includes(phase))
    throw new UsageError(`--phase=${phase}: use ${PHASE_SELECTORS.join(', ')}`);
  try {
    return {
      phase: phase as PhaseSelector,
      lockTimeoutMs: duration('lock-timeout', DEFAULT_SETTINGS.lockTimeoutMs),
      statementTimeoutMs: duration('statement-timeout', DEFAULT_SETTINGS.statementTimeoutMs),
      connectWaitMs: duration('wait', DEFAULT_SETTINGS.connectWaitMs),
      advisoryLockWaitMs: duration('lock-wait', DEFAULT_SETTINGS.advisoryLockWaitMs),
      allowMissingLocally: values['allow-missing'] === true,
      lockRetries: retries === undefined ? DEFAULT_SETTINGS.lockRetries : parseRetriesFlag('lock-retries', retries),
      lockRetryDelayMs: duration('lock-retry-delay', DEFAULT_SETTINGS.lockRetryDelayMs),
    };
  } catch (error) {
    if (error instanceof FlagRangeError) throw new UsageError(error.message);
    throw error;
  }
}

function rolloutGraceMs(values: Record<string, unknown>): number {
  const value = values['rollout-grace'];
  if (typeof value !== 'string') return 0;
  try {
    return parseDurationFlag('rollout-grace', value);
  } catch (error) {
    if (error instanceof FlagRangeError) throw new UsageError(error.message);
    throw error;
  }
}

/** With pending migrations, waits `graceMs` first: an old pod may serve that long after the rollout. */
async function waitOutRollout(target: MigrateTarget, settings: MigrateSettings, graceMs: number, io: CommandIO) {
  if (graceMs <= 0) return;
  const pending = (await plan(target, settings, io.log)).pending.map((m) => m.name);
  if (pending.length === 0) return;
  io.log.info({ pending, graceMs }, `waiting ${graceMs} ms for the old pods to finish before migrating`);
  await new Promise((resolve) => setTimeout(resolve, graceMs));
}

function formatStatus(service: string, assessment: Assessment & { blockers: string[] }): string {
  const lines = assessment.entries.map(
    (e) =>
      `  ${e.state.padEnd(16)} ${e.name}${e.phase === 'post-deploy' ? '  (post-deploy: waits for the rollout, then migrate deploy --phase=post-deploy)' : ''}${e.logs ? `\n${' '.repeat(19)}${e.logs.split('\n').join(`\n${' '.repeat(19)}`)}` : ''}`,
  );
  const verdict = assessment.upToDate ? 'up to date' : 'NOT up to date';
  const blocked = assessment.blockers.map((b) => `  blocked: ${b}\n`).join('');
  return `${service}: ${verdict}\n${lines.join('\n')}\n${blocked}`;
}

/** The target of a service in a several-service run: only its own variable counts, never DATABASE_URL. */
function ownTarget(service: ServiceSpec, env: NodeJS.ProcessEnv): MigrateTarget {
  return migrateTarget(service, {}, { ...env, DATABASE_URL: undefined });
}

/** Deploys services wave by wave: a wave starts when every service it depends on is migrated. */
async function deployInOrder(
  services: readonly ServiceSpec[],
  settings: MigrateSettings,
  io: CommandIO,
  given?: MigrateTarget,
) {
  const targets = services.map((s) => (given?.service === s.name ? given : ownTarget(s, io.env)));
  for (const wave of dependencyWaves(services)) {
    await Promise.all(wave.map((s) => deploy(targets[services.indexOf(s)]!, settings, io.log)));
  }
}

async function refuseIfDependenciesBehind(service: ServiceSpec, settings: MigrateSettings, io: CommandIO) {
  const dependencies = withDependencies(service.name).filter((s) => s.name !== service.name);
  const behind: string[] = [];
  for (const dependency of dependencies) {
    if (!(await status(ownTarget(dependency, io.env), settings, io.log)).upToDate) behind.push(dependency.name);
  }
  if (behind.length > 0) {
    throw new MigrationError(
      `${service.name} depends on ${behind.join(', ')}, which ${behind.length > 1 ? 'have' : 'has'} unapplied migrations; ` +
        `migrate ${behind.length > 1 ? 'them' : 'it'} first, or pass --with-deps`,
    );
  }
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
    const waiting = result.waitingForRollout.map((name) => `  waits for the rollout: ${name} (post-deploy)\n`);
    io.out(`${service}: ${result.pending.length} pending migration(s)\n${steps.join('')}${waiting.join('')}`);
    result.blockers.forEach((b) => io.out(`  blocked: ${b}\n`));
  }
  return result.blockers.length ? 1 : 0;
}

/**
 * Runs `webrana-jobs migrate ...`; returns the exit code. A transient failure (nothing recorded) is
 * reported here with its own exit code, so a Job's retry or an operator can tell it from a real failure.
 */
export async function migrateCommand(args: string[], io: CommandIO): Promise<number> {
  try {
    return await runMigrateCommand(args, io);
  } catch (error) {
    if (!(error instanceof TransientMigrationError)) throw error;
    io.log.error({ err: { message: error.message }, exitCode: error.exitCode }, error.message.split('\n')[0]);
    (io.err ?? io.out)(`webrana-jobs: ${error.message}\n`);
    return error.exitCode;
  }
}

async function runMigrateCommand(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  const [command] = positionals;
  if (values.help || !command) {
    io.out(MIGRATE_USAGE);
    return values.help ? 0 : 2;
  }
  const settings: MigrateSettings = {
    ...settingsFrom(values),
    ...(isProduction(io.env) ? { refuseLintErrors: true } : {}),
  };
  if (command === 'lint') return lintCommand(values, settings, io);
  if (command === 'new') return newCommand(values, settings, io);
  if (command === 'deploy' && !values.service && !values['dry-run']) {
    if (values['database-url'])
      throw new UsageError('--database-url needs --service (each service has its own database)');
    await deployInOrder(SERVICES, settings, io);
    return 0;
  }
  const service = requireService(values.service);
  const target = migrateTarget(service, values, io.env);

  switch (command) {
    case 'deploy':
      if (values['dry-run']) return planCommand(service.name, target, settings, values.json, io);
      if (values['with-deps']) {
        await deployInOrder(withDependencies(service.name), settings, io, target);
        return 0;
      }
      if (values['check-deps']) await refuseIfDependenciesBehind(service, settings, io);
      await waitOutRollout(target, settings, rolloutGraceMs(values), io);
      await deploy(target, settings, io.log);
      return 0;
    case 'plan':
      return planCommand(service.name, target, settings, values.json, io);
    case 'status': {
      const assessment = await status(target, settings, io.log);
      if (values.json)
        io.out(
          `${JSON.stringify({ service: service.name, upToDate: assessment.upToDate, migrations: assessment.entries, blockers: assessment.blockers })}\n`,
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

function printFindings(findings: readonly LintFinding[], io: CommandIO) {
  for (const f of findings) io.out(`${formatFinding(f)}\n`);
}

/** `migrate lint`: squawk on the pending migrations (or --all) of one service or of every service. */
async function lintCommand(values: Record<string, unknown>, settings: MigrateSettings, io: CommandIO) {
  const services = values.service ? [requireService(values.service as string)] : SERVICES;
  if (values['database-url'] && !values.service)
    throw new UsageError('--database-url needs --service (each service has its own database)');
  let failed = 0;
  for (const service of services) {
    const dir = (values['migrations-dir'] as string | undefined) ?? migrationsDir(service.name);
    const migrations = values.all
      ? readLocalMigrations(dir)
      : (
          await status(
            values.service
              ? migrateTarget(service, values as { 'database-url'?: string }, io.env)
              : ownTarget(service, io.env),
            settings,
            io.log,
          )
        ).pending;
    const findings = await lintMigrations(migrations, dir);
    const errors = blocking(findings);
    failed += errors.length;
    printFindings(findings, io);
    io.out(
      `${service.name}: ${migrations.length} migration(s) linted, ${errors.length} unallowed error(s), ` +
        `${findings.filter((f) => f.level === 'warning').length} warning(s), ${findings.filter((f) => f.allowed).length} allowed\n`,
    );
  }
  return failed ? 1 : 0;
}

/** The server `migrate new` builds its scratch database on, and how to stop it when we started it. */
async function scratchServer(
  values: Record<string, unknown>,
  io: CommandIO,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const given = (values['shadow-database-url'] as string | undefined) ?? io.env.SHADOW_DATABASE_URL;
  if (given) return { url: given, stop: async () => undefined };
  if (isProduction(io.env))
    throw new UsageError('migrate new in production needs --shadow-database-url=URL or SHADOW_DATABASE_URL');
  // A development dependency, like Prisma 6's CLI: the jobs image does not ship it.
  const { startEmbeddedPostgres } = await import('@webrana/local-postgres');
  const postgres = await startEmbeddedPostgres();
  return { url: postgres.url, stop: postgres.stop };
}

/** `migrate new --name=NAME`: the next migration from Prisma's own differ; applies only with --apply. */
async function newCommand(values: Record<string, unknown>, settings: MigrateSettings, io: CommandIO) {
  const service = requireService(values.service as string | undefined);
  const name = values.name as string | undefined;
  if (!name) throw new UsageError('migrate new needs --name=NAME');
  if (values.apply && values['create-only']) throw new UsageError('--apply and --create-only exclude each other');
  if (values.apply && isProduction(io.env))
    throw new UsageError('migrate new --apply is refused in production: commit the migration and deploy it');
  const dir = (values['migrations-dir'] as string | undefined) ?? migrationsDir(service.name);
  if (!fs.existsSync(dir)) throw new UsageError(`migrations folder not found: ${dir}`);
  // Only --apply needs the service's database; the rest runs on the scratch server.
  const target: MigrateTarget = values.apply
    ? migrateTarget(service, values as { 'database-url'?: string }, io.env)
    : { service: service.name, databaseUrl: '', urlVariable: 'none', migrationsDir: dir };
  const server = await scratchServer(values, io);
  let result;
  try {
    result = await newMigration({ ...target, migrationsDir: dir }, settings, io.log, {
      name,
      scratchServerUrl: server.url,
    });
  } finally {
    await server.stop();
  }
  if (!result.name) {
    io.out(`${service.name}: schema.prisma matches the migrations; nothing changed, nothing written\n`);
    return 0;
  }
  io.out(`${service.name}: wrote ${result.file}\n\n${result.sql}\n`);
  const findings = await lintMigrations(
    readLocalMigrations(dir).filter((m) => m.name === result.name),
    dir,
  );
  printFindings(findings, io);
  io.out(
    findings.length
      ? `lint: ${blocking(findings).length} error(s) (refused by a production deploy unless allowed), ${findings.length - blocking(findings).length} other finding(s)\n`
      : 'lint: no findings\n',
  );
  if (values.apply) await deploy(target, settings, io.log);
  return 0;
}
