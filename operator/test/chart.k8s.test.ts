import { deleteNamespace, freshNamespace, getJson, helm, kubectl } from '@webrana/kube-lab';
import { CHART_DIR, SERVICE_ACCOUNT, useOperatorEnv } from './harness';

// charts/webrana-operator against the real node's apiserver: it renders, validates, installs, and its RBAC
// grants the operator what it uses and nothing else.
const env = useOperatorEnv('operator-chart');
const lab = env.lab;
// A second namespace, for renderings installed outside the operator's.
let other = '';
beforeAll(async () => {
  other = await freshNamespace(lab, 'operator-chart-other');
});
afterAll(() => deleteNamespace(lab, other));

test('helm lint passes and the schema refuses root, unknown keys and a bad namespace', async () => {
  await helm(lab, ['lint', '--strict', CHART_DIR]);
  for (const [set, message] of [
    ['podSecurity.runAsUser=0', /runAsUser.*minimum/],
    ['bogus=1', /additional properties 'bogus' not allowed/],
    ['watchNamespace=Not_A_Namespace', /watchNamespace/],
  ] as const) {
    const r = await helm(lab, ['template', 'x', CHART_DIR, '--set', set], { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  }
});

test('the default rendering (all namespaces, two replicas) is accepted by the apiserver and hardened', async () => {
  const rendered = await helm(lab, [
    'template',
    'wop',
    CHART_DIR,
    '--namespace',
    other,
    '--set',
    'webranaDatabase.create=true',
  ]);
  const dry = await kubectl(lab, ['apply', '--dry-run=server', '-n', other, '-f', '-'], { input: rendered.stdout });
  expect(dry.stdout).toMatch(/clusterrole.rbac.authorization.k8s.io\/.* created \(server dry run\)/);
  expect(dry.stdout).toMatch(/deployment.apps\/wop-webrana-operator created/);
  expect(dry.stdout).toMatch(/webranadatabase.webrana.cloud\/webrana created/);

  const json = await helm(lab, [
    'template',
    'wop',
    CHART_DIR,
    '--namespace',
    other,
    '--show-only',
    'templates/deployment.yaml',
  ]);
  const deployment = await kubectl(lab, ['create', '--dry-run=client', '-o', 'json', '-f', '-'], {
    input: json.stdout,
  });
  const d = JSON.parse(deployment.stdout) as {
    spec: {
      replicas: number;
      template: {
        spec: {
          automountServiceAccountToken: boolean;
          securityContext: Record<string, unknown>;
          containers: {
            securityContext: Record<string, unknown>;
            env: { name: string }[];
            livenessProbe: unknown;
            readinessProbe: unknown;
          }[];
        };
      };
    };
  };
  expect(d.spec.replicas).toBe(2);
  const pod = d.spec.template.spec;
  expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
  expect(pod.containers[0]!.securityContext).toMatchObject({
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    privileged: false,
    capabilities: { drop: ['ALL'] },
  });
  expect(pod.containers[0]!.env.map((e) => e.name)).toEqual(
    expect.arrayContaining(['POD_NAME', 'POD_NAMESPACE', 'WATCH_NAMESPACE', 'LEADER_ELECT', 'LEASE_NAME']),
  );
  expect(pod.containers[0]!.livenessProbe).toBeDefined();
  expect(pod.containers[0]!.readinessProbe).toBeDefined();
});

test("the operator's ServiceAccount may do exactly what the operator does, in its namespace only", async () => {
  // "resource/status" is a subresource, "resource/name" a named object (kubectl's own syntax for those).
  const can = async (verb: string, resource: string, ns = env.ns): Promise<boolean> => {
    const [base, sub] = resource.split('/');
    const subresource = sub && ['status', 'finalizers', 'log', 'exec', 'scale'].includes(sub) ? sub : undefined;
    const target = subresource ? base! : resource;
    const r = await kubectl(
      lab,
      [
        'auth',
        'can-i',
        verb,
        target,
        ...(subresource ? [`--subresource=${subresource}`] : []),
        '-n',
        ns,
        `--as=system:serviceaccount:${env.ns}:${SERVICE_ACCOUNT}`,
      ],
      { allowFailure: true },
    );
    return r.stdout.trim() === 'yes';
  };
  const allowed = [
    ['list', 'webranadatabases.webrana.cloud'],
    ['watch', 'webranadatabases.webrana.cloud'],
    ['patch', 'webranadatabases.webrana.cloud/status'],
    ['update', 'webranadatabases.webrana.cloud/finalizers'],
    ['create', 'jobs.batch'],
    ['delete', 'jobs.batch'],
    ['watch', 'jobs.batch'],
    ['create', 'cronjobs.batch'],
    ['patch', 'cronjobs.batch'],
    ['delete', 'cronjobs.batch'],
    ['list', 'pods'],
    ['create', 'events'],
    ['list', 'webranarestores.webrana.cloud'],
    ['patch', 'webranarestores.webrana.cloud/status'],
    ['get', 'deployments.apps'],
    // The post-deploy step's informer: rollout status of the Deployment a service names.
    ['list', 'deployments.apps'],
    ['watch', 'deployments.apps'],
    ['patch', 'deployments.apps/scale'],
    ['create', 'leases.coordination.k8s.io'],
    ['update', `leases.coordination.k8s.io/${SERVICE_ACCOUNT}`],
  ];
  const denied = [
    ['get', 'secrets'],
    ['list', 'secrets'],
    ['create', 'webranadatabases.webrana.cloud'],
    ['update', 'webranadatabases.webrana.cloud'],
    ['delete', 'webranadatabases.webrana.cloud'],
    ['patch', 'jobs.batch'],
    ['update', 'jobs.batch'],
    ['get', 'pods/log'],
    ['create', 'pods'],
    ['delete', 'pods'],
    ['create', 'pods/exec'],
    ['update', 'leases.coordination.k8s.io/someone-else'],
    ['delete', 'leases.coordination.k8s.io'],
    ['patch', 'events'],
    ['create', 'rolebindings.rbac.authorization.k8s.io'],
    // Deployments: the scale only, never the Deployment itself (image, env, pod template).
    ['patch', 'deployments.apps'],
    ['update', 'deployments.apps'],
    ['delete', 'deployments.apps'],
    ['update', 'deployments.apps/scale'],
    ['create', 'webranarestores.webrana.cloud'],
    ['delete', 'webranarestores.webrana.cloud'],
  ];
  for (const [verb, resource] of allowed)
    expect([verb, resource, await can(verb!, resource!)]).toEqual([verb, resource, true]);
  for (const [verb, resource] of denied)
    expect([verb, resource, await can(verb!, resource!)]).toEqual([verb, resource, false]);
  // watchNamespace: nothing outside it.
  expect(await can('list', 'jobs.batch', other)).toBe(false);
  expect(await can('list', 'webranadatabases.webrana.cloud', other)).toBe(false);
});

test('installed with webranaDatabase.create, the chart creates the resource the umbrella chart would', async () => {
  await helm(lab, [
    'install',
    'wop',
    CHART_DIR,
    '--namespace',
    other,
    '--skip-crds',
    '--set',
    `watchNamespace=${other}`,
    '--set',
    'replicaCount=0',
    '--set',
    'webranaDatabase.create=true',
  ]);
  const db = await getJson<{
    spec: { services: { name: string; dependsOn?: string[] }[]; backup: { schedule: string } };
  }>(lab, ['webranadatabase', 'webrana', '-n', other]);
  expect(db?.spec.services.map((s) => s.name)).toEqual([
    'auth-service',
    'catalog-service',
    'order-service',
    'billing-service',
  ]);
  expect(db?.spec.backup.schedule).toBe('0 2 * * *');
});
