import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { getService, REPO_ROOT } from '@webrana/registry';
import { withClient } from '@webrana/testing';
import {
  apply,
  describeNamespace,
  getJson,
  helm,
  imageRef,
  kubectl,
  run,
  useRealNode,
  waitFor,
  type ImageName,
} from '../src';
import { databaseAndSecret } from './node-database';
import { derivedImage } from './derived-image';

// Expand/contract on the real node (issue 21 item 3): catalog-service's release N reads
// vps_plans.description through Prisma (GET /plans); release N+1 is built from a schema.prisma
// without that field, and its jobs image carries a post-deploy migration that drops the column.
// `helm upgrade --wait` rolls N+1 out while a client sends steady GET /plans: the pre-upgrade hook
// leaves the drop for later, old pods keep answering during the rollout, and the post-upgrade hook
// drops the column only once no old pod is in the Service. Zero failed requests, column gone.
//
// Why this pair of releases is real: Prisma never sends `SELECT *`; it names every column its
// generated client knows. So "a release that stops reading a column" is exactly a client generated
// from a schema without the field, which is what release N+1 is (prisma generate + tsc, the same steps
// as the image build, on a copy of the schema; only the generated client differs from N).
//
// Why the client runs on the host against the Service's ClusterIP: that path goes through the same
// kube-proxy rules in-cluster clients use, and each request opens its own connection (no keep-alive),
// so every request is load-balanced over the endpoints of that moment, old and new pods alike, as a
// fleet of callers would be; the test process counts every outcome itself.
const lab = useRealNode('expand-contract');

const SERVICE: ImageName = 'catalog-service';
const RELEASE = 'cat';
const DROP = '29991201000000_drop_plan_description';
const DROP_SQL = `-- webrana:phase post-deploy
-- Contract step: release N+1 (schema.prisma without VpsPlan.description) no longer reads the column.
-- webrana:allow ban-drop-column: no release that reads the column runs once the rollout is done (post-deploy)
ALTER TABLE "vps_plans" DROP COLUMN "description";
`;
const report = (line: string) => process.stderr.write(`expand-contract: ${line}\n`);

/**
 * catalog-service's Prisma client generated from its schema.prisma without VpsPlan.description and
 * compiled as the image build compiles it (CommonJS, ES2022): the directory to copy over the image's
 * dist/src/generated/prisma.
 */
async function clientWithoutDescription(dir: string): Promise<string> {
  const schema = fs.readFileSync(path.join(REPO_ROOT, 'services', SERVICE, 'prisma', 'schema.prisma'), 'utf8');
  let inPlan = false;
  const edited = schema
    .split('\n')
    .filter((line) => {
      if (/^model VpsPlan \{/.test(line)) inPlan = true;
      else if (/^\}/.test(line)) inPlan = false;
      return !(inPlan && /^\s+description\s/.test(line));
    })
    .join('\n');
  if (edited === schema) throw new Error('schema.prisma has no VpsPlan.description: the test needs that field');
  fs.mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'prisma', 'schema.prisma'), edited);
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const prisma = require.resolve('prisma/build/index.js', { paths: [REPO_ROOT] });
  const generate = await run(
    process.execPath,
    [prisma, 'generate', `--schema=${path.join(dir, 'prisma', 'schema.prisma')}`],
    {
      env: { ...process.env, CHECKPOINT_DISABLE: '1', PRISMA_SCHEMA_ENGINE_BINARY: process.execPath },
      timeoutMs: 120_000,
    },
  );
  if (generate.code !== 0) throw new Error(`prisma generate failed: ${generate.stderr}`);
  const base = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  const { target, module, moduleResolution, lib, esModuleInterop } = base.compilerOptions;
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        ...{ target, module, moduleResolution, lib, esModuleInterop },
        types: ['node'],
        skipLibCheck: true,
        ignoreDeprecations: '6.0',
        rootDir: 'src/generated/prisma',
        outDir: 'out',
      },
      include: ['src/generated/prisma/**/*.ts'],
    }),
  );
  const tsc = require.resolve('typescript/bin/tsc', { paths: [REPO_ROOT] });
  const compiled = await run(process.execPath, [tsc, '-p', path.join(dir, 'tsconfig.json')], { timeoutMs: 180_000 });
  if (compiled.code !== 0) throw new Error(`tsc of the generated client failed: ${compiled.stdout}${compiled.stderr}`);
  const out = path.join(dir, 'out');
  const classJs = fs.readFileSync(path.join(out, 'internal', 'class.js'), 'utf8');
  if (/description String\?/.test(classJs.slice(0, classJs.indexOf('model VpsImage')))) {
    throw new Error('the regenerated client still knows VpsPlan.description');
  }
  return out;
}

interface Outcome {
  at: number;
  /** ms from sending to the answer (or the error). */
  took: number;
  ok: boolean;
  status?: number;
  /** The answer listed plans with a description field: an old (release N) pod answered. */
  old?: boolean;
  error?: string;
}

/**
 * GET /plans once, on a connection of its own. A request sent to a pod that is gone hangs until TCP gives
 * up (minutes); 15 s tells that apart from a slow answer of a live pod on this loaded 2-core machine.
 */
function getPlans(host: string): Promise<Outcome> {
  const sent = Date.now();
  return new Promise((settle) => {
    const resolve = (o: Omit<Outcome, 'took'>) => settle({ ...o, took: o.at - sent });
    const req = http.get({ host, port: 80, path: '/plans', agent: false, timeout: 15_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        const at = Date.now();
        try {
          const { plans } = JSON.parse(body) as { plans: Record<string, unknown>[] };
          const ok = res.statusCode === 200 && plans.length > 0;
          resolve({ at, ok, status: res.statusCode, old: plans.some((p) => 'description' in p) });
        } catch {
          resolve({ at, ok: false, status: res.statusCode, error: body.slice(0, 200) });
        }
      });
      res.on('error', (e) => resolve({ at: Date.now(), ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', (e) => resolve({ at: Date.now(), ok: false, error: e.message }));
  });
}

/** `clients` loops, each sending one request every `intervalMs` (or right after a slower answer). */
function steadyLoad(host: string, clients: number, intervalMs: number): { stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const started = Date.now();
      outcomes.push(await getPlans(host));
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

async function columnExists(dbUrl: string): Promise<boolean> {
  const r = await withClient(dbUrl, (c) =>
    c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'vps_plans' AND column_name = 'description'"),
  );
  return r.rowCount === 1;
}

/** When the drop migration started and finished, from Prisma's ledger. */
async function dropRow(dbUrl: string): Promise<{ started_at: Date; finished_at: Date | null } | undefined> {
  const row = await withClient(dbUrl, (c) =>
    c.query<{ finished_at: Date | null; started_at: Date }>(
      'SELECT started_at, finished_at FROM _prisma_migrations WHERE migration_name = $1',
      [DROP],
    ),
  );
  return row.rows[0];
}

/**
 * The verdict over one rollout's requests (`from`..`to`: the rollout, ms): none failed, a meaningful
 * number answered during it, both releases answered during it and only N+1 after it, the drop started
 * after the last answer of an old pod, and the column is gone.
 */
async function expectZeroDowntime(what: string, outcomes: Outcome[], from: number, to: number, dbUrl: string) {
  const failed = outcomes.filter((o) => !o.ok);
  const during = outcomes.filter((o) => o.at >= from && o.at <= to);
  const lastOld = Math.max(...outcomes.filter((o) => o.old).map((o) => o.at));
  const dropped = await dropRow(dbUrl);
  report(
    `${what}: ${outcomes.length} requests (${during.length} during the ${((to - from) / 1000).toFixed(1)} s rollout), ` +
      `${failed.length} failed; old pods answered ${during.filter((o) => o.old).length} of those during it; ` +
      `the drop started ${dropped ? ((dropped.started_at.getTime() - lastOld) / 1000).toFixed(1) : '?'} s after the last old answer; ` +
      `slowest answer ${(Math.max(...outcomes.map((o) => o.took)) / 1000).toFixed(1)} s`,
  );
  expect(failed.slice(0, 5)).toEqual([]);
  expect(during.length).toBeGreaterThan(100);
  expect(during.filter((o) => o.old).length).toBeGreaterThan(0);
  expect(during.filter((o) => !o.old).length).toBeGreaterThan(0);
  expect(outcomes.filter((o) => o.at > to).every((o) => !o.old)).toBe(true);
  expect(dropped?.finished_at).toBeInstanceOf(Date);
  expect(dropped!.started_at.getTime()).toBeGreaterThan(lastOld);
  expect(await columnExists(dbUrl)).toBe(false);
}

describe('expand/contract on the real node: a release that stops reading a column, then a post-deploy migration that drops it', () => {
  test('helm upgrade under steady GET /plans: zero failed requests, old pods answer during the rollout, the column is dropped only after them', async () => {
    const db = `webrana_catalog_expand_contract`;
    const dbUrl = new URL(await databaseAndSecret(lab, db, 'webrana-database', getService(SERVICE).urlVariable));
    const chart = path.join(REPO_ROOT, 'charts', 'webrana-service');
    const common = ['-n', lab.ns, '--wait', '--timeout', '4m'];

    // Release N: the images under test; the catalog seed fills vps_plans (descriptions included).
    const install = await helm(
      lab,
      [
        'upgrade',
        '--install',
        RELEASE,
        chart,
        '--set',
        `serviceName=${SERVICE}`,
        ...lab.postgres.networkPolicyFlags(),
        ...common,
      ],
      {
        timeoutMs: 300_000,
        allowFailure: true,
      },
    );
    if (install.code !== 0)
      throw new Error(`helm install failed:\n${install.stderr}\n${await describeNamespace(lab, lab.ns)}`);
    const service = await getJson(lab, ['service', `${RELEASE}-${SERVICE}`, '-n', lab.ns]);
    const clusterIp = (service?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (!clusterIp) throw new Error(`no ClusterIP for service ${RELEASE}-${SERVICE}`);
    const first = await getPlans(clusterIp);
    expect(first).toMatchObject({ ok: true, status: 200, old: true });

    // Release N+1: the service image with the client generated without the field, and the jobs image
    // with the post-deploy migration that drops the column.
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-expand-contract-'));
    const t0 = Date.now();
    try {
      const client = await clientWithoutDescription(path.join(work, 'client'));
      await derivedImage(lab, SERVICE, imageRef(SERVICE), 'without-description', {
        [`${client}/.`]: `/app/services/${SERVICE}/dist/src/generated/prisma/`,
      });
      fs.writeFileSync(path.join(work, 'migration.sql'), DROP_SQL);
      // The jobs image of release N+1 has the same client (its catalog seed runs after the drop) and the
      // migration.
      await derivedImage(lab, 'jobs', imageRef('jobs'), 'drop-description', {
        [`${client}/.`]: `/app/services/${SERVICE}/dist/src/generated/prisma/`,
        [path.join(work, 'migration.sql')]: `/app/services/${SERVICE}/prisma/migrations/${DROP}/migration.sql`,
      });
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    report(`release N+1 images built and imported in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const load = steadyLoad(clusterIp, 4, 100);
    await new Promise((r) => setTimeout(r, 3000));
    const upgradeStarted = Date.now();
    const upgrade = await helm(
      lab,
      [
        'upgrade',
        RELEASE,
        chart,
        '--reuse-values',
        '--set',
        'image.tag=without-description',
        '--set',
        'jobsImage.tag=drop-description',
        ...common,
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    const upgradeSeconds = (Date.now() - upgradeStarted) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    const outcomes = await load.stop();

    if (upgrade.code !== 0) {
      report(`helm upgrade failed; ${outcomes.length} requests, ${outcomes.filter((o) => !o.ok).length} failed`);
      throw new Error(`helm upgrade failed:\n${upgrade.stderr}\n${await describeNamespace(lab, lab.ns)}`);
    }
    await expectZeroDowntime(
      'helm hooks',
      outcomes,
      upgradeStarted,
      upgradeStarted + upgradeSeconds * 1000,
      dbUrl.toString(),
    );
  }, 900_000);
});

describe('the same with the operator: its post-deploy Job waits for the rollout of the Deployment the WebranaDatabase names', () => {
  test('WebranaDatabase image and Deployment image changed together under steady GET /plans: zero failed requests, the drop after the rollout, the column gone', async () => {
    const db = 'webrana_catalog_expand_contract_op';
    await withClient(lab.postgres.url, (c) => c.query(`CREATE DATABASE "${db}"`));
    const dbUrl = new URL(lab.postgres.url);
    dbUrl.pathname = `/${db}`;
    const variable = getService(SERVICE).urlVariable;
    await kubectl(lab, [
      'create',
      'secret',
      'generic',
      'webrana-database-op',
      '-n',
      lab.ns,
      `--from-literal=${variable}=${lab.postgres.podUrl(db)}`,
    ]);
    const common = ['-n', lab.ns, '--wait', '--timeout', '4m'];
    const operator = await helm(
      lab,
      [
        'upgrade',
        '--install',
        'wop',
        path.join(REPO_ROOT, 'charts', 'webrana-operator'),
        '--set',
        `watchNamespace=${lab.ns}`,
        '--set',
        'replicaCount=1',
        '--set',
        'image.pullPolicy=Never',
        ...common,
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    if (operator.code !== 0) throw new Error(`operator install failed:\n${operator.stderr}`);

    const deployment = `opc-${SERVICE}`;
    const resource = (image: string) => ({
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      metadata: { name: 'ec' },
      spec: {
        image,
        imagePullPolicy: 'Never',
        services: [{ name: SERVICE, databaseUrlSecretRef: { name: 'webrana-database-op', key: variable }, deployment }],
      },
    });
    const status = async () =>
      (await getJson(lab, ['webranadatabase', 'ec', '-n', lab.ns])) as unknown as {
        metadata: { generation: number };
        status?: {
          conditions?: { type: string; status: string; observedGeneration: number }[];
          services?: { postDeploy?: { phase: string; job: string; message: string } }[];
        };
      };
    const postDeployDone = (generation: number) =>
      waitFor(
        `PostDeployMigrated True for generation ${generation}`,
        async () => {
          const r = await status();
          const c = r?.status?.conditions?.find((x) => x.type === 'PostDeployMigrated');
          return c?.status === 'True' && c.observedGeneration === generation ? r : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 250, diagnose: () => describeNamespace(lab, lab.ns) },
      );

    // Release N: the operator migrates (pre-deploy), the service chart (hooks off) runs the pods.
    await apply(lab, lab.ns, resource(imageRef('jobs')));
    const chart = path.join(REPO_ROOT, 'charts', 'webrana-service');
    const install = await helm(
      lab,
      [
        'upgrade',
        '--install',
        'opc',
        chart,
        '--set',
        `serviceName=${SERVICE}`,
        '--set',
        'hooks.enabled=false',
        '--set',
        'database.existingSecret=webrana-database-op',
        ...lab.postgres.networkPolicyFlags(),
        ...common,
      ],
      { timeoutMs: 300_000, allowFailure: true },
    );
    if (install.code !== 0)
      throw new Error(`service install failed:\n${install.stderr}\n${await describeNamespace(lab, lab.ns)}`);
    await postDeployDone(1);
    // No seed without hooks: plans of our own, descriptions included.
    await withClient(dbUrl.toString(), (c) =>
      c.query(`INSERT INTO vps_plans (slug, name, description, cpu_cores, memory_mb, disk_gb, do_size_slug)
               VALUES ('a', 'A', 'one core', 1, 1024, 25, 's-1vcpu-1gb'), ('b', 'B', NULL, 2, 2048, 50, 's-2vcpu-2gb')`),
    );
    const service = await getJson(lab, ['service', deployment, '-n', lab.ns]);
    const clusterIp = (service?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (!clusterIp) throw new Error(`no ClusterIP for service ${deployment}`);
    expect(await getPlans(clusterIp)).toMatchObject({ ok: true, old: true });

    // Release N+1 (the images the first test built): the Deployment first, the WebranaDatabase right
    // after its generation moved (one apply, as the umbrella chart does it).
    const load = steadyLoad(clusterIp, 4, 100);
    await new Promise((r) => setTimeout(r, 3000));
    const generationOf = async () =>
      (await getJson<{ metadata: { generation: number } }>(lab, ['deployment', deployment, '-n', lab.ns]))?.metadata
        .generation ?? 0;
    const before = await generationOf();
    const started = Date.now();
    const upgrade = helm(
      lab,
      ['upgrade', 'opc', chart, '--reuse-values', '--set', 'image.tag=without-description', ...common],
      { timeoutMs: 300_000, allowFailure: true },
    );
    await waitFor('the Deployment changed', async () => (await generationOf()) > before, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    await apply(lab, lab.ns, resource('docker.io/webrana/jobs:drop-description'));
    const waited = await waitFor(
      'the post-deploy step waiting for the rollout',
      async () => {
        const p = (await status())?.status?.services?.[0]?.postDeploy;
        return p?.job.endsWith('-g2') && p.phase === 'Waiting' ? p : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
    report(`operator, while the rollout runs: ${waited.message}`);
    const done = await postDeployDone(2);
    const rolled = await upgrade;
    const finished = Date.now();
    await new Promise((r) => setTimeout(r, 3000));
    const outcomes = await load.stop();
    if (rolled.code !== 0) throw new Error(`helm upgrade failed:\n${rolled.stderr}`);
    expect(done.status?.services?.[0]?.postDeploy).toMatchObject({
      phase: 'Succeeded',
      job: `ec-${SERVICE}-postdeploy-g2`,
    });
    // One post-deploy Job for this generation (generation 1's is deleted once generation 2 succeeded).
    const jobs = await getJson<{ items: { metadata: { name: string } }[] }>(lab, [
      'jobs',
      '-n',
      lab.ns,
      '-l',
      'webrana.cloud/migration-phase=post-deploy,webrana.cloud/generation=2',
    ]);
    expect(jobs?.items.map((j) => j.metadata.name)).toEqual([`ec-${SERVICE}-postdeploy-g2`]);
    await expectZeroDowntime('operator', outcomes, started, finished, dbUrl.toString());
  }, 900_000);
});
