import * as fs from 'node:fs';
import { SERVICES } from '@webrana/registry';
import { serverUrl } from '@webrana/testing';
import { copyPrismaFolder, runCli } from './helpers';

const INIT = '20261125000000_init/migration.sql';

test.each(SERVICES.map((s) => s.name))(
  'migrate check finds no drift between the migrations and schema.prisma of %s',
  async (service) => {
    const result = await runCli(['migrate', 'check', `--service=${service}`, `--database-url=${serverUrl()}`]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`${service}: migrations match schema.prisma`);
    expect(result.code).toBe(0);
  },
);

test('migrate check catches a missing column, a wrong type, a missing unique index and wrong nullability', async () => {
  const copy = copyPrismaFolder('auth-service');
  try {
    const file = `${copy.migrationsDir}/${INIT}`;
    const broken = fs
      .readFileSync(file, 'utf8')
      .replace('    "last_login_at" TIMESTAMPTZ(3),\n', '')
      .replace('"full_name" VARCHAR(200) NOT NULL', '"full_name" VARCHAR(100) NOT NULL')
      .replace('CREATE UNIQUE INDEX "users_email_key" ON "users"("email");', '')
      .replace('"user_agent" VARCHAR(512),', '"user_agent" VARCHAR(512) NOT NULL,');
    fs.writeFileSync(file, broken);
    const result = await runCli([
      'migrate',
      'check',
      '--service=auth-service',
      `--database-url=${serverUrl()}`,
      `--migrations-dir=${copy.migrationsDir}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout.split('\n').filter((l) => l.startsWith('- '))).toEqual([
      '- column refresh_tokens.user_agent nullability: migrations give NOT NULL; schema.prisma says NULL',
      '- column users.full_name type: migrations give character varying(100); schema.prisma says character varying(200)',
      '- column users.last_login_at default: in schema.prisma ((none)) but not built by the migrations',
      '- column users.last_login_at nullability: in schema.prisma (NULL) but not built by the migrations',
      '- column users.last_login_at type: in schema.prisma (timestamp(3) with time zone) but not built by the migrations',
      '- index users_email_key: in schema.prisma (CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)) but not built by the migrations',
    ]);
  } finally {
    copy.remove();
  }
});
