#!/usr/bin/env node
// The service images' entry point: runs the service named by WEBRANA_SERVICE (set when the image is built).
'use strict';
const path = require('node:path');

const { isServiceName, SERVICE_NAMES } = require('@webrana/registry');

const service = process.env.WEBRANA_SERVICE ?? '';
if (!isServiceName(service)) {
  process.stderr.write(
    `services/run.js: WEBRANA_SERVICE must be one of ${SERVICE_NAMES.join(', ')}; got "${service}"\n`,
  );
  process.exit(78);
}
require(path.join(__dirname, service, 'dist', 'src', 'main.js'));
