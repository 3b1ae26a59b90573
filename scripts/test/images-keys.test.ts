// scripts/images keys each image by its own inputs, so an edit rebuilds only the images it can change.
// Checked on a clone of this repository with the working scripts/images, edited file by file.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@webrana/registry';

const run = promisify(execFile);
let clone: string;
let cache: string;

beforeAll(async () => {
  clone = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-image-keys-'));
  await run('git', ['clone', '--quiet', '--local', REPO_ROOT, clone]);
  fs.copyFileSync(path.join(REPO_ROOT, 'scripts', 'images'), path.join(clone, 'scripts', 'images'));
  // Its own cache: the keys command snapshots the context there and builds nothing.
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-image-keys-cache-'));
});

afterAll(() => {
  fs.rmSync(clone, { recursive: true, force: true });
  fs.rmSync(cache, { recursive: true, force: true });
});

async function keys(): Promise<Record<string, string>> {
  const { stdout } = await run(path.join(clone, 'scripts', 'images'), ['keys'], {
    env: { ...process.env, WEBRANA_IMAGES_CACHE: cache },
  });
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

/** The images whose key changes when `file` gets one more line. */
async function rebuiltBy(file: string): Promise<string[]> {
  const before = await keys();
  fs.appendFileSync(path.join(clone, file), '\n// edited\n');
  const after = await keys();
  return Object.keys(before).filter((image) => before[image] !== after[image]);
}

test('the keys of all six images are printed and are stable while nothing changes', async () => {
  const first = await keys();
  expect(Object.keys(first)).toEqual([
    'auth-service',
    'catalog-service',
    'order-service',
    'billing-service',
    'jobs',
    'operator',
  ]);
  expect(await keys()).toEqual(first);
});

test('an edit to the operator rebuilds only the operator image', async () => {
  expect(await rebuiltBy('operator/src/main.ts')).toEqual(['operator']);
});

test('an edit to one service rebuilds that service and the jobs image (which carries its migrations)', async () => {
  expect(await rebuiltBy('services/catalog-service/src/main.ts')).toEqual(['catalog-service', 'jobs']);
});

test('an edit to a package every service uses rebuilds the four services and jobs, not the operator', async () => {
  expect(await rebuiltBy('packages/service-kit/src/index.ts')).toEqual([
    'auth-service',
    'catalog-service',
    'order-service',
    'billing-service',
    'jobs',
  ]);
});

test("an edit to the Dockerfiles' runtime-tree helper rebuilds every image", async () => {
  expect(await rebuiltBy('docker/runtime-tree.js')).toHaveLength(6);
});

test('an edit to the charts, the docs, the benchmarks or the skaffold scripts rebuilds nothing', async () => {
  expect(await rebuiltBy('charts/webrana-service/values.yaml')).toEqual([]);
  expect(await rebuiltBy('README.md')).toEqual([]);
  expect(await rebuiltBy('bench/common.ts')).toEqual([]);
  expect(await rebuiltBy('scripts/skaffold/image')).toEqual([]);
});
