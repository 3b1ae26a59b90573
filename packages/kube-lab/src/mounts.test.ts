import { hostPathOf, mountLinks, normalizeMountPath, rewritePath } from './mounts';

const root = '/state/pods/u/root/c';
const mounts = ['/data', '/etc/config'];

test.each([
  ['/data', `${root}/data`],
  ['/data/out.txt', `${root}/data/out.txt`],
  ['--dir=/data/backups', `--dir=${root}/data/backups`],
  ['DIR=/etc/config', `DIR=${root}/etc/config`],
  ['/database', '/database'],
  ['/etc/passwd', '/etc/passwd'],
  ['relative/data', 'relative/data'],
  ["require('fs').readFileSync('/data/x')", "require('fs').readFileSync('/data/x')"],
])('rewritePath(%s)', (token, expected) => {
  expect(rewritePath(token, mounts, root)).toBe(expected);
});

test('a mountPath of / rewrites nothing', () => {
  expect(rewritePath('/anything', ['/'], root)).toBe('/anything');
});

test('normalizeMountPath and hostPathOf', () => {
  expect(normalizeMountPath('/data/')).toBe('/data');
  expect(normalizeMountPath('data//x')).toBe('/data/x');
  expect(hostPathOf(root, '/var/run/secrets')).toBe(`${root}/var/run/secrets`);
});

test('mountLinks: parents first, subPath inside the volume, unknown volumes and escaping subPaths refused', () => {
  const dirs = new Map([
    ['a', '/v/a'],
    ['b', '/v/b'],
  ]);
  expect(
    mountLinks(
      [
        { name: 'b', mountPath: '/data/nested', subPath: 'x/y' },
        { name: 'a', mountPath: '/data/' },
      ],
      dirs,
    ),
  ).toEqual([
    { mountPath: '/data', target: '/v/a' },
    { mountPath: '/data/nested', target: '/v/b/x/y' },
  ]);
  expect(() => mountLinks([{ name: 'zzz', mountPath: '/z' }], dirs)).toThrow('names no volume');
  expect(() => mountLinks([{ name: 'a', mountPath: '/z', subPath: '../../etc' }], dirs)).toThrow(
    'relative path inside the volume',
  );
});
