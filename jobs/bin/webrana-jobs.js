#!/usr/bin/env node
// npm links this file as `webrana-jobs` at install time, before the TypeScript is compiled (by the
// root postinstall); the CLI itself is dist/cli.js.
require('../dist/cli.js');
