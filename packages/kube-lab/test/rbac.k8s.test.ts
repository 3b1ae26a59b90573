import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  apply,
  containerLog,
  describeNamespace,
  getJson,
  imageRef,
  run,
  serviceAccountKubeconfig,
  useRealNode,
  waitFor,
} from '../src';

// RBAC is enforced by the lab apiserver: a ServiceAccount with a narrow Role gets that and nothing more,
// both with a token from `kubectl create token` (serviceAccountKubeconfig) and with the token the
// kubelet projects into a pod.
const lab = useRealNode('rbac');
let tmp: string;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'kube-lab-rbac-'));
  await apply(
    lab,
    lab.ns,
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'configmap-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'reader-reads-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: lab.ns }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'visible' }, data: { a: '1' } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hidden' }, stringData: { b: '2' } },
  );
});
afterAll(async () => {
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

/** kubectl as the ServiceAccount: a kubeconfig holding only its bearer token and the lab CA. */
async function asReader(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = await serviceAccountKubeconfig(lab, {
    ns: lab.ns,
    serviceAccount: 'reader',
    file: path.join(tmp, 'reader.kubeconfig'),
    duration: '10m',
  });
  return run('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], { env: lab.env });
}

test('a ServiceAccount token with a Role for reading ConfigMaps lists ConfigMaps in its namespace', async () => {
  const r = await asReader(['get', 'configmaps', '-o', 'name']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('configmap/visible');
  expect((await asReader(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout).toBe(
    `system:serviceaccount:${lab.ns}:reader`,
  );
});

test('the same token is refused what the Role does not allow: Secrets, writes, and other namespaces', async () => {
  const secrets = await asReader(['get', 'secrets']);
  expect(secrets.code).not.toBe(0);
  expect(secrets.stderr).toContain(
    `Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:${lab.ns}:reader" cannot list resource "secrets" in API group "" in the namespace "${lab.ns}"`,
  );

  const create = await asReader(['create', 'configmap', 'sneaky', '--from-literal=x=1']);
  expect(create.code).not.toBe(0);
  expect(create.stderr).toContain('cannot create resource "configmaps"');
  expect(await getJson(lab, ['configmap', 'sneaky', '-n', lab.ns])).toBeUndefined();

  const elsewhere = await asReader(['get', 'configmaps', '-n', 'kube-system']);
  expect(elsewhere.code).not.toBe(0);
  expect(elsewhere.stderr).toContain('in the namespace "kube-system"');

  expect((await asReader(['auth', 'can-i', 'delete', 'configmaps'])).stdout.trim()).toBe('no');
  expect((await asReader(['auth', 'can-i', 'list', 'configmaps'])).stdout.trim()).toBe('yes');
});

test('inside a pod, the projected service-account token and KUBERNETES_SERVICE_HOST/PORT reach the apiserver with the same rights', async () => {
  // Plain https from the pod, as an in-cluster client would.
  const script = `
    const fs = require('fs'), https = require('https');
    const dir = process.env.SA_DIR;
    const token = fs.readFileSync(dir + '/token', 'utf8');
    const ca = fs.readFileSync(dir + '/ca.crt');
    const namespace = fs.readFileSync(dir + '/namespace', 'utf8');
    const get = (p) => new Promise((resolve, reject) => https.get({
      host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT, path: p, ca,
      headers: { Authorization: 'Bearer ' + token },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); }).on('error', reject));
    (async () => {
      const result = {
        namespace,
        configmaps: await get('/api/v1/namespaces/' + namespace + '/configmaps'),
        secrets: await get('/api/v1/namespaces/' + namespace + '/secrets'),
      };
      console.log(JSON.stringify(result));
      process.exit(result.configmaps === 200 && result.secrets === 403 ? 0 : 1);
    })().catch((e) => { console.error(e); process.exit(2); });`;
  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'in-cluster' },
    spec: {
      restartPolicy: 'Never',
      serviceAccountName: 'reader',
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'client',
          image: imageRef('jobs'),
          imagePullPolicy: 'Never',
          command: ['node', '-e', script],
          env: [{ name: 'SA_DIR', value: '/var/run/secrets/kubernetes.io/serviceaccount' }],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  });
  const p = await waitFor(
    'pod in-cluster to finish',
    async () => {
      const pod = await getJson(lab, ['pod', 'in-cluster', '-n', lab.ns]);
      return pod?.status?.phase === 'Succeeded' || pod?.status?.phase === 'Failed' ? pod : undefined;
    },
    { timeoutMs: 60_000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  const output = await containerLog(lab, p, 'client');
  expect(JSON.parse(output)).toEqual({ namespace: lab.ns, configmaps: 200, secrets: 403 });
  expect(p.status?.phase).toBe('Succeeded');
});
