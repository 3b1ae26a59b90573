import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), 'utf8');

/** The commands of the README's "Set up" block, without their comments. */
function readmeSetUpCommands(): string[] {
  const section = read('README.md')
    .split(/^## /m)
    .find((s) => s.startsWith('Set up'));
  const block = /```bash\n([\s\S]*?)```/.exec(section ?? '')?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

/** Index of the first line of .ci/run (comments dropped) that runs `command`; -1 when none does. */
function ciLineOf(command: RegExp): number {
  return read('.ci/run')
    .split('\n')
    .map((line) => line.replace(/^\s*#.*$/, ''))
    .findIndex((line) => command.test(line));
}

test("the README's set-up commands are the main job and the test suite, each after npm ci", () => {
  expect(readmeSetUpCommands()).toEqual(['npm ci && npm start', 'npm ci && npm test']);
});

test(".ci/run runs the README's set-up commands on its clean clone in order: npm ci, npm start -- --once, npm test", () => {
  const install = ciLineOf(/^npm ci\b/);
  const mainJob = ciLineOf(/\bnpm start -- --once\b/);
  const tests = ciLineOf(/^npm test$/);
  expect(install).toBeGreaterThanOrEqual(0);
  expect(mainJob).toBeGreaterThan(install);
  expect(tests).toBeGreaterThan(mainJob);
});

test('.ci/run fails unless npm start printed four healthy services', () => {
  expect(read('.ci/run')).toMatch(/grep -c '200 \{"status":"healthy"'[\s\S]*== 4 \]\]/);
});

test('npm ci alone builds everything: the root postinstall runs scripts/postinstall.js, which compiles the workspaces', () => {
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  expect(pkg.scripts.postinstall).toBe('node scripts/postinstall.js');
  expect(read('scripts/postinstall.js')).toMatch(/prisma-generate\.js[\s\S]*typescript\/bin\/tsc'[\s\S]*'-b'/);
});
