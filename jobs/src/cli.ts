#!/usr/bin/env node
// webrana-jobs: the one entrypoint of the jobs image and of scripts/*.sh.
import { createLogger } from '@webrana/logger';
import { UsageError } from './commands/common';
import { migrateCommand, MIGRATE_USAGE } from './commands/migrate';
import {
  backupCommand,
  BACKUP_USAGE,
  restoreCommand,
  RESTORE_USAGE,
  retentionCommand,
  RETENTION_USAGE,
} from './commands/backup';
import { seedCommand, SEED_USAGE } from './commands/seed';

const USAGE = `usage: webrana-jobs <group> <command> [options]

groups:
  migrate   deploy | status | plan | resolve | reset | check   (webrana-jobs migrate --help)
  seed      idempotent seed of one service, or of all   (webrana-jobs seed --help)
  backup    verified pg_dump with retention             (webrana-jobs backup --help)
  restore   checked restore of a dump                   (webrana-jobs restore --help)
  retention plan: which dumps a keep policy keeps      (webrana-jobs retention --help)

Logs are JSON lines on stdout; reports (status, plan) too when --json is given.
`;

async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  const out = (text: string) => process.stdout.write(text);
  const err = (text: string) => process.stderr.write(text);
  const log = createLogger({ name: 'webrana-jobs', level: process.env.LOG_LEVEL });
  try {
    switch (group) {
      case 'migrate':
        return await migrateCommand(rest, { env: process.env, out, err, log });
      case 'seed':
        return await seedCommand(rest, { env: process.env, out, err, log });
      case 'backup':
        return await backupCommand(rest, { env: process.env, out, err, log });
      case 'restore':
        return await restoreCommand(rest, { env: process.env, out, err, log });
      case 'retention':
        return await retentionCommand(rest, { env: process.env, out, err, log }, process.stdin);
      case undefined:
      case '-h':
      case '--help':
        out(USAGE);
        return group ? 0 : 2;
      default:
        throw new UsageError(`unknown command group "${group}"`);
    }
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      const usage =
        {
          migrate: MIGRATE_USAGE,
          seed: SEED_USAGE,
          backup: BACKUP_USAGE,
          restore: RESTORE_USAGE,
          retention: RETENTION_USAGE,
        }[group ?? ''] ?? USAGE;
      process.stderr.write(`webrana-jobs: ${message}\n\n${usage}`);
      return 2;
    }
    log.error({ err: { message } }, message.split('\n')[0]);
    process.stderr.write(`webrana-jobs: ${message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
