import * as fs from 'node:fs/promises';
import * as https from 'node:https';
import * as path from 'node:path';
import { apply, describeNamespace, getJson, kubectl, run, useKubeLabNamespace, waitFor } from '@webrana/kube-lab';

// `kubectl logs` on kube-lab: the apiserver proxies pods/log to the kubelet's HTTPS log endpoint
// (scripts/kube-lab/start gives the apiserver its kubelet client certificate).
const lab = useKubeLabNamespace('logs');

async function nodePod(name: string, script: string, restartPolicy = 'Never'): Promise<void> {
  await apply(lab, lab.ns, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      restartPolicy,
      volumes: [{ name: 'scratch', emptyDir: {} }],
      containers: [
        {
          name: 'main',
          image: 'node:20',
          command: ['node', '-e', script],
          // Paths inside a script are not mapped (containers are host processes); env values are.
          env: [{ name: 'SCRATCH', value: '/scratch' }],
          volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }],
        },
      ],
    },
  });
}

const logs = async (...args: string[]) => kubectl(lab, ['logs', '-n', lab.ns, ...args], { allowFailure: true });

async function podPhase(name: string, phase: string): Promise<void> {
  await waitFor(
    `pod ${name} to be ${phase}`,
    async () => (await getJson(lab, ['pod', name, '-n', lab.ns]))?.status?.phase === phase,
    {
      timeoutMs: 30_000,
      diagnose: () => describeNamespace(lab, lab.ns),
    },
  );
}

test('kubectl logs prints a finished container output, and honours --tail and --limit-bytes', async () => {
  await nodePod('finished', "console.log('one'); console.error('two on stderr'); console.log('three');");
  await podPhase('finished', 'Succeeded');

  expect((await logs('finished')).stdout).toBe('one\ntwo on stderr\nthree\n');
  expect((await logs('finished', '--tail=2')).stdout).toBe('two on stderr\nthree\n');
  expect((await logs('finished', '--limit-bytes=6')).stdout).toBe('one\ntw');
});

test('kubectl logs -f streams what a running container writes after the request, and ends when it exits', async () => {
  await nodePod(
    'ticker',
    "let i = 0; console.log('tick 0'); const t = setInterval(() => { console.log('tick ' + ++i); if (i === 5) { clearInterval(t); console.log('done'); } }, 400);",
  );
  await waitFor('the ticker to start writing', async () => (await logs('ticker')).stdout.startsWith('tick 0'), {
    timeoutMs: 30_000,
    diagnose: () => describeNamespace(lab, lab.ns),
  });
  const followed = await logs('ticker', '-f');
  expect(followed.code).toBe(0);
  // "done" is written about 2 s after "tick 0", so it reached the follower while the request was open.
  expect(followed.stdout).toBe('tick 0\ntick 1\ntick 2\ntick 3\ntick 4\ntick 5\ndone\n');
  expect((await getJson(lab, ['pod', 'ticker', '-n', lab.ns]))?.status?.phase).toBe('Succeeded');
});

test('kubectl logs --previous shows the run before a restart, and plain logs the current one', async () => {
  await nodePod(
    'restarts',
    "const fs = require('fs'); const ran = process.env.SCRATCH + '/ran'; if (!fs.existsSync(ran)) { fs.writeFileSync(ran, ''); console.log('first run'); process.exit(1); } console.log('second run');",
    'OnFailure',
  );
  await podPhase('restarts', 'Succeeded');

  expect((await logs('restarts', '--previous')).stdout).toBe('first run\n');
  expect((await logs('restarts')).stdout).toBe('second run\n');
});

test('kubectl logs refuses --timestamps with the reason, and a missing container by name', async () => {
  await nodePod('plain', "console.log('x');");
  await podPhase('plain', 'Succeeded');

  const timestamps = await logs('plain', '--timestamps');
  expect(timestamps.code).not.toBe(0);
  expect(timestamps.stderr).toContain('timestamps is not supported');
  const missing = await logs('plain', '-c', 'nope');
  expect(missing.code).not.toBe(0);
  expect(missing.stderr).toContain('nope');
});

test('the kubelet log endpoint answers only clients with a certificate from the lab CA', async () => {
  const node = await getJson<{ status: { daemonEndpoints: { kubeletEndpoint: { Port: number } } } }>(lab, [
    'node',
    'kube-lab',
  ]);
  const port = node?.status.daemonEndpoints.kubeletEndpoint.Port ?? 0;
  expect(port).toBeGreaterThan(0);
  await nodePod('secret-output', "console.log('only for the apiserver');");
  await podPhase('secret-output', 'Succeeded');

  const pki = path.join(lab.stateDir, 'pki');
  const ca = await fs.readFile(path.join(pki, 'ca.crt'));
  const get = (client: { cert?: Buffer; key?: Buffer }) =>
    new Promise<string>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port, path: `/containerLogs/${lab.ns}/secret-output/main`, ca, ...client },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        },
      );
      req.on('error', reject);
    });

  // A certificate the lab CA signed (here the admin's; the apiserver uses its kubelet client one).
  const admin = {
    cert: await fs.readFile(path.join(pki, 'admin.crt')),
    key: await fs.readFile(path.join(pki, 'admin.key')),
  };
  expect(await get(admin)).toBe('200 only for the apiserver\n');
  // No certificate, or one from another CA: the TLS handshake is refused.
  await expect(get({})).rejects.toThrow();
  const tmp = await fs.mkdtemp(path.join(lab.stateDir, 'foreign-'));
  try {
    const r = await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=intruder',
      '-keyout',
      path.join(tmp, 'k.pem'),
      '-out',
      path.join(tmp, 'c.pem'),
    ]);
    expect(r.code).toBe(0);
    const foreign = {
      cert: await fs.readFile(path.join(tmp, 'c.pem')),
      key: await fs.readFile(path.join(tmp, 'k.pem')),
    };
    await expect(get(foreign)).rejects.toThrow();
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
});
