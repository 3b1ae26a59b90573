// What every benchmark shares: its command line, where results go (smoke runs never touch the real
// ones), PostgreSQL for it, medians and the machine it ran on.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startEmbeddedPostgres } from '@webrana/local-postgres';
import { REPO_ROOT } from '@webrana/registry';
import { withClient } from '@webrana/testing';

export { REPO_ROOT };

/** A wrong command line: reported without a stack trace, exit code 2. */
export class UsageError extends Error {}

/**
 * `--name=value` options into `defaults`' keys (camelCase); booleans are bare flags; --help prints
 * `usage`. `--smoke` (every benchmark has it) replaces the defaults by `smoke`: a tiny run end to end, its
 * results in a temporary folder (useSmokeResultsDir).
 */
export function parseOptions<T extends Record<string, number | boolean>>(
  argv: readonly string[],
  usage: string,
  defaults: T,
  smoke: Partial<T>,
): T & { smoke: boolean } {
  const isSmoke = argv.includes('--smoke');
  if (isSmoke) useSmokeResultsDir();
  const opts: Record<string, number | boolean> = { ...defaults, ...(isSmoke ? smoke : {}), smoke: isSmoke };
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new UsageError(`unexpected argument ${arg} (see --help)`);
    const flag = m[1]!;
    const value = m[2];
    if (flag === 'help') {
      process.stdout.write(`${usage}\n`);
      process.exit(0);
    }
    if (flag === 'smoke') continue;
    const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!Object.hasOwn(defaults, key)) throw new UsageError(`unknown option --${flag} (see --help)`);
    if (typeof defaults[key] === 'boolean') {
      if (value !== undefined) throw new UsageError(`--${flag} takes no value`);
      opts[key] = true;
    } else {
      const n = Number(value);
      if (value === undefined || value === '' || !Number.isFinite(n) || n < 0) {
        throw new UsageError(
          `--${flag} needs a number >= 0, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
        );
      }
      opts[key] = n;
    }
  }
  return opts as T & { smoke: boolean };
}

/** A benchmark's `main().catch(...)`: the message (the stack when unexpected), exit 1 (2: usage). */
export function exitWithError(name: string): (err: unknown) => void {
  return (err) => {
    const usage = err instanceof UsageError;
    const text = err instanceof Error ? (usage ? err.message : (err.stack ?? err.message)) : String(err);
    process.stderr.write(`${name}: ${text}\n`);
    process.exit(usage ? 2 : 1);
  };
}

export const log =
  (name: string) =>
  (msg: string): void => {
    process.stderr.write(`${name}: ${msg}\n`);
  };

/** bench/results, or BENCH_RESULTS_DIR (smoke runs and tests write there, never over real figures). */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? path.join(REPO_ROOT, 'bench', 'results');
}

/** A smoke run's results go to a temporary folder unless BENCH_RESULTS_DIR names one. */
export function useSmokeResultsDir(): void {
  process.env.BENCH_RESULTS_DIR ??= path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-')), 'results');
}

export function writeResult(name: string, result: unknown): string {
  const file = path.join(resultsDir(), `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The middle value (the upper one of an even count): what the benchmarks compare. */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Each round's ratio, their median, and whether the rounds agree well enough for one figure to stand. */
export interface RoundRatios {
  /** numerator / denominator of each round, in round order. */
  perRound: number[];
  /** The median of the per-round ratios (never a ratio of medians); NaN with no rounds. */
  median: number;
  /** The largest per-round ratio is more than 2x the smallest: report the rounds, not one number. */
  disagree: boolean;
}

/**
 * Per-round ratios from [numerator, denominator] pairs measured in the same round (e.g. [ours, baseline]
 * seconds), their median, and whether they disagree by more than 2x.
 */
export function roundRatios(pairs: readonly (readonly [number, number])[]): RoundRatios {
  const perRound = pairs.map(([a, b]) => a / b);
  if (perRound.length === 0) return { perRound, median: NaN, disagree: false };
  return { perRound, median: median(perRound), disagree: Math.max(...perRound) > 2 * Math.min(...perRound) };
}

/** The 1, 5 and 15 minute load averages now (two decimals): the machine is shared, so results record it. */
export const loadAverage = (): number[] => os.loadavg().map((l) => Math.round(l * 100) / 100);

/** Seconds a synchronous step took. */
export function timed(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function machine(): { cores: number; memoryGB: number; node: string } {
  return { cores: os.cpus().length, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

export interface BenchPostgres {
  /** A superuser URL. */
  readonly url: string;
  readonly version: string;
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/**
 * BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded PostgreSQL 15. Sets
 * TEST_DATABASE_URL, so @webrana/testing's databases (and operator/test/harness.ts) work on it.
 */
export async function startPostgres(): Promise<BenchPostgres> {
  const given = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  const server = given ? { url: given, stop: async () => undefined } : await startEmbeddedPostgres();
  process.env.TEST_DATABASE_URL = server.url;
  return { url: server.url, version: await serverVersion(server.url), embedded: !given, stop: () => server.stop() };
}

/** The server's version (SHOW server_version). */
export async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const r = await c.query<{ server_version: string }>('SHOW server_version');
    return r.rows[0]!.server_version;
  });
}

/**
 * A benchmark's command line: options parsed first (so --help and usage errors need no database), then
 * PostgreSQL started around `run` and stopped after it; failures become the exit code.
 */
export function runMain<T>(name: string, parse: () => T, run: (opts: T, pg: BenchPostgres) => Promise<void>): void {
  runCommand(name, parse, async (opts) => {
    const pg = await startPostgres();
    try {
      await run(opts, pg);
    } finally {
      await pg.stop();
    }
  });
}

/**
 * runMain without a PostgreSQL of its own: for the benchmarks on the real node, whose namespaces each
 * come with theirs (openRealNodeNamespace).
 */
export function runCommand<T>(name: string, parse: () => T, run: (opts: T) => Promise<void>): void {
  const go = async () => run(parse());
  go().catch(exitWithError(name));
}

/** The compiled apps a benchmark runs must exist. */
export function requireBuilt(...files: string[]): void {
  for (const f of files) {
    if (!fs.existsSync(path.join(REPO_ROOT, f))) throw new Error(`${f} is missing: run npx tsc -b first`);
  }
}

/** Runs a child process without blocking the event loop; rejects with its stderr unless it exits 0. */
export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} ${args.join(' ')}: exit ${code}: ${stderr}`)),
    );
  });
}
