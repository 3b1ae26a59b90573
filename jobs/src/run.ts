import { createLogger } from '@webrana/logger';
import { UsageError } from './commands/common';
import { migrateCommand, MIGRATE_USAGE, type CommandIO } from './commands/migrate';
import {
  backupCommand,
  BACKUP_USAGE,
  restoreCommand,
  RESTORE_USAGE,
  retentionCommand,
  RETENTION_USAGE,
} from './commands/backup';
import { verifyCommand, VERIFY_USAGE } from './commands/backup-verify';
import { seedCommand, SEED_USAGE } from './commands/seed';
import { studioCommand, STUDIO_USAGE } from './commands/studio';
import { generateDataCommand, GENERATE_DATA_USAGE } from './commands/generate-data';

export const USAGE = `usage: webrana-jobs <group> <command> [options]

groups:
  migrate        deploy | status | plan | resolve | reset | check   (webrana-jobs migrate --help)
  seed           idempotent seed of one service, or of all   (webrana-jobs seed --help)
  backup         verified pg_dump with retention, of one service or of all   (webrana-jobs backup --help)
                 verify: a restore drill of a dump   (webrana-jobs backup verify --help)
  restore        checked restore of a dump                   (webrana-jobs restore --help)
  retention      plan: which dumps a keep policy keeps      (webrana-jobs retention --help)
  studio         Prisma Studio on one service's database     (webrana-jobs studio --help)
  generate-data  generated rows for load tests (alias datagen)   (webrana-jobs generate-data --help)

Logs are JSON lines on stdout; reports (status, plan) too when --json is given.
Exit codes: 0 done, 1 failed, 2 bad command line (the message and the command's usage on stderr).
`;

const USAGES: Record<string, string> = {
  migrate: MIGRATE_USAGE,
  seed: SEED_USAGE,
  backup: BACKUP_USAGE,
  restore: RESTORE_USAGE,
  retention: RETENTION_USAGE,
  studio: STUDIO_USAGE,
  'generate-data': GENERATE_DATA_USAGE,
  datagen: GENERATE_DATA_USAGE,
};

const PLAIN_OUTPUT = new Set(['studio', 'generate-data', 'datagen']);

/** A usage error or one of node:util parseArgs' own (unknown option, missing value, ...). */
export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || Boolean((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'));
}

/** What every command prints for a bad command line: the problem, then the command's usage. */
export function usageMessage(program: string, message: string, usage: string): string {
  return `${program}: ${message}\n\n${usage}\nrun with --help for usage\n`;
}

export interface CliOptions {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Messages start with this name: webrana-jobs, or a wrapper script's own. */
  program?: string;
}

/** The whole CLI as a function: runs one command and answers its exit code (never exits itself). */
export async function runCli(argv: string[], options: CliOptions): Promise<number> {
  const [group, ...rest] = argv;
  const program = options.program ?? 'webrana-jobs';
  const log = createLogger({ name: 'webrana-jobs', level: options.env.LOG_LEVEL });
  const io: CommandIO = { env: options.env, out: options.stdout, err: options.stderr, log, program };
  try {
    switch (group) {
      case 'migrate':
        return await migrateCommand(rest, io);
      case 'seed':
        return await seedCommand(rest, io);
      case 'backup':
        return rest[0] === 'verify' ? await verifyCommand(rest.slice(1), io) : await backupCommand(rest, io);
      case 'restore':
        return await restoreCommand(rest, io);
      case 'retention':
        return await retentionCommand(rest, io, options.stdin);
      case 'studio':
        return await studioCommand(rest, io);
      case 'generate-data':
      case 'datagen':
        return await generateDataCommand(rest, io);
      case undefined:
      case '-h':
      case '--help':
        options.stdout(USAGE);
        return group ? 0 : 2;
      default:
        throw new UsageError(`unknown command group "${group}"`);
    }
  } catch (error) {
    const message = (error as Error).message;
    if (isUsageError(error)) {
      const usage = group === 'backup' && rest[0] === 'verify' ? VERIFY_USAGE : USAGES[group ?? ''];
      options.stderr(usageMessage(program, message, usage ?? USAGE));
      return 2;
    }
    // studio and generate-data talk to a person only: no JSON log line on their stdout.
    if (!PLAIN_OUTPUT.has(group ?? '')) log.error({ err: { message } }, message.split('\n')[0]);
    options.stderr(`${program}: ${message}\n`);
    return 1;
  }
}
