import { useRealNode } from '@webrana/kube-lab';
import { benchOperator } from '../operator';
import { benchOperatorE2e } from '../operator-e2e';
import { REAL_NODE_CLUSTER } from '../operator-lab';
import { render } from '../report';
import { useBenchResultsDir } from './results-dir';

// The operator benchmarks at a tiny scale (2 resources; 1 round), end to end on the real node, so they
// cannot rot. Each installs the operator chart in a namespace of its own (with its own PostgreSQL).
useBenchResultsDir();
const scaleLab = useRealNode('wop-bench');
const e2eLab = useRealNode('wop-e2e');
const BENCH_TIMEOUT_MS = 10 * 60_000;

test(
  'the operator benchmark with 2 resources gets both Ready, counts the API requests at the operator and at the apiserver, and records operator.json',
  async () => {
    const result = await benchOperator(scaleLab, { count: 2, maxActive: 24, workers: 4, timeout: 300 });
    expect(result.resources).toBe(2);
    expect(result.migrationJobs).toBe(8);
    expect(result.reconcileErrors).toBe(0);
    expect(result.apiRequests.operatorCounted.total).toBeGreaterThan(0);
    expect(result.apiRequests.apiserverCounted.writes).toBeGreaterThan(0);
    expect(result.operatorPeakRssMiB).toBeGreaterThan(0);
    expect(result.loadAverageAtStart).toHaveLength(3);
    expect(result.cluster).toBe(REAL_NODE_CLUSTER);
    const report = render();
    expect(report).toContain('## Operator with 2 WebranaDatabase resources');
    expect(report).toContain(REAL_NODE_CLUSTER);
    expect(report).toContain(`load average ${result.loadAverageAtStart.join(' ')} at its start`);
  },
  BENCH_TIMEOUT_MS,
);

test(
  'the end-to-end benchmark at one round migrates four fresh databases with migrate.sh and with the operator, and records the critical path in operator-e2e.json',
  async () => {
    const result = await benchOperatorE2e(e2eLab, { rounds: 1, timeout: 300 });
    expect(result.rounds).toBe(1);
    expect(result.criticalPath.waves.map((w) => w.services)).toEqual([
      ['auth-service', 'catalog-service'],
      ['order-service'],
      ['billing-service'],
    ]);
    expect(result.operatorMedianSeconds).toBeGreaterThan(0);
    expect(result.sequentialMedianSeconds).toBeGreaterThan(0);
    // One round: each ratio is that round's own, and one round cannot disagree with itself.
    const [p] = result.perRound;
    expect(result.ratios.vsHooks.perRound).toEqual([p!.operatorSeconds / p!.hooksSeconds]);
    expect(result.ratios.vsMigrateSh.perRound).toEqual([p!.operatorSeconds / p!.migrateShSeconds]);
    expect(result.ratios.vsHooks.disagree).toBe(false);
    expect(result.ratio).toBe(Number(result.ratios.vsMigrateSh.median.toFixed(3)));
    const report = render();
    expect(report).toContain('## Operator end to end');
    expect(report).toContain('(median of the per-round ratios ');
    expect(report).not.toContain('Old result format');
    expect(report).toContain(REAL_NODE_CLUSTER);
  },
  BENCH_TIMEOUT_MS,
);
