// Benchmark: GET /health/db of a real service (auth-service's compiled main) against the floor, a bare
// node http server answering each request with its own pg pool `SELECT 1`, with wrk, in the same run
// (rounds alternate; each ratio is the median of the per-round ratios, rounds listed; the load average at
// the start is recorded). Target (issue 6), 20 connections on the 2-core box: at least 0.5x the floor's
// requests/s and at most 2x its p99.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Pool } from 'pg';
import { freePort } from '@webrana/testing';
import {
  REPO_ROOT,
  loadAverage,
  median,
  parseOptions,
  requireBuilt,
  roundRatios,
  runMain,
  writeResult,
  type BenchPostgres,
  type RoundRatios,
} from './common';

const USAGE = `usage: node bench/dist/bench/health-db.js [--connections=20] [--duration=10] [--rounds=3] [--cache-ms=N] [--smoke]

  --cache-ms=N  the service's HEALTH_CACHE_MS (default: the service's default)
  --smoke       2 connections, 1 s, one round, results in BENCH_RESULTS_DIR (a check, not a figure)

Needs wrk (apt-get install wrk) and compiled workspaces (npx tsc -b).
PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

const SERVICE_MAIN = 'services/auth-service/dist/src/main.js';

/** The floor: what any /health/db needs at least (HTTP in, one SELECT 1, JSON out), with nothing shared. */
function runFloorServer(port: number, databaseUrl: string): void {
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

/** Starts a child and waits for a stdout line containing `ready`. */
async function startChild(args: string[], env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => line.includes(ready) && resolve());
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  return child;
}

/** wrk's latency figures are "850.00us", "3.30ms" or "1.02s". */
function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!match) throw new Error(`unreadable wrk latency "${text}"`);
  return Number(match[1]) * { us: 0.001, ms: 1, s: 1000 }[match[2] as 'us' | 'ms' | 's'];
}

export interface WrkRun {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** What health-db.json holds. */
export interface HealthDbResult {
  at: string;
  /** 1, 5 and 15 minute load averages when the benchmark started. */
  loadAverageAtStart: number[];
  connections: number;
  seconds: number;
  healthCacheMs: string | number;
  /** Each round's wrk figures, in round order. */
  runs: { floor: WrkRun[]; 'health/db': WrkRun[] };
  /** Medians of the rounds' figures (what each side did; not what the ratios are computed from). */
  summary: { floor: WrkRun; 'health/db': WrkRun };
  /** /health/db over the floor, per round: requests/s, p50 and p99. */
  ratios: { rps: RoundRatios; p50: RoundRatios; p99: RoundRatios };
  /** ratios.rps.median and ratios.p99.median. */
  rpsRatio: number;
  p99Ratio: number;
}

/** Requests/s, p50 and p99 (ms) from wrk --latency output; refuses runs with errors or non-2xx answers. */
export function parseWrk(output: string): WrkRun {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  if (!rps || !p50 || !p99) throw new Error(`unreadable wrk output:\n${output}`);
  if (/Non-2xx|Socket errors/.test(output)) throw new Error(`wrk saw failures:\n${output}`);
  return { rps: Number(rps[1]), p50Ms: toMs(p50[1]!), p99Ms: toMs(p99[1]!) };
}

function wrk(url: string, connections: number, seconds: number): WrkRun {
  const threads = String(Math.min(2, connections));
  const args = ['-t', threads, '-c', String(connections), '-d', `${seconds}s`, '--latency', url];
  return parseWrk(execFileSync('wrk', args, { encoding: 'utf8' }));
}

interface HealthOptions {
  connections: number;
  duration: number;
  rounds: number;
  cacheMs: number;
  smoke: boolean;
}

async function bench(opts: HealthOptions, database: BenchPostgres): Promise<void> {
  requireBuilt(SERVICE_MAIN);
  const loadAverageAtStart = loadAverage();
  const children: ChildProcess[] = [];
  try {
    const floorPort = await freePort();
    const servicePort = await freePort();
    children.push(
      await startChild(
        [__filename, '--floor-server', String(floorPort)],
        { BENCH_FLOOR_DATABASE_URL: database.url },
        'listening',
      ),
    );
    const serviceEnv: Record<string, string> = {
      AUTH_DATABASE_URL: database.url,
      HOST: '127.0.0.1',
      PORT: String(servicePort),
      LOG_LEVEL: 'info',
    };
    if (opts.cacheMs >= 0) serviceEnv.HEALTH_CACHE_MS = String(opts.cacheMs);
    children.push(await startChild([path.join(REPO_ROOT, SERVICE_MAIN)], serviceEnv, '"listening"'));

    const { connections, duration: seconds } = opts;
    const targets = {
      floor: `http://127.0.0.1:${floorPort}/`,
      'health/db': `http://127.0.0.1:${servicePort}/health/db`,
    };
    for (const url of Object.values(targets)) wrk(url, connections, opts.smoke ? 1 : 2); // warm up: JIT, pools
    const runs: Record<keyof typeof targets, WrkRun[]> = { floor: [], 'health/db': [] };
    for (let round = 1; round <= opts.rounds; round += 1) {
      for (const [name, url] of Object.entries(targets) as [keyof typeof targets, string][]) {
        const result = wrk(url, connections, seconds);
        runs[name].push(result);
        console.log(
          `round ${round} ${name.padEnd(9)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms.toFixed(2)} ms  p99 ${result.p99Ms.toFixed(2)} ms`,
        );
      }
    }
    const summarize = (results: WrkRun[]): WrkRun => ({
      rps: median(results.map((r) => r.rps)),
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
    });
    const summary = { floor: summarize(runs.floor), 'health/db': summarize(runs['health/db']) };
    const per = (k: keyof WrkRun) => roundRatios(runs['health/db'].map((r, i) => [r[k], runs.floor[i]![k]]));
    const ratios = { rps: per('rps'), p50: per('p50Ms'), p99: per('p99Ms') };
    const rpsRatio = ratios.rps.median;
    const p99Ratio = ratios.p99.median;
    const rounds = (x: RoundRatios) =>
      `${x.perRound.map((v) => v.toFixed(2)).join(', ')}${x.disagree ? ': rounds disagree by more than 2x' : ''}`;
    console.log(
      `\nmedians: floor ${summary.floor.rps.toFixed(0)} req/s p99 ${summary.floor.p99Ms.toFixed(2)} ms; ` +
        `/health/db ${summary['health/db'].rps.toFixed(0)} req/s p99 ${summary['health/db'].p99Ms.toFixed(2)} ms`,
    );
    console.log(
      `requests/s ratio ${rpsRatio.toFixed(2)}x (target >= 0.5x)  ${rpsRatio >= 0.5 ? 'met' : 'NOT met'}; per round ${rounds(ratios.rps)}`,
    );
    console.log(
      `p99 ratio        ${p99Ratio.toFixed(2)}x (target <= 2x)    ${p99Ratio <= 2 ? 'met' : 'NOT met'}; per round ${rounds(ratios.p99)}`,
    );
    const result: HealthDbResult = {
      at: new Date().toISOString(),
      loadAverageAtStart,
      connections,
      seconds,
      healthCacheMs: serviceEnv.HEALTH_CACHE_MS ?? 'default',
      runs,
      summary,
      ratios,
      rpsRatio,
      p99Ratio,
    };
    writeResult('health-db', result);
  } finally {
    children.forEach((child) => child.kill('SIGTERM'));
  }
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  // The floor server is this file run again, so it has a process (and event loop) of its own.
  if (argv[0] === '--floor-server') runFloorServer(Number(argv[1]), process.env.BENCH_FLOOR_DATABASE_URL ?? '');
  else {
    const defaults = { connections: 20, duration: 10, rounds: 3, cacheMs: -1 };
    const smoke = { connections: 2, duration: 1, rounds: 1 };
    runMain('bench/health-db', () => parseOptions(argv, USAGE, defaults, smoke), bench);
  }
}
