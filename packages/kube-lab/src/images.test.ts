import * as path from 'node:path';
import { parseImageReference, resolveCommand, resolveImage, type ImageTableOptions, type LabImage } from './images';

const repoRoot = '/repo';
const built = new Set([
  path.join(repoRoot, 'jobs', 'dist', 'cli.js'),
  path.join(repoRoot, 'services', 'auth-service', 'dist', 'src', 'main.js'),
]);
const opts: ImageTableOptions = { repoRoot, nodePath: '/opt/node/bin/node', fileExists: (f) => built.has(f) };

function image(reference: string): LabImage {
  const r = resolveImage(reference, opts);
  if (!r.ok) throw new Error(r.message);
  return r.image;
}

describe('parseImageReference', () => {
  test.each([
    ['node', { registry: undefined, repository: 'node', tag: undefined }],
    ['node:20-alpine', { registry: undefined, repository: 'node', tag: '20-alpine' }],
    ['docker.io/library/node:22', { registry: undefined, repository: 'node', tag: '22' }],
    ['ghcr.io/webrana/jobs:1.2.3', { registry: 'ghcr.io', repository: 'webrana/jobs', tag: '1.2.3' }],
    ['localhost:5000/webrana/jobs', { registry: 'localhost:5000', repository: 'webrana/jobs', tag: undefined }],
    [
      'webrana/auth-service@sha256:abcd',
      { registry: undefined, repository: 'webrana/auth-service', digest: 'sha256:abcd' },
    ],
  ])('%s', (ref, expected) => {
    expect(parseImageReference(ref)).toMatchObject(expected);
  });

  test('rejects what is not an image reference', () => {
    expect(parseImageReference('Node:20')).toBeUndefined();
    expect(parseImageReference('')).toBeUndefined();
  });
});

describe('resolveImage', () => {
  test('node and node:<tag> from Docker Hub run the host Node, with sh and bash', () => {
    for (const ref of ['node', 'node:20', 'docker.io/library/node:22-slim']) {
      expect(image(ref)).toMatchObject({
        kind: 'node',
        cmd: ['node'],
        binaries: { node: ['/opt/node/bin/node'], sh: ['/bin/sh'] },
      });
    }
  });

  test('node from another registry is not the official image', () => {
    expect(resolveImage('quay.io/someone/node:20', opts)).toMatchObject({ ok: false, reason: 'ErrImagePull' });
  });

  test('webrana/jobs under any registry runs this checkout’s webrana-jobs', () => {
    expect(image('ghcr.io/webrana/jobs:dev')).toMatchObject({
      kind: 'webrana/jobs',
      entrypoint: ['webrana-jobs'],
      binaries: { 'webrana-jobs': ['/opt/node/bin/node', '/repo/jobs/bin/webrana-jobs.js'] },
    });
  });

  test('a webrana service image runs its built main.js, and fails with a build hint when it is not built', () => {
    expect(image('webrana/auth-service:1').binaries['webrana-auth-service']).toEqual([
      '/opt/node/bin/node',
      '/repo/services/auth-service/dist/src/main.js',
    ]);
    const r = resolveImage('webrana/order-service:1', opts);
    expect(r).toMatchObject({ ok: false, reason: 'ErrImagePull' });
    expect(!r.ok && r.message).toContain('run npx tsc -b');
  });

  test('any other image fails with ErrImagePull naming the image and the table', () => {
    const r = resolveImage('postgres:15', opts);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe('ErrImagePull');
    expect(!r.ok && r.message).toMatch(
      /^kube-lab cannot run image "postgres:15": it is not in the kube-lab image table \(known: node, node:<tag>, webrana\/jobs, webrana\/auth-service/,
    );
    expect(resolveImage('Not An Image', opts)).toMatchObject({ ok: false, reason: 'InvalidImageName' });
  });
});

describe('resolveCommand (command replaces ENTRYPOINT, args replace CMD)', () => {
  const node = image('node:20');
  const jobs = image('webrana/jobs');

  test.each([
    ['command and args', node, ['node', '-e'], ['1'], ['/opt/node/bin/node', '-e', '1']],
    [
      'only args that start with an option go to node (docker-entrypoint.sh)',
      node,
      undefined,
      ['-e', '1'],
      ['/opt/node/bin/node', '-e', '1'],
    ],
    [
      'only args naming an executable of the image run it',
      node,
      undefined,
      ['sh', '-c', 'true'],
      ['/bin/sh', '-c', 'true'],
    ],
    ['only args naming a script go to node', node, undefined, ['app.js'], ['/opt/node/bin/node', 'app.js']],
    ['neither: the image CMD', node, undefined, undefined, ['/opt/node/bin/node']],
    [
      'absolute paths in the usual bin directories',
      node,
      ['/usr/local/bin/node', 'x.js'],
      undefined,
      ['/opt/node/bin/node', 'x.js'],
    ],
    [
      'args after the project entrypoint',
      jobs,
      undefined,
      ['migrate', 'status'],
      ['/opt/node/bin/node', '/repo/jobs/bin/webrana-jobs.js', 'migrate', 'status'],
    ],
  ])('%s', (_name, img, command, args, argv) => {
    expect(resolveCommand(img, command, args)).toMatchObject({ ok: true, argv });
  });

  test("the host part of argv (node and this checkout's entrypoint) is counted, so it is never path-rewritten", () => {
    expect(resolveCommand(jobs, undefined, ['migrate', 'status'])).toMatchObject({ ok: true, hostArgs: 2 });
  });

  test('an executable the image does not provide is a start error', () => {
    const r = resolveCommand(node, ['python3', '-c', '1'], undefined);
    expect(r).toEqual({
      ok: false,
      message: 'exec: "python3": executable file not found in $PATH (kube-lab image node provides: node, sh, bash)',
    });
    expect(resolveCommand(node, ['/opt/evil/node'], undefined).ok).toBe(false);
  });
});
