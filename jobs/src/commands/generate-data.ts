// `webrana-jobs generate-data --service=order --rows=N`: fills a migrated service database with
// generated data (users; orders with items, provisioning tasks and status history; invoices with
// payments) through @webrana/datagen, for load tests. One transaction per batch; rows are numbered
// (user N, order WBR-00000000N, invoice INV-00000000N), so a run can be appended with --first.
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { generate, MAX_ROW_NUMBER, type GeneratedService } from '@webrana/datagen';
import {
  DatabaseUrlError,
  findDatabaseUrl,
  parseDatabaseUrl,
  redactUrl,
  urlVariables,
  type UrlSource,
} from '@webrana/db';
import { getService } from '@webrana/registry';
import { isProduction, UsageError } from './common';
import type { CommandIO } from './migrate';
import { redactor, secretsOf } from './studio';

type Kind = GeneratedService;

/** Uses the unique index on the padded number: the range check reads only the rows in range. */
function numbered(table: string, column: string, prefix: string): string {
  const pad = (p: string) => `'${prefix}' || lpad(${p}::text, 9, '0')`;
  return `SELECT (SELECT count(*) FROM ${table} WHERE ${column} BETWEEN ${pad('$1')} AND ${pad('$2')}) AS clash,
                 (SELECT substr(${column}, ${prefix.length + 1})::bigint FROM ${table}
                  WHERE ${column} BETWEEN '${prefix}000000000' AND '${prefix}999999999' AND ${column} ~ '^${prefix}[0-9]{9}$'
                  ORDER BY ${column} DESC LIMIT 1) AS top`;
}

/** What each generator writes, and how to find the numbers already generated in its main table. */
const KINDS: Record<Kind, { service: string; table: string; what: string; taken: string }> = {
  auth: {
    service: 'auth-service',
    table: 'users',
    what: 'users',
    // user N is user<N>@pelanggan.webrana.test (no index on the number: one scan of users)
    taken: `SELECT count(*) FILTER (WHERE n BETWEEN $1 AND $2) AS clash, max(n) AS top
            FROM (SELECT substring(email FROM '^user([0-9]+)@pelanggan\\.webrana\\.test$')::bigint AS n FROM users) s
            WHERE n IS NOT NULL`,
  },
  order: {
    service: 'order-service',
    table: 'orders',
    what: 'orders (with items, provisioning tasks and status history)',
    taken: numbered('orders', 'order_number', 'WBR-'),
  },
  billing: {
    service: 'billing-service',
    table: 'invoices',
    what: 'invoices (with payments)',
    taken: numbered('invoices', 'invoice_number', 'INV-'),
  },
};
const ALL: Kind[] = ['auth', 'order', 'billing'];
const DEFAULT_ROWS = 1000;
const DEFAULT_BATCH = 50_000;

export const GENERATE_DATA_USAGE = `usage: webrana-jobs generate-data --service=auth|order|billing|all [--rows=N] [--first=N|next] [--batch=N]
                                  [--database-url=URL] [--force]
       node scripts/generate-data.js ...   (the same command; webrana-jobs datagen is another name)

Appends generated rows to a migrated service database, for load tests and benchmarks:
  auth     users (Indonesian, accented, CJK and emoji names; active, pending_verification, suspended)
  order    orders with their item, provisioning task and status history (through the status trigger)
  billing  invoices with their Tripay payment (paid or expired)
  all      the three above, each into its own database (order N belongs to user N; invoice N to order N)

  --service=NAME      auth, order, billing (or auth-service, ...) or all
  --rows=N            rows to add per service (default ${DEFAULT_ROWS}): users, orders or invoices
  --first=N           number of the first row (default 1); --first=next starts after the highest one there
  --batch=N           rows per transaction (default ${DEFAULT_BATCH}); a failed batch leaves none of its rows
  --database-url=URL  the database to fill (one service only)
  --force             run even with NODE_ENV=production (this writes fake customers)
  -h, --help          this text

Database URL: --database-url, else the service's variable (AUTH_DATABASE_URL, ORDER_DATABASE_URL,
BILLING_DATABASE_URL), else DATABASE_URL (one service only). The database must be migrated first
(scripts/migrate.sh). The password is never printed. Exit codes: 0 done, 1 failed, 2 bad usage.
`;

function integerOption(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > MAX_ROW_NUMBER) {
    throw new UsageError(
      `--${name} must be a whole number from ${min} to ${MAX_ROW_NUMBER}, got "${raw}" (e.g. --${name}=${fallback})`,
    );
  }
  return Number(raw);
}

export function kindsOf(raw: string | undefined): Kind[] {
  if (raw === undefined) throw new UsageError('--service is required: --service=auth, order, billing or all');
  const name = raw.replace(/-service$/, '');
  if (name === 'all') return ALL;
  if (name in KINDS) return [name as Kind];
  if (name === 'catalog') {
    throw new UsageError(
      'catalog has no generated data: its plans, images and coupons come from the seed (scripts/seed.sh --service=catalog-service); use --service=auth, order, billing or all',
    );
  }
  throw new UsageError(`unknown --service "${raw}"; use auth, order, billing or all`);
}

interface Target extends UrlSource {
  kind: Kind;
}

/** Where each service's URL comes from (@webrana/db's rule; DATABASE_URL for one service only); never a default. */
export function resolveTargets(kinds: Kind[], flag: string | undefined, env: NodeJS.ProcessEnv): Target[] {
  const owners = kinds.map((kind) => getService(KINDS[kind].service));
  if (flag !== undefined && kinds.length > 1) {
    throw new UsageError(
      `--database-url names one database, but --service=all fills three: set ${owners.map((s) => s.urlVariable).join(', ')} instead`,
    );
  }
  const single = kinds.length === 1;
  const found = owners.map((owner) => findDatabaseUrl(owner, { flag, env, generic: single }));
  const missing = owners.filter((_, i) => !found[i]);
  if (missing.length > 0) {
    const how = single
      ? `set ${urlVariables(missing[0]!)} or pass --database-url=URL`
      : `set ${missing.map((s) => s.urlVariable).join(', ')}`;
    throw new UsageError(`no database URL for ${missing.length === 1 ? 'the service' : 'these services'}: ${how}`);
  }
  return kinds.map((kind, i) => {
    const source = found[i]!;
    try {
      parseDatabaseUrl(source.url, source.variable);
    } catch (error) {
      if (error instanceof DatabaseUrlError) throw new UsageError(error.message);
      throw error;
    }
    return { kind, ...source };
  });
}

/** Checks before writing anything: reachable, migrated, and the numbers asked for still free. */
async function plan(target: Target, first: number | 'next', rows: number): Promise<Target & { first: number }> {
  const spec = KINDS[target.kind];
  const where = `${redactUrl(target.url)} (from ${target.variable})`;
  const client = new Client({
    ...parseDatabaseUrl(target.url, target.variable).pool,
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot connect to ${where}: ${(error as Error).message}`);
  }
  try {
    const table = (await client.query(`SELECT to_regclass($1) AS t`, [spec.table])).rows[0].t;
    if (table === null) {
      throw new Error(
        `${where} has no ${spec.table} table: migrate it first (scripts/migrate.sh --service=${spec.service})`,
      );
    }
    const probeFirst = first === 'next' ? 1 : first;
    const r = (await client.query(spec.taken, [probeFirst, probeFirst + rows - 1])).rows[0];
    const next = r.top === null ? 1 : Number(r.top) + 1;
    const start = first === 'next' ? next : first;
    if (first !== 'next' && Number(r.clash) > 0) {
      throw new UsageError(
        `${where} already has generated ${spec.table} numbered in ${first}..${first + rows - 1}: pass --first=${next} (or --first=next) to append after them`,
      );
    }
    if (start + rows - 1 > MAX_ROW_NUMBER) {
      throw new UsageError(
        `rows ${start}..${start + rows - 1} go past ${MAX_ROW_NUMBER}, the highest number the generator writes`,
      );
    }
    return { ...target, first: start };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** The numbers in first..last that are there now (after a failure: what earlier batches committed). */
async function committed(target: Target, first: number, last: number): Promise<number> {
  const client = new Client(parseDatabaseUrl(target.url, target.variable).pool);
  await client.connect();
  try {
    return Number((await client.query(KINDS[target.kind].taken, [first, last])).rows[0].clash);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What a failed run says about the rows it kept, so the next run can resume after them. */
function resumeHint(kept: number | undefined, first: number, rows: number): string {
  if (kept === undefined) return '';
  if (kept === 0) return '; nothing of this run was kept';
  return `; the ${fmt(kept)} rows of earlier batches (${first}..${first + kept - 1}) stay: resume with --first=${first + kept} --rows=${rows - kept}`;
}

async function run(target: Target & { first: number }, rows: number, batch: number, io: CommandIO): Promise<void> {
  const spec = KINDS[target.kind];
  const last = target.first + rows - 1;
  const err = io.err ?? io.out;
  io.out(
    `${target.kind}: adding ${fmt(rows)} ${spec.what} numbered ${target.first}..${last} to ${redactUrl(target.url)}\n`,
  );
  // generate() per chunk of whole batches: the same transactions as one call, plus progress about every 5 %.
  const chunk = batch * Math.max(1, Math.ceil(rows / 20 / batch));
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < rows; done += chunk) {
    const n = Math.min(chunk, rows - done);
    try {
      await generate(target.kind, target.url, n, { first: target.first + done, batch });
    } catch (error) {
      const kept = await committed(target, target.first, last).catch(() => undefined);
      const e = error as Error;
      e.message = `${target.kind}: ${e.message} (the failed batch of up to ${fmt(batch)} rows was rolled back${resumeHint(kept, target.first, rows)})`;
      throw e;
    }
    if (done + n < rows)
      err(`${target.kind}: ${fmt(done + n)}/${fmt(rows)} (${(((done + n) / rows) * 100).toFixed(0)} %)\n`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  io.out(
    `${target.kind}: ${fmt(rows)} ${spec.table} in ${seconds.toFixed(2)} s (${fmt(rows / seconds)} rows/s); next free number ${last + 1}\n`,
  );
}

export async function generateDataCommand(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      service: { type: 'string' },
      rows: { type: 'string' },
      first: { type: 'string' },
      batch: { type: 'string' },
      'database-url': { type: 'string' },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return (io.out(GENERATE_DATA_USAGE), 0);
  const kinds = kindsOf(values.service);
  const rows = integerOption('rows', values.rows, DEFAULT_ROWS, 1);
  const first = values.first === 'next' ? 'next' : integerOption('first', values.first, 1, 1);
  const batch = integerOption('batch', values.batch, DEFAULT_BATCH, 1);
  if (isProduction(io.env) && !values.force) {
    throw new UsageError(
      `refusing to write generated (fake) customers with ${io.env.NODE_ENV === 'production' ? 'NODE_ENV' : 'WEBRANA_ENV'}=production; pass --force if this really is a load-test database`,
    );
  }
  const targets = resolveTargets(kinds, values['database-url'], io.env);
  const redact = redactor(targets.flatMap((t) => secretsOf(t.url)));
  try {
    // Check every database before writing to any.
    const planned = [];
    for (const t of targets) planned.push(await plan(t, first, rows));
    for (const t of planned) await run(t, rows, batch, io);
  } catch (error) {
    (error as Error).message = redact((error as Error).message);
    throw error;
  }
  return 0;
}
