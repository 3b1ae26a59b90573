import * as fs from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { apply, getJson } from '@webrana/kube-lab';
import { createLogger } from '@webrana/logger';
import type { WebranaDatabase, WebranaDatabaseSpec } from '../src/api/types';
import { Controller } from '../src/runtime/controller';
import { WorkQueue } from '../src/runtime/queue';
import { KubeClient } from '../src/runtime/client';
import { clusterWriter } from '../src/runtime/writer';
import { Reconciler, type ClusterView } from '../src/reconcile';
import { JOBS_IMAGE, condition, getDatabase, useOperatorEnv, webranaDatabase } from './harness';

// The status write's optimistic concurrency against the real apiserver: a writer holding an old
// resourceVersion (a demoted leader, or a cache behind the apiserver) is refused with 409 and never
// overwrites the newer status; it looks again and works from the fresh resource.
const env = useOperatorEnv('operator-status');
const lab = env.lab;
let client: KubeClient;
const codes: { verb: string; resource: string; code: number }[] = [];
const log = createLogger({ name: 'test', level: 'silent' });

beforeAll(async () => {
  client = new KubeClient(await tokenConfig(env.kubeconfig), ({ verb, resource, code }) =>
    codes.push({ verb, resource, code }),
  );
}, 120_000);

afterAll(() => client?.close());

/**
 * The two KubeConfig methods KubeClient uses, from the harness's token kubeconfig (the chart
 * ServiceAccount: the operator's own RBAC). client-node itself is ESM, which jest does not load.
 */
async function tokenConfig(file: string): Promise<KubeConfig> {
  const config = JSON.parse(await fs.readFile(file, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const cluster = config.clusters[0]!.cluster;
  const token = config.users[0]!.user.token;
  const kc = {
    getCurrentCluster: () => ({ server: cluster.server }),
    applyToHTTPSOptions: async (opts: { ca?: Buffer; headers?: Record<string, string> }) => {
      opts.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
      opts.headers = { ...opts.headers, Authorization: `Bearer ${token}` };
    },
  };
  return kc as unknown as KubeConfig;
}

const spec = (...services: string[]): WebranaDatabaseSpec => ({
  image: JOBS_IMAGE,
  services: services.map((name) => ({ name, databaseUrlSecretRef: { name: `${name}-db`, key: 'url' } })),
});

/** The resource as the apiserver has it now (what an informer cache shows once it caught up). */
async function fetchDb(name: string): Promise<WebranaDatabase> {
  const db = await getDatabase(env, name);
  if (!db) throw new Error(`no WebranaDatabase ${name}`);
  return db;
}

/** A reconciler reading whatever snapshot `view.db` holds (the informer cache, as this test sets it). */
function reconcilerOver(instance: string) {
  const state: { db: WebranaDatabase | undefined } = { db: undefined };
  const view: ClusterView = {
    getDatabase: () => state.db,
    jobs: () => [],
    cronJobs: () => [],
    migrationJobStates: () => new Map(),
  };
  const reconciler = new Reconciler({ view, writer: clusterWriter(client), log, instance });
  return { state, reconciler };
}

const jobCount = async () =>
  (await getJson<{ items: unknown[] }>(lab, ['jobs', '-n', env.ns, '-l', 'webrana.cloud/database=stale']))?.items
    .length ?? -1;

test('a status write over a stale resourceVersion is refused with 409 by the apiserver; the reconcile requeues and works from fresh state', async () => {
  // Generation 1 names a service the registry does not know.
  await apply(lab, env.ns, webranaDatabase('stale', spec('auth-service', 'audit-service')));
  const generation1 = await fetchDb('stale');

  // The spec changes (generation 2); the new leader reconciles it and writes its status.
  await apply(lab, env.ns, webranaDatabase('stale', spec('auth-service', 'ledger-service')));
  const leader = reconcilerOver('new-leader');
  leader.state.db = await fetchDb('stale');
  expect(leader.state.db.metadata.generation).toBe(2);
  expect(await leader.reconciler.reconcile(`${env.ns}/stale`)).toMatchObject({ statusWritten: true });
  const written = await fetchDb('stale');
  expect(written.status?.observedGeneration).toBe(2);
  expect(condition(written, 'InvalidSpec')?.message).toContain('"ledger-service" is not a known service');

  // The demoted leader still sees generation 1 (its cache lags, it has not noticed it lost the Lease).
  const demoted = reconcilerOver('demoted-leader');
  const attempts: Awaited<ReturnType<Reconciler['reconcile']>>[] = [];
  const queue = new WorkQueue({ baseDelayMs: 50 });
  const controller = new Controller({
    queue,
    workers: 1,
    log,
    reconciler: {
      reconcile: async (key) => {
        // First from the stale cache, then (requeued) from the resource as the apiserver has it.
        demoted.state.db = attempts.length === 0 ? structuredClone(generation1) : await fetchDb('stale');
        const result = await demoted.reconciler.reconcile(key);
        attempts.push(result);
        return result;
      },
    },
  });
  const before = codes.length;
  controller.start();
  queue.add(`${env.ns}/stale`);
  const deadline = Date.now() + 10_000;
  while (attempts.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await controller.stop(5000);

  expect(attempts[0]).toMatchObject({ statusWritten: false, conflict: true });
  expect(codes.slice(before)).toContainEqual({ verb: 'patch', resource: 'webranadatabases/status', code: 409 });
  // Requeued, it read generation 2 with the new leader's status: nothing to change, nothing written.
  expect(attempts[1]).toMatchObject({ statusWritten: false });
  expect(attempts[1]?.conflict).toBeUndefined();
  const after = await fetchDb('stale');
  expect(after.status).toEqual(written.status);
  expect(after.metadata.resourceVersion).toBe(written.metadata.resourceVersion);

  // From fresh state its writes go through: generation 3 is reported over the current resourceVersion.
  await apply(lab, env.ns, webranaDatabase('stale', spec('catalog-service', 'payroll-service')));
  demoted.state.db = await fetchDb('stale');
  expect(await demoted.reconciler.reconcile(`${env.ns}/stale`)).toMatchObject({ statusWritten: true });
  const fresh = await fetchDb('stale');
  expect(fresh.status?.observedGeneration).toBe(3);
  expect(condition(fresh, 'InvalidSpec')).toMatchObject({
    status: 'True',
    reason: 'UnknownService',
    message:
      'spec.services: "payroll-service" is not a known service; known services: ' +
      'auth-service, billing-service, catalog-service, order-service',
  });
  // An unknown service name never became a Job.
  expect(await jobCount()).toBe(0);
}, 120_000);
