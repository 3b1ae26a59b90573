import {
  BUILD_TIMEOUT_MS,
  SERVICE_CHARTS,
  byKind,
  helmBinary,
  named,
  podLabelsOf,
  template,
  templateError,
  type K8sObject,
} from './helm';

// The service chart's NetworkPolicy (networkPolicy.*): which pods it selects, who may call them, where
// they may go. Enforcement on a real node: packages/kube-lab/test/network-policy.k8s.test.ts.

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

interface Selector {
  matchLabels?: Record<string, string>;
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Array<{ protocol?: string; port: number | string }>;
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes: string[];
  ingress: Rule[];
  egress: Rule[];
}

const specOf = (policy: K8sObject) => policy.spec as PolicySpec;
const policies = (objects: readonly K8sObject[]) => byKind(objects, 'NetworkPolicy');
const selects = (selector: Selector, labels: Record<string, string>) =>
  Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
const tcp = (port: number) => ({ protocol: 'TCP', port });

const DNS_RULE: Rule = {
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
  to: [
    {
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
      podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
    },
  ],
};

describe.each(SERVICE_CHARTS)('%s NetworkPolicy', (chart) => {
  const name = `r-${chart}`;
  const release = { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': 'r' };
  const servers = { ...release, 'app.kubernetes.io/component': 'server' };

  test('is on by default and selects every pod of the release: the Deployment, each hook Job and the helm test pod', () => {
    const { objects } = template(chart);
    expect(policies(objects).map((p) => p.metadata.name)).toEqual([name]);
    const spec = specOf(named(objects, 'NetworkPolicy', name));
    expect(spec.podSelector).toEqual({ matchLabels: release });
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const workloads = objects.filter((o) => ['Deployment', 'Job', 'Pod'].includes(o.kind));
    const jobs = workloads.filter((w) => w.kind === 'Job').map((j) => j.metadata.name);
    expect(jobs).toEqual(expect.arrayContaining([`${name}-migrate`, `${name}-migrate-post-deploy`]));
    for (const w of workloads) {
      expect({ workload: `${w.kind}/${w.metadata.name}`, selected: selects(spec.podSelector, podLabelsOf(w)) }).toEqual(
        { workload: `${w.kind}/${w.metadata.name}`, selected: true },
      );
    }
    // ... and no pod of another release or service.
    expect(selects(spec.podSelector, { ...release, 'app.kubernetes.io/instance': 'other' })).toBe(false);
  });

  test('by default, the container port is open to the release, the namespace and the monitoring namespace; egress only to DNS, port 5432 and its own service pods', () => {
    const spec = specOf(named(template(chart).objects, 'NetworkPolicy', name));
    expect(spec.ingress).toEqual([
      { from: [{ podSelector: { matchLabels: release } }, { podSelector: {} }], ports: [tcp(8080)] },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
            podSelector: {},
          },
        ],
        ports: [tcp(8080)],
      },
    ]);
    expect(spec.egress).toEqual([
      DNS_RULE,
      { ports: [tcp(5432)] },
      { to: [{ podSelector: { matchLabels: servers } }], ports: [tcp(8080)] },
    ]);
  });

  test('networkPolicy.enabled=false renders none', () => {
    expect(policies(template(chart, { networkPolicy: { enabled: false } }).objects)).toEqual([]);
  });
});

describe('NetworkPolicy values', () => {
  const chart = 'order-service';
  const policy = (values: Record<string, unknown>) =>
    specOf(named(template(chart, { networkPolicy: values }).objects, 'NetworkPolicy', `r-${chart}`));
  const release = { 'app.kubernetes.io/name': chart, 'app.kubernetes.io/instance': 'r' };

  test('ingress.sameNamespace=false and ingress.from: the release and the given peers only', () => {
    const ingressNginx = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } };
    const gateway = { podSelector: { matchLabels: { app: 'api-gateway' } } };
    const { ingress } = policy({ ingress: { sameNamespace: false, from: [ingressNginx, gateway] } });
    expect(ingress[0]).toEqual({
      from: [{ podSelector: { matchLabels: release } }, ingressNginx, gateway],
      ports: [tcp(8080)],
    });
  });

  test('monitoring selectors are used as given (Helm merges maps: null drops a default label), and monitoring.enabled=false removes the rule', () => {
    const prometheus = { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } };
    const observability = { matchLabels: { team: 'observability' } };
    const merged = policy({ monitoring: { namespaceSelector: observability } }).ingress[1]!.from![0]!;
    expect(merged.namespaceSelector).toEqual({
      matchLabels: { 'kubernetes.io/metadata.name': 'monitoring', team: 'observability' },
    });
    const replaced = { matchLabels: { 'kubernetes.io/metadata.name': null, team: 'observability' } };
    const { ingress } = policy({ monitoring: { namespaceSelector: replaced, podSelector: prometheus } });
    expect(ingress[1]).toEqual({
      from: [{ namespaceSelector: observability, podSelector: prometheus }],
      ports: [tcp(8080)],
    });
    expect(policy({ monitoring: { enabled: false } }).ingress).toHaveLength(1);
  });

  test('database.ports and database.to: every port, to the given peers only', () => {
    const db = { ipBlock: { cidr: '10.0.5.12/32' } };
    const { egress } = policy({ database: { ports: [5432, 6432], to: [db] } });
    expect(egress[1]).toEqual({ ports: [tcp(5432), tcp(6432)], to: [db] });
  });

  test('dns.to: [] allows port 53 to any address; custom DNS peers are used as given', () => {
    expect(policy({ dns: { to: [] } }).egress[0]).toEqual({ ports: DNS_RULE.ports });
    const nodeLocal = { ipBlock: { cidr: '169.254.20.10/32' } };
    expect(policy({ dns: { to: [nodeLocal] } }).egress[0]).toEqual({ ports: DNS_RULE.ports, to: [nodeLocal] });
  });

  test('egress.extra rules are appended as given (a call to another service)', () => {
    const auth = {
      to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'auth-service' } } }],
      ports: [{ protocol: 'TCP', port: 8080 }],
    };
    const { egress } = policy({ egress: { extra: [auth] } });
    expect(egress).toHaveLength(4);
    expect(egress[3]).toEqual(auth);
  });

  test('the ports follow containerPort (what the pods listen on), not service.port', () => {
    const { objects } = template(chart, { containerPort: 9090, service: { port: 8081 } });
    const spec = specOf(named(objects, 'NetworkPolicy', `r-${chart}`));
    expect(spec.ingress.map((r) => r.ports)).toEqual([[tcp(9090)], [tcp(9090)]]);
    expect(spec.egress[2]!.ports).toEqual([tcp(9090)]);
  });

  test.each([
    [{ enabled: 'yes' }, "at '/networkPolicy/enabled': got string, want boolean"],
    [{ database: { ports: ['5432'] } }, "at '/networkPolicy/database/ports/0': got string, want integer"],
    [{ database: { ports: [] } }, "at '/networkPolicy/database/ports': minItems: got 0, want 1"],
    [{ database: { ports: [70000] } }, "at '/networkPolicy/database/ports/0': maximum: got 70,000, want 65,535"],
    [{ ingress: { from: [{ namespaceSelecter: {} }] } }, "additional properties 'namespaceSelecter' not allowed"],
    [{ ingress: { from: [{}] } }, "at '/networkPolicy/ingress/from/0': minProperties: got 0, want 1"],
    [{ database: { to: [{ ipBlock: { cidr: '10.0.5.12' } }] } }, "at '/networkPolicy/database/to/0/ipBlock/cidr'"],
    [{ egress: { extra: [{ to: [], port: 443 }] } }, "additional properties 'port' not allowed"],
  ])('the schema refuses %j naming the value', (values, message) => {
    expect(templateError(chart, { networkPolicy: values })).toContain(message);
  });
});

describe('the umbrella chart', () => {
  const serviceOf = (p: K8sObject) => specOf(p).podSelector.matchLabels?.['app.kubernetes.io/name'];

  test('renders one NetworkPolicy per service, each selecting that service', () => {
    const found = policies(template('webrana').objects);
    expect(found.map((p) => p.metadata.name).sort()).toEqual(SERVICE_CHARTS.map((s) => `r-${s}`).sort());
    expect(found.map(serviceOf).sort()).toEqual([...SERVICE_CHARTS].sort());
  });

  test("passes each service's networkPolicy values through to its policy", () => {
    const { objects } = template('webrana', {
      'order-service': { networkPolicy: { enabled: false } },
      'billing-service': { networkPolicy: { database: { ports: [6432] } } },
    });
    expect(policies(objects).map(serviceOf).sort()).toEqual(['auth-service', 'billing-service', 'catalog-service']);
    expect(specOf(named(objects, 'NetworkPolicy', 'r-billing-service')).egress[1]).toEqual({ ports: [tcp(6432)] });
  });
});
