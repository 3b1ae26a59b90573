// The images for real: scripts/images builds every image from docker/ with buildah (cached by content,
// so a warm run only checks keys), then each one starts in a real container (podman + runc, read-only
// root filesystem, the image's own non-root user, host network to reach the harness's PostgreSQL) and
// does its job. Needs root and apt's buildah, podman, skopeo, runc and mmdebstrap (as .ci/run installs).
import { execFile, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, SERVICES, type ServiceName } from '@webrana/registry';
import { createTestDatabase, freePort, migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';

const run = promisify(execFile);
const IMAGES_SCRIPT = path.join(REPO_ROOT, 'scripts', 'images');
/** The targets of issue 17 (unpacked sizes; the images were 702 MB and 859 MB before). */
const MAX_MB: Record<string, number> = { service: 350, jobs: 400, operator: 350 };
const CONTAINER_FLAGS = [
  '--rm',
  '--pull=never',
  '--runtime=runc', // crun refuses this machine's hybrid cgroups
  '--network=host',
  '--read-only',
  '--ulimit=nofile=20000:20000', // root here lacks CAP_SYS_RESOURCE: podman's default ulimits fail
  '--ulimit=nproc=4096:4096',
];

interface BuiltImage {
  ref: string;
  sizeMb: number;
}
const built = new Map<string, BuiltImage>();

beforeAll(async () => {
  const missing = ['buildah', 'podman', 'skopeo', 'runc', 'mmdebstrap', 'containerd', 'ctr'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0,
  );
  if (missing.length > 0)
    throw new Error(`missing ${missing.join(', ')}: apt-get install buildah podman skopeo runc mmdebstrap containerd`);
  const { stdout } = await run(IMAGES_SCRIPT, ['build', '--quiet'], { cwd: REPO_ROOT, maxBuffer: 1 << 24 });
  for (const line of stdout.trim().split('\n')) {
    const [image, ref, sizeMb] = line.split(' ');
    built.set(image!, { ref: ref!, sizeMb: Number(sizeMb) });
  }
}, 30 * 60_000);

function image(name: string): BuiltImage {
  const found = built.get(name);
  if (!found) throw new Error(`scripts/images build printed no line for ${name}`);
  return found;
}

async function podman(args: string[], timeout = 60_000) {
  return run('podman', args, { timeout, maxBuffer: 1 << 24 });
}

async function imageUser(ref: string): Promise<string> {
  return (await podman(['image', 'inspect', '--format', '{{.Config.User}}', ref])).stdout.trim();
}

async function waitForHttp(url: string, timeoutMs: number): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

const SERVICE_NAMES = SERVICES.map((s) => s.name);

test.each(SERVICE_NAMES)(
  'the %s image answers /health/live and /health/db from a read-only container as its non-root user',
  async (service: ServiceName) => {
    const { ref, sizeMb } = image(service);
    expect(sizeMb).toBeLessThan(MAX_MB.service!);
    expect(await imageUser(ref)).toBe('10001:10001');
    const db: TestDatabase = await migratedTestDatabase(service);
    const port = await freePort();
    const variable = SERVICES.find((s) => s.name === service)!.urlVariable;
    const name = `webrana-test-${service}-${port}`;
    await podman([
      'run',
      '--detach',
      '--name',
      name,
      ...CONTAINER_FLAGS,
      '-e',
      `${variable}=${db.url}`,
      '-e',
      `PORT=${port}`,
      '-e',
      'HOST=127.0.0.1',
      ref,
    ]);
    try {
      const live = await waitForHttp(`http://127.0.0.1:${port}/health/live`, 30_000);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'alive' });
      const health = await fetch(`http://127.0.0.1:${port}/health/db`, { headers: { accept: 'application/json' } });
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'healthy' });
      // The process runs as the image's user, not root.
      const { stdout } = await podman(['top', name, 'user', 'args']);
      expect(stdout).toMatch(/10001\s+node services\/run\.js/);
    } finally {
      await podman(['rm', '--force', '--time', '2', name]).catch(() => undefined);
      await db.drop();
    }
  },
  120_000,
);

test('the jobs image applies migrations with webrana-jobs migrate deploy and carries pg_dump 15', async () => {
  const { ref, sizeMb } = image('jobs');
  expect(sizeMb).toBeLessThan(MAX_MB.jobs!);
  expect(await imageUser(ref)).toBe('10001:10001');
  const db = await createTestDatabase('images_jobs');
  try {
    const deploy = await podman([
      'run',
      ...CONTAINER_FLAGS,
      '-e',
      `AUTH_DATABASE_URL=${db.url}`,
      ref,
      'migrate',
      'deploy',
      '--service=auth-service',
    ]);
    expect(deploy.stdout + deploy.stderr).toContain('auth-service');
    const applied = await withClient(db.url, (c) =>
      c.query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL'),
    );
    const local = fs.readdirSync(path.join(REPO_ROOT, 'services', 'auth-service', 'prisma', 'migrations'), {
      withFileTypes: true,
    });
    expect(Number(applied.rows[0]!.n)).toBe(local.filter((d) => d.isDirectory()).length);
    const { stdout: help } = await podman(['run', ...CONTAINER_FLAGS, ref]);
    expect(help).toContain('usage: webrana-jobs <group> <command>');
    for (const tool of ['pg_dump', 'pg_restore', 'psql']) {
      const { stdout } = await podman(['run', ...CONTAINER_FLAGS, '--entrypoint', tool, ref, '--version']);
      expect(stdout).toMatch(/\(PostgreSQL\) 15\./);
    }
  } finally {
    await db.drop();
  }
}, 120_000);

test('the operator image prints webrana-operator --help and its CRD', async () => {
  const { ref, sizeMb } = image('operator');
  expect(sizeMb).toBeLessThan(MAX_MB.operator!);
  expect(await imageUser(ref)).toBe('10001:10001');
  const help = await podman(['run', ...CONTAINER_FLAGS, ref, '--help']);
  expect(help.stdout).toContain('usage: webrana-operator');
  const crd = await podman(['run', ...CONTAINER_FLAGS, ref, 'crd']);
  expect(crd.stdout).toContain('kind: CustomResourceDefinition');
  expect(crd.stdout).toContain('WebranaDatabase');
}, 60_000);

test('scripts/images load imports an image into a running containerd once, then only tags it (own root, state and socket)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-containerd-'));
  const socket = path.join(dir, 'containerd.sock');
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      // Only the image store is needed here; the real node's CRI also needs restrict_oom_score_adj = true.
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '',
    ].join('\n'),
  );
  const containerd = spawn('containerd', ['--config', path.join(dir, 'config.toml')], {
    stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'log'), 'w')],
  });
  const load = async (...tag: string[]) =>
    (
      await run(IMAGES_SCRIPT, ['load', '--quiet', '--containerd-socket', socket, ...tag, 'operator'], {
        cwd: REPO_ROOT,
      })
    ).stderr;
  /** name -> target digest of the node's images. */
  const images = async () => {
    const { stdout } = await run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'ls']);
    return new Map(
      stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/))
        .map((f) => [f[0]!, f[2]!]),
    );
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(socket)) {
      if (Date.now() > deadline || containerd.exitCode !== null)
        throw new Error(`containerd did not start: ${dir}/log`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await load()).toContain('operator: imported into');
    const digest = (await images()).get('docker.io/webrana/operator:0.1.0');
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    // skaffold's tag for the same build: a second name for the same image, no second import.
    expect(await load('--tag', 'skaffold-1')).toContain(
      'operator: tagged docker.io/webrana/operator:0.1.0 as docker.io/webrana/operator:skaffold-1',
    );
    expect((await images()).get('docker.io/webrana/operator:skaffold-1')).toBe(digest);
    expect(await load()).toContain('operator: docker.io/webrana/operator:0.1.0 already in');
    expect([...(await images()).keys()].sort()).toEqual([
      'docker.io/webrana/operator:0.1.0',
      'docker.io/webrana/operator:skaffold-1',
    ]);
  } finally {
    containerd.kill('SIGTERM');
    await new Promise((resolve) =>
      containerd.exitCode !== null ? resolve(undefined) : containerd.once('exit', resolve),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

/**
 * `scripts/images deps` run in `dir`: the install's tag, and whether deps.log says npm ci's step was taken
 * from the cache.
 */
async function depsInstall(dir: string, cache: string): Promise<{ cached: boolean; ref: string }> {
  const { stdout } = await run(path.join(dir, 'scripts', 'images'), ['deps', '--quiet'], {
    env: { ...process.env, WEBRANA_IMAGES_CACHE: cache },
    maxBuffer: 1 << 24,
  });
  const lines = fs.readFileSync(path.join(cache, 'logs', 'deps.log'), 'utf8').split('\n');
  const install = lines.findIndex((line) => /STEP \d+\/\d+: RUN .*npm ci/.test(line));
  if (install < 0) throw new Error(`no npm ci step in ${cache}/logs/deps.log`);
  return { cached: lines[install + 1]!.startsWith('--> Using cache'), ref: stdout.trim().split('\n').pop()! };
}

test(
  'a source edit reuses the dependency install kept by the last build; a package.json edit reinstalls',
  async () => {
    // A copy of this checkout (edits included) with its own cache directory; the layers are shared.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-images-deps-'));
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-images-deps-cache-'));
    let editedInstall: string | undefined;
    try {
      await run(
        'sh',
        [
          '-c',
          'git ls-files -co --exclude-standard -z | tar --null --ignore-failed-read -T - -cf - | tar -C "$1" -xf -',
          'sh',
          copy,
        ],
        { cwd: REPO_ROOT, maxBuffer: 1 << 24 },
      );
      await run('git', ['init', '--quiet', copy]);
      fs.appendFileSync(path.join(copy, 'services', 'catalog-service', 'src', 'main.ts'), '\n// edited\n');
      expect((await depsInstall(copy, cache)).cached).toBe(true);
      const manifest = path.join(copy, 'services', 'catalog-service', 'package.json');
      const original = fs.readFileSync(manifest, 'utf8');
      // An edit no earlier run made (the layers of an earlier run's edit may still be in the store).
      fs.writeFileSync(manifest, original.replace('{', `{\n  "description": "edited ${randomUUID()}",`));
      const edited = await depsInstall(copy, cache);
      editedInstall = edited.ref;
      expect(edited.cached).toBe(false);
      // Back to this checkout's manifests: the install that the builds use is found again and re-tagged.
      fs.writeFileSync(manifest, original);
      expect((await depsInstall(copy, cache)).cached).toBe(true);
    } finally {
      // The edited install is no use to anyone (about 850 MB): untag it, its layers go with it.
      if (editedInstall) await run('buildah', ['rmi', editedInstall]).catch(() => undefined);
      fs.rmSync(copy, { recursive: true, force: true });
      fs.rmSync(cache, { recursive: true, force: true });
    }
  },
  10 * 60_000,
);

test('the three Dockerfiles share one manifests and deps stage, so one cached install serves every image', () => {
  const depsStages = fs
    .readdirSync(path.join(REPO_ROOT, 'docker'))
    .filter((f) => f.endsWith('.Dockerfile'))
    .map((file) => {
      const text = fs.readFileSync(path.join(REPO_ROOT, 'docker', file), 'utf8');
      const instructions = text.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
      const from = instructions.indexOf('FROM ${NODE_IMAGE} AS manifests');
      const to = instructions.indexOf('FROM deps AS build');
      expect([file, from >= 0 && to > from]).toEqual([file, true]);
      return instructions.slice(from, to + 3).join('\n');
    });
  expect(depsStages).toHaveLength(3);
  expect(new Set(depsStages).size).toBe(1);
  // The install sees the manifests only; the sources come after it.
  expect(depsStages[0]).toMatch(
    /COPY --from=manifests \/manifests\/ \.\/\n(.*\n)*RUN .*npm ci .*\nFROM deps AS build\nCOPY \. \./,
  );
});

test('every Dockerfile keeps the public node:20 bookworm-slim base as the default of its NODE_IMAGE argument', () => {
  for (const file of fs.readdirSync(path.join(REPO_ROOT, 'docker')).filter((f) => f.endsWith('.Dockerfile')))
    expect(fs.readFileSync(path.join(REPO_ROOT, 'docker', file), 'utf8')).toMatch(
      /^ARG NODE_IMAGE=node:20\.\d+-bookworm-slim$/m,
    );
});

test('the build context leaves out dependencies, build output, local data and secrets', () => {
  const ignored = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
  expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.local', '**/.env*', '.git']));
});

test('scripts/images explains itself with --help', async () => {
  const { stdout } = await run(IMAGES_SCRIPT, ['--help']);
  expect(stdout).toContain('Usage: scripts/images build [--load]');
});
