import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';
import {
  apply,
  containerLog,
  describeNamespace,
  getJson,
  kubectl,
  pvcDir,
  useKubeLabNamespace,
  waitFor,
  type KubeObject,
} from '@webrana/kube-lab';

// What the kube-lab kubelet itself promises: a Ready Node, env and volumes, config waits, graceful
// deletion, start errors and the image table.
const lab = useKubeLabNamespace('kubelet');

function pod(name: string, spec: Record<string, unknown>): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'kubelet-test' } },
    spec: { restartPolicy: 'Never', ...spec },
  };
}

async function terminalPod(name: string, timeoutMs = 30_000): Promise<KubeObject> {
  return waitFor(
    `pod ${name} to finish`,
    async () => {
      const p = await getJson(lab, ['pod', name, '-n', lab.ns]);
      return p?.status?.phase === 'Succeeded' || p?.status?.phase === 'Failed' ? p : undefined;
    },
    { timeoutMs, diagnose: () => describeNamespace(lab, lab.ns) },
  );
}

test('the kubelet registers a Ready node with the apiserver version and keeps renewing its Lease', async () => {
  const node = await getJson(lab, ['node', 'kube-lab']);
  const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
  expect(ready).toMatchObject({ status: 'True', reason: 'KubeletReady' });
  const version = JSON.parse((await kubectl(lab, ['version', '-o', 'json'])).stdout) as {
    serverVersion: { gitVersion: string };
  };
  expect((node?.status?.nodeInfo as { kubeletVersion?: string }).kubeletVersion).toBe(version.serverVersion.gitVersion);

  const renewTime = async (): Promise<string> =>
    String(
      ((await getJson(lab, ['lease', 'kube-lab', '-n', 'kube-node-lease']))?.spec as { renewTime: string }).renewTime,
    );
  const first = await renewTime();
  // Renewed every 10 s.
  await waitFor('the node Lease to be renewed', async () => (await renewTime()) !== first, {
    timeoutMs: 15_000,
    intervalMs: 500,
  });
}, 30_000);

test('a container gets env from value, $(VAR), secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef and envFrom, and sees its volumes, workingDir and init container output through the path mapping', async () => {
  await apply(
    lab,
    lab.ns,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds' }, stringData: { user: 'ana', password: 's3cret' } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { MODE: 'fast', 'app.conf': 'x=1\n' },
    },
  );
  const check = `
    const fs = require('fs');
    const read = (dir, f) => fs.readFileSync(dir + '/' + f, 'utf8');
    console.log(JSON.stringify({
      env: Object.fromEntries(['GREETING', 'DB_USER', 'DB_PASSWORD', 'MODE', 'CFG_MODE', 'POD_NAME', 'POD_NAMESPACE', 'POD_IP', 'NODE_NAME', 'MEM_MI', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'].map((k) => [k, process.env[k]])),
      secretFile: read(process.env.SECRET_DIR, 'password'),
      configFile: read(process.env.CONFIG_DIR, 'app.conf'),
      labelsFile: read(process.env.INFO_DIR, 'labels'),
      initOutput: fs.readFileSync(process.argv[1], 'utf8'),
      cwd: process.cwd(),
      root: process.env.KUBE_LAB_ROOT,
    }));`;
  await apply(
    lab,
    lab.ns,
    pod('env-and-volumes', {
      volumes: [
        { name: 'secret', secret: { secretName: 'creds' } },
        { name: 'config', configMap: { name: 'settings', items: [{ key: 'app.conf', path: 'app.conf' }] } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
        { name: 'work', emptyDir: {} },
      ],
      initContainers: [
        {
          name: 'prepare',
          image: 'node:20',
          command: ['node', '-e', "require('fs').writeFileSync(process.argv[1], 'from init')", '/work/init.txt'],
          volumeMounts: [{ name: 'work', mountPath: '/work' }],
        },
      ],
      containers: [
        {
          name: 'check',
          image: 'node:20',
          command: ['node', '-e', check, '/work/init.txt'],
          workingDir: '/work',
          resources: { limits: { memory: '64Mi' } },
          envFrom: [{ configMapRef: { name: 'settings' } }, { prefix: 'CFG_', configMapRef: { name: 'settings' } }],
          env: [
            { name: 'NAME', value: 'kube-lab' },
            { name: 'GREETING', value: 'hello $(NAME), $$(NAME) stays' },
            { name: 'DB_USER', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
            { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'SECRET_DIR', value: '/etc/creds' },
            { name: 'CONFIG_DIR', value: '/etc/settings' },
            { name: 'INFO_DIR', value: '/etc/podinfo' },
          ],
          volumeMounts: [
            { name: 'secret', mountPath: '/etc/creds', readOnly: true },
            { name: 'config', mountPath: '/etc/settings' },
            { name: 'info', mountPath: '/etc/podinfo' },
            { name: 'work', mountPath: '/work' },
          ],
        },
      ],
    }),
  );

  const p = await terminalPod('env-and-volumes');
  expect(p.status?.phase).toBe('Succeeded');
  expect(p.status?.initContainerStatuses?.[0]?.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
  const seen = JSON.parse(await containerLog(lab, p, 'check')) as Record<string, unknown>;
  const port = new URL(
    JSON.parse((await kubectl(lab, ['config', 'view', '--minify', '-o', 'json'])).stdout).clusters[0].cluster
      .server as string,
  ).port;
  expect(seen.env).toEqual({
    GREETING: 'hello kube-lab, $(NAME) stays',
    DB_USER: 'ana',
    DB_PASSWORD: 's3cret',
    MODE: 'fast',
    CFG_MODE: 'fast',
    POD_NAME: 'env-and-volumes',
    POD_NAMESPACE: lab.ns,
    POD_IP: '127.0.0.1',
    NODE_NAME: 'kube-lab',
    MEM_MI: '64',
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: port,
  });
  expect(seen).toMatchObject({
    secretFile: 's3cret',
    configFile: 'x=1\n',
    labelsFile: 'app="kubelet-test"',
    initOutput: 'from init',
  });
  const root = path.join(lab.kubeletStateDir, 'pods', p.metadata.uid, 'root', 'check');
  expect(seen.root).toBe(root);
  expect(seen.cwd).toBe(path.join(lab.kubeletStateDir, 'pods', p.metadata.uid, 'volumes', 'work'));
});

test('a pod whose Secret does not exist yet waits with CreateContainerConfigError and starts once the Secret is created', async () => {
  await apply(
    lab,
    lab.ns,
    pod('needs-secret', {
      containers: [
        {
          name: 'main',
          image: 'node:20',
          command: ['node', '-e', 'console.log(process.env.TOKEN)'],
          env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'late', key: 'token' } } }],
        },
      ],
    }),
  );
  const waiting = await waitFor(
    'needs-secret to wait for its Secret',
    async () => {
      const w = (await getJson(lab, ['pod', 'needs-secret', '-n', lab.ns]))?.status?.containerStatuses?.[0]?.state
        .waiting;
      return w?.reason === 'ContainerCreating' ? undefined : w;
    },
    { diagnose: () => describeNamespace(lab, lab.ns) },
  );
  expect(waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "late" not found' });
  expect((await getJson(lab, ['pod', 'needs-secret', '-n', lab.ns]))?.status?.phase).toBe('Pending');

  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'late' },
    stringData: { token: 'finally' },
  });
  const p = await terminalPod('needs-secret');
  expect(p.status?.phase).toBe('Succeeded');
  expect(await containerLog(lab, p, 'main')).toBe('finally\n');
});

test('deleting a running pod sends SIGTERM to its process, which may clean up within the grace period, and the kubelet then removes the pod', async () => {
  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'out' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Mi' } } },
  });
  const script = `
    const fs = require('fs');
    fs.writeFileSync(process.env.OUT + '/started', String(process.pid));
    process.on('SIGTERM', () => { fs.writeFileSync(process.env.OUT + '/stopped', 'SIGTERM'); process.exit(0); });
    setInterval(() => {}, 1000);`;
  await apply(
    lab,
    lab.ns,
    pod('graceful', {
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: 'out', persistentVolumeClaim: { claimName: 'out' } }],
      containers: [
        {
          name: 'main',
          image: 'node:20',
          command: ['node', '-e', script],
          env: [{ name: 'OUT', value: '/out' }],
          volumeMounts: [{ name: 'out', mountPath: '/out' }],
        },
      ],
    }),
  );
  const dir = pvcDir(lab.kubeletStateDir, lab.ns, 'out');
  await waitFor(
    'the graceful pod to run',
    async () => (await fs.readFile(path.join(dir, 'started'), 'utf8').catch(() => '')) !== '',
    {
      diagnose: () => describeNamespace(lab, lab.ns),
    },
  );

  const t0 = Date.now();
  await kubectl(lab, ['delete', 'pod', 'graceful', '-n', lab.ns, '--wait=true', '--timeout=30s']);
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(await fs.readFile(path.join(dir, 'stopped'), 'utf8')).toBe('SIGTERM');
  expect(await getJson(lab, ['pod', 'graceful', '-n', lab.ns])).toBeUndefined();
});

test('a command the image does not provide ends the container with StartError (exit code 128) and fails the pod', async () => {
  await apply(
    lab,
    lab.ns,
    pod('no-python', { containers: [{ name: 'main', image: 'node:20', command: ['python3', '-c', 'print(1)'] }] }),
  );
  const p = await terminalPod('no-python');
  expect(p.status?.phase).toBe('Failed');
  const terminated = p.status?.containerStatuses?.[0]?.state.terminated;
  expect(terminated).toMatchObject({ exitCode: 128, reason: 'StartError' });
  expect(terminated?.message).toContain('exec: "python3": executable file not found');
});

test("the project's webrana/jobs image runs this checkout's webrana-jobs CLI (args replace the image's CMD)", async () => {
  await expect(fs.access(path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js'))).resolves.toBeUndefined(); // built by `npx tsc -b`
  await apply(
    lab,
    lab.ns,
    pod('jobs-cli', { containers: [{ name: 'jobs', image: 'ghcr.io/webrana/jobs:dev', args: ['--help'] }] }),
  );
  const p = await terminalPod('jobs-cli');
  expect(p.status?.phase).toBe('Succeeded');
  expect(await containerLog(lab, p, 'jobs')).toContain('usage: webrana-jobs <group> <command>');
});
