#!/usr/bin/env node
// `npm run studio -- --service=NAME`: the spec's path to `webrana-jobs studio` (Prisma Studio on one
// service's database); everything, --help included, lives there.
'use strict';
const path = require('node:path');
const { runCli } = require(path.join(__dirname, '..', 'jobs', 'dist', 'run.js'));

runCli(['studio', ...process.argv.slice(2)], {
  env: process.env,
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  program: 'studio',
}).then((code) => process.exit(code));
