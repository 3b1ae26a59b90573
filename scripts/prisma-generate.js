#!/usr/bin/env node
// Generates the Prisma 7 client of every service in the registry.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
execFileSync(process.execPath, [tsc, '-b', 'packages/registry'], { cwd: root, stdio: 'inherit' });
const { SERVICES, schemaPath } = require('../packages/registry');

// `prisma generate` only needs the bundled WebAssembly engines, but the CLI still tries to download the
// native schema engine unless told where one is; any existing file satisfies that check.
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath,
};
const prisma = require.resolve('prisma/build/index.js', { paths: [root] });
for (const { name } of SERVICES) {
  execFileSync(process.execPath, [prisma, 'generate', `--schema=${schemaPath(name)}`], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
}
