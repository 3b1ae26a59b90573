// Layering: packages/* are libraries; jobs, operator and the services are apps over them. An app may
// import any library, a library never imports an app (by package name or by a relative path).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';

interface App {
  name: string;
  dir: string;
}

/** Every workspace outside packages/ is an app: jobs, operator, services/*. */
function apps(): App[] {
  const { workspaces } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  const dirs = workspaces
    .filter((w) => !w.startsWith('packages/'))
    .flatMap((w) =>
      w.endsWith('/*')
        ? fs.readdirSync(path.join(REPO_ROOT, w.slice(0, -2))).map((d) => path.join(w.slice(0, -2), d))
        : [w],
    )
    .filter((d) => fs.existsSync(path.join(REPO_ROOT, d, 'package.json')));
  return dirs.map((d) => ({
    name: (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, d, 'package.json'), 'utf8')) as { name: string }).name,
    dir: path.join(REPO_ROOT, d),
  }));
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;

/** The imports in `text` (a file at `file`) that reach into one of `appList`, as "file: specifier". */
function appImports(file: string, text: string, appList: readonly App[]): string[] {
  const found: string[] = [];
  for (const [, spec] of text.matchAll(SPECIFIER)) {
    const byName = appList.some((a) => spec === a.name || spec!.startsWith(`${a.name}/`));
    const target = spec!.startsWith('.') ? path.resolve(path.dirname(file), spec!) : null;
    const byPath = target !== null && appList.some((a) => target === a.dir || target.startsWith(a.dir + path.sep));
    if (byName || byPath) found.push(`${path.relative(REPO_ROOT, file)}: ${spec}`);
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return ['node_modules', 'dist', 'generated'].includes(e.name) ? [] : sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(e.name) ? [full] : [];
  });
}

const libraries = fs
  .readdirSync(path.join(REPO_ROOT, 'packages'))
  .map((d) => path.join(REPO_ROOT, 'packages', d))
  .filter((d) => fs.existsSync(path.join(d, 'package.json')));

describe('layering: libraries never import apps', () => {
  const appList = apps();

  test('the apps are the workspaces outside packages/: jobs, operator and every service', () => {
    const names = appList.map((a) => a.name);
    expect(names).toEqual(expect.arrayContaining(['@webrana/jobs', '@webrana/operator', '@webrana/auth-service']));
    expect(names.some((n) => n === '@webrana/migrate')).toBe(false);
  });

  test('no source file under packages/*/src imports an app, by package name or relative path', () => {
    const offending = libraries
      .filter((lib) => fs.existsSync(path.join(lib, 'src')))
      .flatMap((lib) => sourceFiles(path.join(lib, 'src')))
      .flatMap((file) => appImports(file, fs.readFileSync(file, 'utf8'), appList));
    expect(offending).toEqual([]);
  });

  test('no library lists an app in its package.json dependencies or its tsconfig references', () => {
    const offending: string[] = [];
    for (const lib of libraries) {
      const pkg = JSON.parse(fs.readFileSync(path.join(lib, 'package.json'), 'utf8')) as Record<string, unknown>;
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const dep of Object.keys((pkg[field] as Record<string, string> | undefined) ?? {})) {
          if (appList.some((a) => a.name === dep))
            offending.push(`${path.relative(REPO_ROOT, lib)}/package.json: ${field} ${dep}`);
        }
      }
      const tsconfig = path.join(lib, 'tsconfig.json');
      if (!fs.existsSync(tsconfig)) continue;
      for (const [, ref] of fs.readFileSync(tsconfig, 'utf8').matchAll(/"path"\s*:\s*"([^"]+)"/g)) {
        const target = path.resolve(lib, ref!);
        if (appList.some((a) => target === a.dir || target.startsWith(a.dir + path.sep)))
          offending.push(`${path.relative(REPO_ROOT, tsconfig)}: reference ${ref}`);
      }
    }
    expect(offending).toEqual([]);
  });

  test('the scan names the file for an app import by package name, subpath, relative path, require and import()', () => {
    const file = path.join(REPO_ROOT, 'packages', 'example', 'src', 'a.ts');
    const text = [
      "import { deploy } from '@webrana/jobs';",
      "import type { X } from '@webrana/operator/src/x';",
      "export * from '../../../jobs/src/seed';",
      "const m = require('../../../operator/src/main');",
      "const s = await import('../../../services/auth-service/src/app');",
      "import '../../../jobs';",
      "import { parseDatabaseUrl } from '@webrana/db';",
      "import { deploy as d } from '@webrana/migrate';",
      "import { helper } from '../../migrate/src/local';",
      "import { jobsThing } from './jobs';",
    ].join('\n');
    expect(appImports(file, text, appList)).toEqual([
      'packages/example/src/a.ts: @webrana/jobs',
      'packages/example/src/a.ts: @webrana/operator/src/x',
      'packages/example/src/a.ts: ../../../jobs/src/seed',
      'packages/example/src/a.ts: ../../../operator/src/main',
      'packages/example/src/a.ts: ../../../services/auth-service/src/app',
      'packages/example/src/a.ts: ../../../jobs',
    ]);
  });
});
