// The operator chart's RBAC, rendered by the real helm: exactly the rules the operator's code needs,
// nothing more. The kube-lab test (operator/test/chart.k8s.test.ts) asks the apiserver the same
// question verb by verb; this one fails on any added verb or resource, including the pod watch the
// pod informer needs (list + watch on pods, never get, create, delete, pods/log or pods/exec).
import { OPERATOR_CHART, template, type K8sObject } from './helm';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
}

const rulesOf = (objects: K8sObject[], kind: string): Rule[] =>
  objects.filter((o) => o.kind === kind).flatMap((o) => (o.rules as Rule[] | undefined) ?? []);

/** "group/resource[/name]: verb" lines, sorted, so a diff names the exact grant. */
const grants = (rules: Rule[]): string[] =>
  rules
    .flatMap((r) =>
      (r.apiGroups ?? []).flatMap((g) =>
        (r.resources ?? []).flatMap((res) =>
          (r.resourceNames ?? ['']).flatMap((n) => (r.verbs ?? []).map((v) => `${g}/${res}${n ? `/${n}` : ''}: ${v}`)),
        ),
      ),
    )
    .sort();

const OPERATOR_GRANTS = [
  '/events: create',
  '/pods: list',
  '/pods: watch',
  'apps/deployments/scale: patch',
  'apps/deployments: get',
  'apps/deployments: list',
  'apps/deployments: watch',
  'batch/cronjobs: create',
  'batch/cronjobs: delete',
  'batch/cronjobs: list',
  'batch/cronjobs: patch',
  'batch/cronjobs: watch',
  'batch/jobs: create',
  'batch/jobs: delete',
  'batch/jobs: list',
  'batch/jobs: watch',
  'webrana.cloud/webranadatabases/finalizers: update',
  'webrana.cloud/webranadatabases/status: patch',
  'webrana.cloud/webranadatabases: list',
  'webrana.cloud/webranadatabases: watch',
  'webrana.cloud/webranarestores/finalizers: update',
  'webrana.cloud/webranarestores/status: patch',
  'webrana.cloud/webranarestores: list',
  'webrana.cloud/webranarestores: patch',
  'webrana.cloud/webranarestores: watch',
];

describe('webrana-operator RBAC is least privilege', () => {
  test('cluster-wide: the ClusterRole grants exactly the operator reads and writes (pods: list and watch only)', () => {
    const { objects } = template(OPERATOR_CHART);
    expect(grants(rulesOf(objects, 'ClusterRole'))).toEqual(OPERATOR_GRANTS);
    expect(rulesOf(objects, 'Role').flatMap((r) => r.resources ?? [])).toEqual(['leases', 'leases']);
    expect(grants(rulesOf(objects, 'Role'))).toEqual([
      'coordination.k8s.io/leases/r-webrana-operator: get',
      'coordination.k8s.io/leases/r-webrana-operator: update',
      'coordination.k8s.io/leases: create',
    ]);
  });

  test('with watchNamespace: the same grants in a Role of that namespace, no ClusterRole', () => {
    const { objects } = template(OPERATOR_CHART, { watchNamespace: 'apps' });
    expect(rulesOf(objects, 'ClusterRole')).toEqual([]);
    const roles = objects.filter((o) => o.kind === 'Role' && o.metadata.namespace === 'apps');
    expect(grants(rulesOf(roles, 'Role'))).toEqual(OPERATOR_GRANTS);
  });
});
