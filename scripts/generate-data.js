#!/usr/bin/env node
// `node scripts/generate-data.js --service=order --rows=N`: the spec's path to `webrana-jobs
// generate-data` (generated rows for load tests); everything, --help included, lives there.
'use strict';
const path = require('node:path');
const { runCli } = require(path.join(__dirname, '..', 'jobs', 'dist', 'run.js'));

runCli(['generate-data', ...process.argv.slice(2)], {
  env: process.env,
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  program: 'generate-data',
}).then((code) => process.exit(code));
