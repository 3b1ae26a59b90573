#!/usr/bin/env node
// Benchmark: GET /health/db of a real service (auth-service's compiled main) against the floor, a bare
// node http server answering each request with its own pg pool `SELECT 1`, with wrk, in the same run
// (rounds alternate, medians compared). Target (issue 6), 20 connections on the 2-core box: at least
// 0.5x the floor's requests/s and at most 2x its p99.
//   node bench/health-db.js [--connections=20] [--duration=10] [--rounds=3] [--cache-ms=N]
//   (BENCH_DATABASE_URL: use that server instead of an embedded PostgreSQL; needs `npm run build` first)
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const readline = require('node:readline');
const { parseArgs } = require('node:util');

const REPO_ROOT = path.resolve(__dirname, '..');
const SERVICE_MAIN = path.join(REPO_ROOT, 'services', 'auth-service', 'dist', 'src', 'main.js');

/** The floor: what any /health/db needs at least (HTTP in, one SELECT 1, JSON out), with nothing shared. */
function runFloorServer(port, databaseUrl) {
  const { Pool } = require('pg');
  const pool = new Pool({ connectionString: databaseUrl });
  http
    .createServer((_req, res) => {
      const started = performance.now();
      pool.query('SELECT 1').then(
        () => {
          const body = `{"status":"healthy","database":"connected","latency_ms":${Math.round(performance.now() - started)}}`;
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        },
        () => res.writeHead(503).end(),
      );
    })
    .listen(port, '127.0.0.1', () => console.log('listening'));
}

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a child and waits for a stdout line containing `ready`. */
async function startChild(args, env, ready) {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on('line', (line) => line.includes(ready) && resolve());
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return child;
}

/** wrk's latency figures are "850.00us", "3.30ms" or "1.02s". */
function toMs(text) {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2]];
}

/** Requests/s, p50 and p99 (ms) from wrk --latency output; refuses runs with errors or non-2xx answers. */
function parseWrk(output) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  if (!rps || !p50 || !p99) throw new Error(`unreadable wrk output:\n${output}`);
  if (/Non-2xx|Socket errors/.test(output)) throw new Error(`wrk saw failures:\n${output}`);
  return { rps: Number(rps[1]), p50Ms: toMs(p50[1]), p99Ms: toMs(p99[1]) };
}

function wrk(url, connections, seconds) {
  const threads = String(Math.min(2, connections));
  const args = ['-t', threads, '-c', String(connections), '-d', `${seconds}s`, '--latency', url];
  return parseWrk(execFileSync('wrk', args, { encoding: 'utf8' }));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '20' },
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      'cache-ms': { type: 'string' },
      'floor-server': { type: 'boolean' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values['floor-server']) return runFloorServer(Number(values.port), process.env.BENCH_FLOOR_DATABASE_URL);
  if (values.help) return void console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 7).join('\n'));
  if (!fs.existsSync(SERVICE_MAIN)) throw new Error(`${SERVICE_MAIN} is missing: run npx tsc -b first`);

  const { startEmbeddedPostgres } = require('@webrana/local-postgres');
  const database = process.env.BENCH_DATABASE_URL
    ? { url: process.env.BENCH_DATABASE_URL, stop: async () => undefined }
    : await startEmbeddedPostgres();
  const children = [];
  try {
    const floorPort = await freePort();
    const servicePort = await freePort();
    children.push(
      await startChild(
        [__filename, '--floor-server', `--port=${floorPort}`],
        { BENCH_FLOOR_DATABASE_URL: database.url },
        'listening',
      ),
    );
    const serviceEnv = {
      AUTH_DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(servicePort),
      LOG_LEVEL: 'warn',
    };
    if (values['cache-ms'] !== undefined) serviceEnv.HEALTH_CACHE_MS = values['cache-ms'];
    children.push(await startChild([SERVICE_MAIN], { ...serviceEnv, LOG_LEVEL: 'info' }, '"listening"'));

    const connections = Number(values.connections);
    const seconds = Number(values.duration);
    const targets = {
      floor: `http://127.0.0.1:${floorPort}/`,
      'health/db': `http://127.0.0.1:${servicePort}/health/db`,
    };
    for (const url of Object.values(targets)) wrk(url, connections, 2); // warm up: JIT, pools
    const runs = { floor: [], 'health/db': [] };
    for (let round = 1; round <= Number(values.rounds); round += 1) {
      for (const [name, url] of Object.entries(targets)) {
        const result = wrk(url, connections, seconds);
        runs[name].push(result);
        console.log(
          `round ${round} ${name.padEnd(9)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms`,
        );
      }
    }
    const summary = Object.fromEntries(
      Object.entries(runs).map(([name, results]) => [
        name,
        {
          rps: median(results.map((r) => r.rps)),
          p50Ms: median(results.map((r) => r.p50Ms)),
          p99Ms: median(results.map((r) => r.p99Ms)),
        },
      ]),
    );
    const rpsRatio = summary['health/db'].rps / summary.floor.rps;
    const p99Ratio = summary['health/db'].p99Ms / summary.floor.p99Ms;
    console.log(
      `\nmedians: floor ${summary.floor.rps.toFixed(0)} req/s p99 ${summary.floor.p99Ms.toFixed(2)} ms; ` +
        `/health/db ${summary['health/db'].rps.toFixed(0)} req/s p99 ${summary['health/db'].p99Ms.toFixed(2)} ms`,
    );
    console.log(`requests/s ratio ${rpsRatio.toFixed(2)}x (target >= 0.5x)  ${rpsRatio >= 0.5 ? 'met' : 'NOT met'}`);
    console.log(`p99 ratio        ${p99Ratio.toFixed(2)}x (target <= 2x)    ${p99Ratio <= 2 ? 'met' : 'NOT met'}`);
    const resultsDir = path.join(__dirname, 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    fs.writeFileSync(
      path.join(resultsDir, 'health-db.json'),
      `${JSON.stringify({ at: new Date().toISOString(), connections, seconds, healthCacheMs: serviceEnv.HEALTH_CACHE_MS ?? 'default', runs, summary, rpsRatio, p99Ratio }, null, 2)}\n`,
    );
  } finally {
    children.forEach((child) => child.kill('SIGTERM'));
    await database.stop();
  }
}

main().catch((error) => {
  console.error(`bench/health-db: ${error.message}`);
  process.exit(1);
});
