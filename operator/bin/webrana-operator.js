#!/usr/bin/env node
// The operator's entrypoint (image ENTRYPOINT, `npx webrana-operator`); the program is dist/main.js.
require('../dist/main.js');
