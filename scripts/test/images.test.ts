// Keeps the Dockerfiles honest without Docker: each image's entrypoint is run exactly as its
// Dockerfile declares it, from this checkout's build output (WORKDIR /app = the repository root).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, SERVICES } from '@webrana/registry';

interface FinalStage {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  user?: string;
  copiedFromBuild: string[];
}

/** The last stage of a Dockerfile: its ENV (with ARG values substituted), ENTRYPOINT, CMD, USER. */
function finalStage(file: string, args: Record<string, string>): FinalStage {
  const text = fs.readFileSync(file, 'utf8').replace(/\\\n\s*/g, ' ');
  const stages = text.split(/^FROM .*$/m);
  const lines = stages[stages.length - 1]!.split('\n').map((l) => l.trim());
  const stage: FinalStage = { env: {}, entrypoint: [], cmd: [], copiedFromBuild: [] };
  const substitute = (value: string) =>
    value.replace(/\$\{?(\w+)\}?/g, (_m, name: string) => args[name] ?? stage.env[name] ?? process.env[name] ?? '');
  for (const line of lines) {
    const [instruction, ...rest] = line.split(/\s+/);
    const value = rest.join(' ');
    if (instruction === 'ENV') {
      for (const [, key, val] of value.matchAll(/(\w+)=(\S+)/g)) stage.env[key!] = substitute(val!);
    } else if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(value);
    else if (instruction === 'CMD') stage.cmd = JSON.parse(value);
    else if (instruction === 'USER') stage.user = value;
    else if (instruction === 'COPY' && value.startsWith('--from=build'))
      stage.copiedFromBuild.push(value.split(/\s+/)[1]!);
  }
  return stage;
}

/** Runs an image's command in the checkout: /app/... paths map to the repository root. */
function runImageCommand(stage: FinalStage, env: NodeJS.ProcessEnv = {}) {
  const [command, ...args] = [...stage.entrypoint, ...stage.cmd];
  const pathValue = (stage.env.PATH ?? process.env.PATH!).replaceAll('/app', REPO_ROOT);
  return spawnSync(command!, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...stage.env, PATH: pathValue, ...env },
    timeout: 20_000,
  });
}

const DOCKERFILES = fs.readdirSync(path.join(REPO_ROOT, 'docker')).filter((f) => f.endsWith('.Dockerfile'));

test.each(DOCKERFILES)('%s runs as a non-root user and copies only paths that exist', (file) => {
  const stage = finalStage(path.join(REPO_ROOT, 'docker', file), { SERVICE: 'auth-service' });
  expect(stage.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
  for (const source of stage.copiedFromBuild)
    expect(fs.existsSync(path.join(REPO_ROOT, source.replace(/^\/app\/?/, '')))).toBe(true);
});

test.each(SERVICES.map((s) => s.name))('the %s image starts that service as its Dockerfile declares', (service) => {
  const stage = finalStage(path.join(REPO_ROOT, 'docker', 'service.Dockerfile'), { SERVICE: service });
  expect(stage.env.WEBRANA_SERVICE).toBe(service);
  expect(stage.env.NODE_ENV).toBe('production');
  // Without a database URL the service's own main refuses to start and names its own variable.
  const variable = SERVICES.find((s) => s.name === service)!.urlVariable;
  const result = runImageCommand(stage);
  expect(result.stdout).toContain(`invalid configuration for ${service}: ${variable} (or DATABASE_URL) is not set`);
  expect(result.status).toBe(78);
});

test('the jobs image runs webrana-jobs from its PATH, --help by default', () => {
  const stage = finalStage(path.join(REPO_ROOT, 'docker', 'jobs.Dockerfile'), {});
  expect(stage.entrypoint).toEqual(['webrana-jobs']);
  const result = runImageCommand(stage);
  expect(result.stdout).toContain('usage: webrana-jobs <group> <command>');
  expect(result.status).toBe(0);
  const migrate = runImageCommand({ ...stage, cmd: ['migrate', 'deploy', '--help'] });
  expect(migrate.stdout).toContain('usage: webrana-jobs migrate');
});

test('the operator image runs webrana-operator from its PATH', () => {
  const stage = finalStage(path.join(REPO_ROOT, 'docker', 'operator.Dockerfile'), {});
  expect(stage.entrypoint).toEqual(['webrana-operator']);
  const result = runImageCommand({ ...stage, cmd: ['--help'] });
  expect(result.stdout).toContain('usage: webrana-operator');
  expect(result.status).toBe(0);
});

test('the jobs image installs PostgreSQL 15 client tools (pg_dump must match the server major)', () => {
  expect(fs.readFileSync(path.join(REPO_ROOT, 'docker', 'jobs.Dockerfile'), 'utf8')).toMatch(
    /apt-get install -y --no-install-recommends postgresql-client-15/,
  );
});

test('the build context leaves out dependencies, build output, local data and secrets', () => {
  const ignored = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.local', '**/.env*', '.git']));
});
