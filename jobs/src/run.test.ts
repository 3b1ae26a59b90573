import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { getService } from '@webrana/registry';
import { UsageError } from './commands/common';
import { resolveTargets } from './commands/generate-data';
import { studioDatabaseUrl } from './commands/studio';
import { runCli, usageMessage } from './run';

/** Runs the CLI in-process with only `env`; answers exit code and what went to stdout and stderr. */
async function cli(argv: string[], env: NodeJS.ProcessEnv = {}, program?: string) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    env: { LOG_LEVEL: 'silent', ...env },
    stdin: Readable.from([]),
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    program,
  });
  return { code, stdout, stderr };
}

describe('one usage error for every command', () => {
  test.each([
    [
      'backup',
      ['backup'],
      'give --dir=PATH, --s3-url=s3://BUCKET/PREFIX (or BACKUP_S3_URL), or both',
      'usage: webrana-jobs backup',
    ],
    ['seed', ['seed', '--bogus'], "Unknown option '--bogus'", 'usage: webrana-jobs seed'],
    ['studio', ['studio'], '--service=NAME is required', 'usage: webrana-jobs studio'],
    [
      'generate-data',
      ['generate-data', '--service=shop'],
      'unknown --service "shop"',
      'usage: webrana-jobs generate-data',
    ],
    [
      'datagen (alias)',
      ['datagen', '--rows=x', '--service=order'],
      '--rows must be a whole number',
      'usage: webrana-jobs generate-data',
    ],
  ])(
    'a bad %s command line exits 2 with the message and that command usage on stderr',
    async (_l, argv, message, usage) => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`webrana-jobs: ${message}`);
      expect(r.stderr).toContain(usage);
      expect(r.stderr).toContain('run with --help for usage');
      expect(r.stdout).toBe('');
    },
  );

  test('a wrapper script names itself in the message', () => {
    expect(usageMessage('studio', '--service=NAME is required', 'usage: x\n')).toBe(
      'studio: --service=NAME is required\n\nusage: x\n\nrun with --help for usage\n',
    );
  });

  test.each(['studio', 'generate-data', 'datagen'])('%s --help prints its usage and exits 0', async (command) => {
    const r = await cli([command, '--help']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^usage: webrana-jobs (studio|generate-data) /);
  });

  test('the top-level usage lists studio and generate-data', async () => {
    const r = await cli(['--help']);
    expect(r.stdout).toMatch(/^\s+studio\s/m);
    expect(r.stdout).toMatch(/^\s+generate-data\s/m);
  });
});

describe('backup without --service backs up every service', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'run-test-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('each service without a URL is reported, none stops the others, and the run exits 1 naming them all', async () => {
    const r = await cli(['backup', `--dir=${dir}`], { DATABASE_URL: 'postgresql://u:pw@127.0.0.1:1/one_for_all' });
    expect(r.code).toBe(1);
    for (const [service, variable] of [
      ['auth-service', 'AUTH_DATABASE_URL'],
      ['catalog-service', 'CATALOG_DATABASE_URL'],
      ['order-service', 'ORDER_DATABASE_URL'],
      ['billing-service', 'BILLING_DATABASE_URL'],
    ]) {
      // DATABASE_URL is one database: a run over all four never uses it.
      expect(r.stderr).toContain(`webrana-jobs: no database URL for ${service}: set ${variable}\n`);
      expect(r.stderr).toContain(`webrana-jobs: backup of ${service} failed (exit 2); continuing with the others`);
    }
    expect(r.stderr).toContain(
      'webrana-jobs: 4 of 4 backups failed: auth-service catalog-service order-service billing-service',
    );
    expect(r.stderr).not.toContain(':pw@');
  });

  test('--database-url without --service is refused before anything runs', async () => {
    const r = await cli(['backup', `--dir=${dir}`, '--database-url=postgresql://u:pw@h/d']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--database-url needs --service (each service has its own database)');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('studio and generate-data read URLs by the one rule', () => {
  test("studio uses the service's variable, then DATABASE_URL, then the local stack", () => {
    const auth = getService('auth-service');
    expect(
      studioDatabaseUrl(auth, { AUTH_DATABASE_URL: 'postgresql://a@h/a', DATABASE_URL: 'postgresql://g@h/g' }),
    ).toEqual({ url: 'postgresql://a@h/a', variable: 'AUTH_DATABASE_URL' });
    expect(studioDatabaseUrl(auth, { DATABASE_URL: 'postgresql://g@h/g' }).variable).toBe('DATABASE_URL');
    expect(studioDatabaseUrl(auth, { LOCAL_PG_PORT: '6000' })).toEqual({
      url: 'postgresql://postgres:postgres@127.0.0.1:6000/webrana_auth',
      variable: 'the `npm start` local stack',
    });
  });

  test('generate-data for all three never reads DATABASE_URL, and for one it does', () => {
    const generic = { DATABASE_URL: 'postgresql://g@h/g' };
    expect(resolveTargets(['order'], undefined, generic)).toEqual([
      { kind: 'order', url: 'postgresql://g@h/g', variable: 'DATABASE_URL' },
    ]);
    expect(() => resolveTargets(['auth', 'order', 'billing'], undefined, generic)).toThrow(
      new UsageError(
        'no database URL for these services: set AUTH_DATABASE_URL, ORDER_DATABASE_URL, BILLING_DATABASE_URL',
      ),
    );
  });
});

test('studio refuses a URL it cannot use with a usage error naming the variable, never the password', async () => {
  const r = await cli(['studio', '--service=auth-service'], { AUTH_DATABASE_URL: 'mysql://u:pw@h/db' });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('webrana-jobs: AUTH_DATABASE_URL must start with postgresql:// (got mysql://)');
  expect(r.stderr).not.toContain(':pw@');
});
