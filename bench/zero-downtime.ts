// Benchmark: what a schema change does to the writes of a busy database. On the generated order
// database (>= 500 MB), several clients insert orders and move them to PAID at a fixed rate (each
// write's latency measured from the moment it was due, so a stalled client's backlog counts); three
// schema changes are applied once with `psql -f` (what `prisma migrate deploy` does: the file as
// written, no lock_timeout) and once with our runner (`webrana-jobs migrate deploy`, NODE_ENV=production
// so the lint gate is on) with the migration written as that gate wants it:
//   (a) CREATE INDEX vs CREATE INDEX CONCURRENTLY;
//   (b) ADD COLUMN ... NOT NULL DEFAULT gen_random_uuid() (a table rewrite) vs expand/contract: nullable
//       column + default, batched backfill, CHECK NOT VALID, VALIDATE, SET NOT NULL;
//   (c) ADD COLUMN while a long transaction holds a lock on the table (the lock-queue outage).
// Per case: the longest write stall and the p99 write latency during the migration, as ratios to the
// load's p99 just before it and to the psql run; medians of per-round ratios, every round listed.
// Target (issue 21): with the runner no write waits longer than the lock timeout + 100 ms.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generate } from '@webrana/datagen';
import { libpqEnv } from '@webrana/db';
import { migrationsDir } from '@webrana/registry';
import { migratedTestDatabase, withClient, type TestDatabase } from '@webrana/testing';
import { Client } from 'pg';
import {
  REPO_ROOT,
  log,
  machine,
  median,
  parseOptions,
  requireBuilt,
  runMain,
  runProcess,
  writeResult,
} from './common';

const USAGE = `usage: node bench/dist/bench/zero-downtime.js [options] [--smoke]

  --orders=N             orders generated into the order database (default 360000: about 600 MB)
  --rounds=N             rounds; each applies every case with psql and with the runner (default 3)
  --clients=N            writing clients (default 4)
  --rate=N               writes per second per client, half new orders, half status changes (default 25)
  --baseline-seconds=N   load measured before each migration: its p99 is that run's baseline (default 3)
  --hold-seconds=N       case (c): how long the long transaction holds its lock (default 5)
  --lock-timeout-ms=N    the runner's migrations declare -- webrana:lock-timeout N ms (default 1000)
  --smoke                200 orders, one round, short windows, results in BENCH_RESULTS_DIR (a check, not a figure)

PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL (a superuser URL), else an embedded one.`;

export interface ZeroDowntimeOptions {
  orders: number;
  rounds: number;
  clients: number;
  rate: number;
  baselineSeconds: number;
  holdSeconds: number;
  lockTimeoutMs: number;
}

const DEFAULTS: ZeroDowntimeOptions = {
  orders: 360_000,
  rounds: 3,
  clients: 4,
  rate: 25,
  baselineSeconds: 3,
  holdSeconds: 5,
  lockTimeoutMs: 1000,
};

export const SMOKE: ZeroDowntimeOptions = {
  orders: 200,
  rounds: 1,
  clients: 2,
  rate: 20,
  baselineSeconds: 0.5,
  holdSeconds: 1.5,
  lockTimeoutMs: 500,
};

/** One way of applying one case, measured once. */
export interface RunMeasure {
  /** p99 write latency in the baseline window just before the migration (ms). */
  baselineP99Ms: number;
  /** How long the migration took, from its start to its end (ms). */
  migrationMs: number;
  /** Writes due or running during the migration. */
  writes: number;
  /** Writes that failed during the migration (an error, not a wait). */
  failedWrites: number;
  /** The longest write latency during the migration (ms): the longest stall. */
  maxStallMs: number;
  p99Ms: number;
  stallRatio: number;
  p99Ratio: number;
}

export interface CaseRound {
  round: number;
  psql: RunMeasure;
  runner: RunMeasure;
  /** runner / psql. */
  stallVsPsql: number;
  p99VsPsql: number;
  targetMet: boolean;
}

export interface CaseResult {
  id: 'index' | 'volatile-default' | 'lock-queue';
  title: string;
  psqlMigration: string;
  runnerMigrations: string[];
  runnerSteps: string;
  rounds: CaseRound[];
  /** Medians of the per-round ratios. */
  median: {
    psqlStallRatio: number;
    psqlP99Ratio: number;
    runnerStallRatio: number;
    runnerP99Ratio: number;
    stallVsPsql: number;
    p99VsPsql: number;
  };
  runnerMaxStallMs: number;
  targetMet: boolean;
}

export interface ZeroDowntimeResult {
  machine: ReturnType<typeof machine>;
  loadAverageAtStart: number[];
  loadAverageAtEnd: number[];
  databaseMB: number;
  options: ZeroDowntimeOptions;
  load: { clients: number; writesPerSecond: number; baselineP99Ms: number; totalWrites: number; failedWrites: number };
  targetMs: number;
  cases: CaseResult[];
  targetMet: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Nearest-rank percentile. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Sample {
  /** When the write was due (performance.now() ms). */
  due: number;
  ms: number;
  failed: boolean;
}

/**
 * Several clients, each writing at a fixed rate on its own connection: a new order (its trigger writes
 * status_history), then that order's move to PAID (another status_history row). A write is due at
 * a fixed time whatever happened before, so a client stuck behind a lock owes its backlog and every
 * write of it counts its full wait (no coordinated omission).
 */
class WriteLoad {
  readonly samples: Sample[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly clients: Client[] = [];
  /** Per client, when its last finished write was due. */
  private readonly lastDue: number[] = [];

  constructor(
    private readonly url: string,
    private readonly count: number,
    private readonly rate: number,
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.count; i += 1) {
      const client = new Client({ connectionString: this.url });
      await client.connect();
      this.clients.push(client);
      this.lastDue.push(0);
    }
    const interval = 1000 / this.rate;
    const t0 = performance.now() + 50;
    this.clients.forEach((client, i) => this.loops.push(this.loop(client, i, t0 + (interval * i) / this.count)));
  }

  private async loop(client: Client, index: number, first: number): Promise<void> {
    const interval = 1000 / this.rate;
    const pending: string[] = [];
    let n = 0;
    for (let due = first; !this.stopped; due += interval, n += 1) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      let failed = false;
      try {
        if (n % 2 === 0 || pending.length === 0) {
          const r = await client.query<{ id: string }>(
            `INSERT INTO orders (order_number, user_id, plan_id, plan_slug, plan_name, cpu_cores, memory_mb, disk_gb,
               image_id, image_slug, billing_period, base_price, final_price)
             VALUES ($1, gen_random_uuid(), gen_random_uuid(), 'basic-1', 'Basic 1', 1, 1024, 25,
               gen_random_uuid(), 'ubuntu-24-04', 'MONTHLY', 60000, 60000) RETURNING id`,
            [`BENCH-${process.pid}-${index}-${n}`],
          );
          pending.push(r.rows[0]!.id);
        } else {
          await client.query(`UPDATE orders SET status = 'PAID', paid_at = now() WHERE id = $1`, [pending.shift()]);
        }
      } catch {
        failed = true;
      }
      this.samples.push({ due, ms: performance.now() - due, failed });
      this.lastDue[index] = due;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
    await Promise.all(this.clients.map((c) => c.end().catch(() => undefined)));
  }

  /**
   * Resolves once every client has finished a write due after this call: the backlog a stall left is
   * paid, so the next baseline window measures the steady load, not the catching up.
   */
  async caughtUp(): Promise<void> {
    const since = performance.now();
    while (this.lastDue.some((due) => due < since)) await sleep(20);
  }

  /** Writes due in [from, to]. */
  dueIn(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.due >= from && s.due <= to);
  }

  /** Writes due or still waiting in [from, to]. */
  overlapping(from: number, to: number): Sample[] {
    return this.samples.filter((s) => s.due <= to && s.due + s.ms >= from);
  }
}

interface Migration {
  slug: string;
  sql: string;
}

interface Case {
  id: CaseResult['id'];
  title: string;
  psql: string;
  /** The runner's migrations, deployed in groups; `between` runs after each group but the last. */
  runner: Migration[][];
  runnerSteps: string;
  between?: (url: string) => Promise<void>;
  /** A session holding a lock on orders for holdSeconds from the start of the migration. */
  holdLock?: boolean;
  /** Undoes the change (outside the measured window). */
  undo: string[];
}

/** Backfills orders.external_ref in batches of 2000 by primary key, each batch its own transaction. */
async function backfill(url: string): Promise<void> {
  await withClient(url, async (c) => {
    let last = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await c.query<{ id: string }>('SELECT id FROM orders WHERE id > $1 ORDER BY id LIMIT 2000', [
        last,
      ]);
      if (rows.length === 0) return;
      await c.query(
        'UPDATE orders SET external_ref = gen_random_uuid() WHERE id = ANY($1::uuid[]) AND external_ref IS NULL',
        [rows.map((r) => r.id)],
      );
      last = rows[rows.length - 1]!.id;
    }
  });
}

function cases(lockTimeoutMs: number): Case[] {
  const lt = `-- webrana:lock-timeout ${lockTimeoutMs}ms\n`;
  return [
    {
      id: 'index',
      title: '(a) an index on orders',
      psql: 'CREATE INDEX "orders_plan_slug_created_at_idx" ON "orders"("plan_slug", "created_at");\n',
      runner: [
        [
          {
            slug: 'orders_plan_slug_idx',
            sql: `${lt}CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_plan_slug_created_at_idx" ON "orders"("plan_slug", "created_at");\n`,
          },
        ],
      ],
      runnerSteps: 'CREATE INDEX CONCURRENTLY (applied statement by statement, outside a transaction)',
      undo: ['DROP INDEX CONCURRENTLY IF EXISTS "orders_plan_slug_created_at_idx"'],
    },
    {
      id: 'lock-queue',
      title: '(c) ADD COLUMN while a long transaction reads orders',
      psql: 'ALTER TABLE "orders" ADD COLUMN "note" TEXT;\n',
      runner: [[{ slug: 'orders_note', sql: `${lt}ALTER TABLE "orders" ADD COLUMN "note" TEXT;\n` }]],
      runnerSteps: 'the same statement; on lock timeout nothing is applied and the runner retries with backoff',
      holdLock: true,
      undo: ['ALTER TABLE "orders" DROP COLUMN IF EXISTS "note"'],
    },
    {
      id: 'volatile-default',
      title: '(b) a NOT NULL column with a volatile default on orders',
      psql: 'ALTER TABLE "orders" ADD COLUMN "external_ref" UUID NOT NULL DEFAULT gen_random_uuid();\n',
      runner: [
        [
          {
            slug: 'orders_external_ref_expand',
            sql:
              `${lt}ALTER TABLE "orders" ADD COLUMN "external_ref" UUID;\n` +
              'ALTER TABLE "orders" ALTER COLUMN "external_ref" SET DEFAULT gen_random_uuid();\n',
          },
        ],
        [
          {
            slug: 'orders_external_ref_check',
            sql:
              `-- webrana:phase post-deploy\n${lt}` +
              'ALTER TABLE "orders" ADD CONSTRAINT "orders_external_ref_not_null" CHECK ("external_ref" IS NOT NULL) NOT VALID;\n',
          },
          {
            slug: 'orders_external_ref_validate',
            sql: `-- webrana:phase post-deploy\n${lt}ALTER TABLE "orders" VALIDATE CONSTRAINT "orders_external_ref_not_null";\n`,
          },
          {
            slug: 'orders_external_ref_not_null',
            sql:
              `-- webrana:phase post-deploy\n${lt}` +
              '-- webrana:allow adding-not-nullable-field: the validated CHECK (external_ref IS NOT NULL) lets PostgreSQL skip the scan\n' +
              'ALTER TABLE "orders" ALTER COLUMN "external_ref" SET NOT NULL;\n' +
              'ALTER TABLE "orders" DROP CONSTRAINT "orders_external_ref_not_null";\n',
          },
        ],
      ],
      runnerSteps:
        'expand (nullable column, then its default), backfill in batches of 2000 rows, then CHECK NOT VALID, VALIDATE, SET NOT NULL: three migrations',
      between: backfill,
      undo: ['ALTER TABLE "orders" DROP COLUMN IF EXISTS "external_ref"', 'VACUUM orders'],
    },
  ];
}

/** The benchmark on the server TEST_DATABASE_URL names; writes zero-downtime.json. */
export async function benchZeroDowntime(options: ZeroDowntimeOptions): Promise<ZeroDowntimeResult> {
  requireBuilt('jobs/dist/cli.js');
  const say = log('bench/zero-downtime');
  const loadAverageAtStart = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-zero-downtime-'));
  let db: TestDatabase | undefined;
  let load: WriteLoad | undefined;
  try {
    db = await migratedTestDatabase('order-service');
    const url = db.url;
    const t0 = Date.now();
    await generate('order', url, options.orders);
    const dbBytes = await withClient(url, async (c) => {
      await c.query('VACUUM ANALYZE');
      await c.query('CHECKPOINT');
      return Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]!.b);
    });
    say(
      `generated ${options.orders} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s: database ${(dbBytes / 1e6).toFixed(0)} MB`,
    );

    // The runner deploys from a copy of the service's migrations (already applied) plus the case's new ones.
    const dir = path.join(work, 'migrations');
    fs.cpSync(migrationsDir('order-service'), dir, { recursive: true });
    let seq = 0;
    const addMigration = (m: Migration): string => {
      seq += 1;
      const name = `2099${String(seq).padStart(10, '0')}_${m.slug}`;
      fs.mkdirSync(path.join(dir, name));
      fs.writeFileSync(path.join(dir, name, 'migration.sql'), m.sql);
      return name;
    };
    const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
    const runnerEnv = {
      ...process.env,
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      ORDER_DATABASE_URL: url,
      DATABASE_URL: undefined,
    };
    const deploy = () =>
      runProcess(
        process.execPath,
        [cli, 'migrate', 'deploy', '--service=order-service', `--migrations-dir=${dir}`],
        runnerEnv,
      );
    const psqlEnv = { ...process.env, ...libpqEnv(url) };

    load = new WriteLoad(url, options.clients, options.rate);
    await load.start();
    const loadRef = load;
    await sleep(1000); // connections warm, plans cached

    const measure = async (c: Case, how: 'psql' | 'runner'): Promise<RunMeasure> => {
      await loadRef.caughtUp();
      const baselineStart = performance.now();
      await sleep(options.baselineSeconds * 1000);
      const start = performance.now();
      let holder: Promise<void> | undefined;
      if (c.holdLock) {
        const session = new Client({ connectionString: url });
        await session.connect();
        await session.query('BEGIN');
        await session.query('SELECT count(*) FROM (SELECT 1 FROM orders LIMIT 1) AS one');
        holder = sleep(options.holdSeconds * 1000).then(async () => {
          await session.query('COMMIT');
          await session.end();
        });
      }
      if (how === 'psql') {
        const file = path.join(work, `${c.id}.sql`);
        fs.writeFileSync(file, c.psql);
        await runProcess('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-f', file], psqlEnv);
      } else {
        for (const [i, group] of c.runner.entries()) {
          group.forEach(addMigration);
          await deploy();
          if (i < c.runner.length - 1) await c.between?.(url);
        }
      }
      const migrationEnd = performance.now();
      await holder;
      const end = performance.now();
      await sleep(300); // the writes that waited finish
      const baseline = loadRef.dueIn(baselineStart, start).filter((s) => !s.failed);
      const during = loadRef.overlapping(start, end);
      const ok = during.filter((s) => !s.failed).map((s) => s.ms);
      const baselineP99Ms = percentile(
        baseline.map((s) => s.ms),
        99,
      );
      const maxStallMs = Math.max(0, ...during.map((s) => s.ms));
      const p99Ms = percentile(ok, 99);
      for (const sql of c.undo) await withClient(url, (cl) => cl.query(sql));
      return {
        baselineP99Ms,
        migrationMs: migrationEnd - start,
        writes: during.length,
        failedWrites: during.filter((s) => s.failed).length,
        maxStallMs,
        p99Ms,
        stallRatio: maxStallMs / baselineP99Ms,
        p99Ratio: p99Ms / baselineP99Ms,
      };
    };

    const targetMs = options.lockTimeoutMs + 100;
    const all = cases(options.lockTimeoutMs);
    const rounds = new Map<string, CaseRound[]>(all.map((c) => [c.id, []]));
    for (let round = 1; round <= options.rounds; round += 1) {
      for (const c of all) {
        // Alternate which goes first, so neither always meets a freshly vacuumed or a bloated table.
        const first = round % 2 === 1 ? 'psql' : 'runner';
        const a = await measure(c, first);
        const b = await measure(c, first === 'psql' ? 'runner' : 'psql');
        const [psql, runner] = first === 'psql' ? [a, b] : [b, a];
        rounds.get(c.id)!.push({
          round,
          psql,
          runner,
          stallVsPsql: runner.maxStallMs / psql.maxStallMs,
          p99VsPsql: runner.p99Ms / psql.p99Ms,
          targetMet: runner.maxStallMs <= targetMs && runner.failedWrites === 0,
        });
        say(
          `round ${round} ${c.id}: longest stall psql ${psql.maxStallMs.toFixed(0)} ms, runner ${runner.maxStallMs.toFixed(0)} ms; ` +
            `p99 psql ${psql.p99Ms.toFixed(1)} ms, runner ${runner.p99Ms.toFixed(1)} ms ` +
            `(baselines ${psql.baselineP99Ms.toFixed(1)} / ${runner.baselineP99Ms.toFixed(1)} ms)`,
        );
      }
    }
    await load.stop();
    const samples = load.samples;
    load = undefined;

    const results: CaseResult[] = all.map((c) => {
      const rs = rounds.get(c.id)!;
      const med = (f: (r: CaseRound) => number) => median(rs.map(f));
      return {
        id: c.id,
        title: c.title,
        psqlMigration: c.psql.trim(),
        runnerMigrations: c.runner.flat().map((m) => m.sql.trim()),
        runnerSteps: c.runnerSteps,
        rounds: rs,
        median: {
          psqlStallRatio: med((r) => r.psql.stallRatio),
          psqlP99Ratio: med((r) => r.psql.p99Ratio),
          runnerStallRatio: med((r) => r.runner.stallRatio),
          runnerP99Ratio: med((r) => r.runner.p99Ratio),
          stallVsPsql: med((r) => r.stallVsPsql),
          p99VsPsql: med((r) => r.p99VsPsql),
        },
        runnerMaxStallMs: Math.max(...rs.map((r) => r.runner.maxStallMs)),
        targetMet: rs.every((r) => r.targetMet),
      };
    });
    const baselines = results.flatMap((c) => c.rounds.flatMap((r) => [r.psql.baselineP99Ms, r.runner.baselineP99Ms]));
    const result: ZeroDowntimeResult = {
      machine: machine(),
      loadAverageAtStart,
      loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100),
      databaseMB: Math.round(dbBytes / 1e6),
      options,
      load: {
        clients: options.clients,
        writesPerSecond: options.clients * options.rate,
        baselineP99Ms: median(baselines),
        totalWrites: samples.length,
        failedWrites: samples.filter((s) => s.failed).length,
      },
      targetMs,
      cases: results,
      targetMet: results.every((c) => c.targetMet),
    };
    writeResult('zero-downtime', result);
    return result;
  } finally {
    await load?.stop().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runMain(
    'bench/zero-downtime',
    () => parseOptions(process.argv.slice(2), USAGE, { ...DEFAULTS }, { ...SMOKE }),
    async (opts) => {
      const { smoke: _smoke, ...options } = opts;
      const r = await benchZeroDowntime(options);
      console.log(JSON.stringify(r, null, 2));
      for (const c of r.cases) {
        console.log(
          `${c.title}: longest stall runner/psql ${c.median.stallVsPsql.toFixed(3)}x, p99 runner/psql ${c.median.p99VsPsql.toFixed(3)}x; ` +
            `runner's longest stall ${c.runnerMaxStallMs.toFixed(0)} ms (target <= ${r.targetMs} ms: ${c.targetMet ? 'met' : 'NOT met'})`,
        );
      }
    },
  );
}
