#!/usr/bin/env node
// webrana-jobs: the one entrypoint of the jobs image and of scripts/*.sh and scripts/*.js.
import { runCli } from './run';

runCli(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // A wrapper script (scripts/backup.sh) names itself in the messages it passes on.
  program: process.env.WEBRANA_JOBS_PROGRAM || 'webrana-jobs',
}).then((code) => {
  process.exitCode = code;
});
