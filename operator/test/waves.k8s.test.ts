import { apply } from '@webrana/kube-lab';
import { adminAccess, watch, type KubeWatched, type WatchEvent } from '../../bench/operator-lab';
import {
  serviceDatabases,
  startOperator,
  useOperatorEnv,
  waitForCondition,
  webranaDatabase,
  type RunningOperator,
} from './harness';

// Issue 22: a dependency wave moves on when its migration pods succeeded, not when the Job controller
// gets round to the Job's Complete condition (it syncs a Job about a second after a pod event). Watches
// timestamp every step to the millisecond (the objects' own timestamps have one-second resolution).
const env = useOperatorEnv('waves');
const lab = env.lab;
let operator: RunningOperator;

beforeAll(async () => {
  operator = startOperator(env, 'operator-0');
  await operator.waitForLog('leading', (e) => e.msg === 'caches started');
}, 120_000);

afterAll(async () => {
  await operator?.stop();
}, 60_000);

const DEPENDS: Record<string, string[]> = {
  'order-service': ['auth-service', 'catalog-service'],
  'billing-service': ['order-service', 'auth-service'],
};

test('a dependent Job is created after its dependencies pods succeeded and, at least once, before their Jobs are Complete (the gap measured)', async () => {
  const { spec, drop } = await serviceDatabases(env, 'waves');
  const access = await adminAccess(lab);
  const seen: Record<string, { created?: number; podSucceeded?: number; complete?: number }> = {};
  const rec = (o: KubeWatched) => (seen[o.metadata.labels?.['webrana.cloud/service'] ?? '?'] ??= {});
  const selector = encodeURIComponent('webrana.cloud/database=waves,app.kubernetes.io/component=migration');
  const watches = await Promise.all([
    watch(access, `/apis/batch/v1/namespaces/${env.ns}/jobs?labelSelector=${selector}`, (e: WatchEvent, at) => {
      if (e.type === 'ERROR') return;
      const r = rec(e.object);
      r.created ??= at;
      if ((e.object.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True'))
        r.complete ??= at;
    }),
    watch(access, `/api/v1/namespaces/${env.ns}/pods?labelSelector=${selector}`, (e: WatchEvent, at) => {
      if (e.type === 'ERROR' || e.type === 'DELETED') return;
      if (e.object.status?.phase === 'Succeeded') rec(e.object).podSucceeded ??= at;
    }),
  ]);
  try {
    await apply(lab, env.ns, webranaDatabase('waves', spec));
    await waitForCondition(env, 'waves', 'Ready', 'True');
    // The Complete conditions come after Ready now: wait for them to measure the gap.
    const deadline = Date.now() + 30_000;
    while (Object.values(seen).filter((s) => s.complete !== undefined).length < 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const w of watches) w.stop();
    await drop();
  }
  const gaps: number[] = [];
  for (const [service, deps] of Object.entries(DEPENDS)) {
    const created = seen[service]!.created!;
    // Never before the dependencies' migrations succeeded (their pods exited 0).
    for (const d of deps) expect([service, d, created >= seen[d]!.podSucceeded!]).toEqual([service, d, true]);
    gaps.push(created - Math.max(...deps.map((d) => seen[d]!.complete!)));
  }
  process.stdout.write(
    `dependent Job created relative to its dependencies' Complete (ms; negative = before): ${gaps.map((g) => g.toFixed(0)).join(', ')}\n`,
  );
  // The Job controller marks a Job Complete 0.3 to 1 s after its pod finished; the operator reacts to
  // the pod within tens of milliseconds, so at least one of the two dependent waves starts first.
  expect(Math.min(...gaps)).toBeLessThan(0);
}, 180_000);
