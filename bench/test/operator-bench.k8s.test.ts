import { KUBE_LAB_START_TIMEOUT_MS, startKubeLab } from '@webrana/kube-lab';
import { benchOperator } from '../operator';
import { benchOperatorE2e } from '../operator-e2e';
import { render } from '../report';
import { useBenchResultsDir } from './results-dir';

// The kube-lab benchmarks at a tiny scale (2 resources; 1 round), end to end, so they cannot rot.
useBenchResultsDir();

test(
  'the operator benchmark with 2 resources gets both Ready, counts the API requests at the operator and at the apiserver, and records operator.json',
  async () => {
    const lab = await startKubeLab();
    const result = await benchOperator(lab, { count: 2, maxActive: 24, workers: 4, timeout: 300, keep: false });
    expect(result.resources).toBe(2);
    expect(result.migrationJobs).toBe(8);
    expect(result.reconcileErrors).toBe(0);
    expect(result.apiRequests.operatorCounted.total).toBeGreaterThan(0);
    expect(result.apiRequests.apiserverCounted.writes).toBeGreaterThan(0);
    expect(result.operatorPeakRssMiB).toBeGreaterThan(0);
    expect(render()).toContain('## Operator with 2 WebranaDatabase resources');
  },
  KUBE_LAB_START_TIMEOUT_MS,
);

test(
  'the end-to-end benchmark at one round migrates four fresh databases with migrate.sh and with the operator, and records the critical path in operator-e2e.json',
  async () => {
    const lab = await startKubeLab();
    const result = await benchOperatorE2e(lab, { rounds: 1, timeout: 300, keep: false, postgres: 'the test server' });
    expect(result.rounds).toBe(1);
    expect(result.criticalPath.waves.map((w) => w.services)).toEqual([
      ['auth-service', 'catalog-service'],
      ['order-service'],
      ['billing-service'],
    ]);
    expect(result.operatorMedianSeconds).toBeGreaterThan(0);
    expect(result.sequentialMedianSeconds).toBeGreaterThan(0);
    expect(render()).toContain('## Operator end to end');
  },
  KUBE_LAB_START_TIMEOUT_MS,
);
