import * as net from 'node:net';
import * as path from 'node:path';
import { getService, REPO_ROOT } from '@webrana/registry';
import {
  apply,
  deleteNamespace,
  describeNamespace,
  enforceRestricted,
  freshNamespace,
  getJson,
  helm,
  imageRef,
  kubectl,
  useRealNode,
  waitFor,
} from '../src';
import { databaseAndSecret } from './node-database';

// The service chart's NetworkPolicy enforced on the real node (kube-router's firewall, started by
// scripts/kube-lab/start): catalog-service installed with its policy on (the default), then who
// can reach it and where its pod can go, from real pods through real iptables and ipsets. The lab has no
// cluster DNS (no CoreDNS): the DNS rule is shown with a TCP listener on port 53 in kube-system.
const lab = useRealNode('netpol');

const SERVICE = 'catalog-service';
const RELEASE = 'np';
const CHART = path.join(REPO_ROOT, 'charts', 'webrana-service');
/** How long a connection attempt may take before the test calls it timed out. */
const CONNECT_TIMEOUT_MS = 3000;
/**
 * A connection the policy stops: kube-router REJECTs it (ICMP port unreachable: ECONNREFUSED), other
 * controllers drop it (a timeout). Each target is first shown reachable from an unrestricted pod, so
 * a refusal can only come from the policy.
 */
const BLOCKED = /^(ECONNREFUSED|EHOSTUNREACH|timeout)$/;
const report = (line: string) => process.stderr.write(`network-policy: ${line}\n`);

let otherNs: string;
let serviceIp: string;
let listener: net.Server;
let listenerPort: number;

/** A hardened pod (the restricted Pod Security Standard admits it) running the service image's Node. */
function clientPod(name: string, labels: Record<string, string> = {}, listenOn?: number): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name, ...labels } },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        // A non-root listener on port 53 (a safe sysctl, allowed by the kubelet by default).
        ...(listenOn ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } : {}),
      },
      containers: [
        {
          name: 'main',
          image: imageRef(SERVICE),
          imagePullPolicy: 'Never',
          command: listenOn
            ? ['node', '-e', `require('net').createServer((s) => s.end('ok')).listen(${listenOn})`]
            : ['sleep', '3600'],
          securityContext: {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          },
          resources: { limits: { memory: '96Mi' }, requests: { cpu: '10m', memory: '32Mi' } },
        },
      ],
    },
  };
}

async function podReady(ns: string, name: string): Promise<string> {
  return waitFor(
    `pod ${ns}/${name} Running`,
    async () => {
      const pod = await getJson<{ status?: { phase?: string; podIP?: string } }>(lab, ['pod', name, '-n', ns]);
      return pod?.status?.phase === 'Running' && pod.status.podIP ? pod.status.podIP : undefined;
    },
    { timeoutMs: 90_000, diagnose: () => describeNamespace(lab, ns) },
  );
}

/** `node -e` in a pod: the TCP connection outcome to host:port ("connected", "timeout" or an error code). */
async function connect(ns: string, pod: string, host: string, port: number): Promise<string> {
  const code = `const s=require('net').connect({host:'${host}',port:${port},timeout:${CONNECT_TIMEOUT_MS}});
    s.on('connect',()=>{console.log('connected');s.destroy()}).on('error',(e)=>console.log(e.code))
     .on('timeout',()=>{console.log('timeout');s.destroy()})`;
  return (await kubectl(lab, ['exec', pod, '-n', ns, '--', 'node', '-e', code], { timeoutMs: 30_000 })).stdout.trim();
}

/** GET /health/db of the service from a pod: the status code, "timeout" or the connection's error code. */
async function healthDb(ns: string, pod: string): Promise<string> {
  const code = `fetch('http://${serviceIp}/health/db',{signal:AbortSignal.timeout(${CONNECT_TIMEOUT_MS})})
    .then((r)=>console.log(r.status))
    .catch((e)=>console.log(e.name==='TimeoutError'?'timeout':(e.cause&&e.cause.code)||e.message))`;
  return (await kubectl(lab, ['exec', pod, '-n', ns, '--', 'node', '-e', code], { timeoutMs: 30_000 })).stdout.trim();
}

/** Waits until `probe` gives `expected` (kube-router applies a policy change within seconds); returns the wait. */
async function until(what: string, probe: () => Promise<string>, expected: string): Promise<number> {
  const t0 = Date.now();
  let last = '';
  await waitFor(
    what,
    async () => {
      last = await probe();
      return last === expected;
    },
    { timeoutMs: 60_000, intervalMs: 500, diagnose: async () => `last outcome: ${last}` },
  );
  return (Date.now() - t0) / 1000;
}

async function upgrade(...values: string[]): Promise<void> {
  await helm(lab, ['upgrade', RELEASE, CHART, '-n', lab.ns, '--reuse-values', ...values], { timeoutMs: 180_000 });
}

async function servicePod(): Promise<string> {
  const list = await getJson<{ items: Array<{ metadata: { name: string }; status?: { phase?: string } }> }>(lab, [
    'pods',
    '-n',
    lab.ns,
    '-l',
    `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=server`,
  ]);
  const pod = list?.items.find((p) => p.status?.phase === 'Running');
  if (!pod) throw new Error(`no running pod of ${SERVICE}`);
  return pod.metadata.name;
}

beforeAll(async () => {
  const t0 = Date.now();
  // A TCP listener on the node address at a port nothing else uses: egress to it must be refused.
  // Clients reset their connections once connected: that is no error here.
  listener = net.createServer((s) => s.on('error', () => undefined).end('listener'));
  await new Promise<void>((resolve) => listener.listen(0, lab.nodeIp, resolve));
  listenerPort = (listener.address() as net.AddressInfo).port;

  const db = 'webrana_catalog_netpol';
  await databaseAndSecret(lab, db, 'webrana-database', getService(SERVICE).urlVariable);
  otherNs = await freshNamespace(lab, 'netpol-other');
  await enforceRestricted(lab, otherNs);
  await apply(lab, lab.ns, clientPod('same-ns'));
  await apply(lab, otherNs, clientPod('other-ns'));
  // DNS stand-ins in kube-system: one labelled like CoreDNS (k8s-app=kube-dns), one not.
  await apply(lab, 'kube-system', clientPod(`${lab.ns}-dns`, { 'k8s-app': 'kube-dns' }, 53));
  await apply(lab, 'kube-system', clientPod(`${lab.ns}-not-dns`, {}, 53));
  // The chart as a user installs it: policy on by default; hooks too (the post-install seed and
  // post-deploy migration Jobs run under the policy); the lab's database port opened.
  const install = await helm(
    lab,
    [
      'upgrade',
      '--install',
      RELEASE,
      CHART,
      '-n',
      lab.ns,
      '--set',
      `serviceName=${SERVICE}`,
      '--set',
      'replicaCount=1',
      ...lab.postgres.networkPolicyFlags(),
      '--wait',
      '--timeout',
      '3m',
    ],
    { timeoutMs: 240_000, allowFailure: true },
  );
  if (install.code !== 0)
    throw new Error(`helm install failed:\n${install.stderr}\n${await describeNamespace(lab, lab.ns)}`);
  serviceIp = (
    await kubectl(lab, ['get', 'service', `${RELEASE}-${SERVICE}`, '-n', lab.ns, '-o', 'jsonpath={.spec.clusterIP}'])
  ).stdout;
  await Promise.all([
    podReady(lab.ns, 'same-ns'),
    podReady(otherNs, 'other-ns'),
    podReady('kube-system', `${lab.ns}-dns`),
    podReady('kube-system', `${lab.ns}-not-dns`),
  ]);
  report(`set up (install with hooks, four client pods) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 45 * 60_000);

afterAll(async () => {
  listener?.close();
  await kubectl(lab, ['delete', 'pod', '-n', 'kube-system', `${lab.ns}-dns`, `${lab.ns}-not-dns`, '--wait=false'], {
    allowFailure: true,
  });
  await deleteNamespace(lab, otherNs);
});

describe('the service chart NetworkPolicy on the real node (kube-router)', () => {
  test('the chart renders a NetworkPolicy the apiserver stored, selecting the release', async () => {
    const policy = await getJson<{ spec: { podSelector: unknown } }>(lab, [
      'networkpolicy',
      `${RELEASE}-${SERVICE}`,
      '-n',
      lab.ns,
    ]);
    expect(policy?.spec.podSelector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': SERVICE, 'app.kubernetes.io/instance': RELEASE },
    });
  });

  test('a pod of the same namespace gets /health/db 200', async () => {
    expect(await healthDb(lab.ns, 'same-ns')).toBe('200');
  });

  test('a pod of another namespace is refused', async () => {
    const outcome = await healthDb(otherNs, 'other-ns');
    report(`other namespace: ${outcome}`);
    expect(outcome).toMatch(BLOCKED);
  });

  test('with that namespace in networkPolicy.ingress.from, it gets 200', async () => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': otherNs } } }];
    await upgrade('--set-json', `networkPolicy.ingress.from=${JSON.stringify(from)}`);
    const waited = await until('other namespace allowed', () => healthDb(otherNs, 'other-ns'), '200');
    report(`ingress.from applied ${waited.toFixed(1)} s after helm upgrade returned`);
  }, 120_000);

  test('from the service pod, the database port is reachable and another port of the same address is not', async () => {
    expect(listenerPort < 30000 || listenerPort > 32767).toBe(true); // kube-router always lets NodePorts in
    // The listener is reachable from an unrestricted pod: only the policy can stop the service pod.
    expect(await connect(lab.ns, 'same-ns', lab.nodeIp, listenerPort)).toBe('connected');
    const pod = await servicePod();
    expect(await connect(lab.ns, pod, lab.postgres.serviceIp, lab.postgres.port)).toBe('connected');
    expect(await connect(lab.ns, pod, lab.nodeIp, listenerPort)).toMatch(BLOCKED);
  }, 60_000);

  test('from the service pod, port 53 of a kube-system pod labelled k8s-app=kube-dns is reachable, of another kube-system pod not', async () => {
    const dnsIp = await podReady('kube-system', `${lab.ns}-dns`);
    const otherIp = await podReady('kube-system', `${lab.ns}-not-dns`);
    const pod = await servicePod();
    expect(await connect(lab.ns, 'same-ns', otherIp, 53)).toBe('connected');
    expect(await connect(lab.ns, pod, dnsIp, 53)).toBe('connected');
    expect(await connect(lab.ns, pod, otherIp, 53)).toMatch(BLOCKED);
  }, 60_000);

  test('with networkPolicy.enabled=false everything is open again', async () => {
    await upgrade('--set', 'networkPolicy.enabled=false', '--set-json', 'networkPolicy.ingress.from=[]');
    expect(await getJson(lab, ['networkpolicy', `${RELEASE}-${SERVICE}`, '-n', lab.ns])).toBeUndefined();
    const pod = await servicePod();
    const waited = await until(
      'service pod egress open',
      () => connect(lab.ns, pod, lab.nodeIp, listenerPort),
      'connected',
    );
    report(`policy removal applied ${waited.toFixed(1)} s after helm upgrade returned`);
    const otherDns = await podReady('kube-system', `${lab.ns}-not-dns`);
    expect(await connect(lab.ns, pod, otherDns, 53)).toBe('connected');
    expect(await healthDb(otherNs, 'other-ns')).toBe('200');
  }, 120_000);
});
