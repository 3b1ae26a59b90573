import {
  BUILD_TIMEOUT_MS,
  SERVICE_CHARTS,
  byKind,
  helmBinary,
  named,
  podLabelsOf,
  podSpecOf,
  renderNotes,
  template,
  type K8sObject,
} from './helm';

// What the service charts render: objects, names, labels, selectors, probes, scraping, images.

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

const container = (object: K8sObject, index = 0) => {
  const spec = podSpecOf(object);
  const found = spec?.containers[index];
  if (!found) throw new Error(`${object.kind}/${object.metadata.name} has no container ${index}`);
  return found as Record<string, unknown> & {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  };
};

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe.each(SERVICE_CHARTS)('%s chart', (chart) => {
  const rendered = template(chart);
  const { objects } = rendered;
  const name = `r-${chart}`;

  test('renders a Deployment, Service, ServiceAccount, ConfigMap, PodDisruptionBudget, NetworkPolicy and the helm test pod', () => {
    const kinds = objects.filter((o) => !o.metadata.annotations?.['helm.sh/hook']?.match(/install|upgrade/));
    expect(kinds.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        `ConfigMap/${name}`,
        `Deployment/${name}`,
        `NetworkPolicy/${name}`,
        `Pod/${name}-test-health-db`,
        `PodDisruptionBudget/${name}`,
        `Service/${name}`,
        `ServiceAccount/${name}`,
      ].sort(),
    );
  });

  test('every object carries the app.kubernetes.io labels and the namespace', () => {
    for (const object of objects) {
      expect(object.metadata.namespace).toBe('ns');
      expect(object.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': chart,
        'app.kubernetes.io/instance': 'r',
        'app.kubernetes.io/version': '0.1.0',
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/part-of': 'webrana',
        'helm.sh/chart': `${chart}-0.1.0`,
      });
      expect(object.metadata.labels?.['app.kubernetes.io/component']).toMatch(
        /^(server|migration|post-deploy-migration|seed|test|database|network-policy)$/,
      );
    }
  });

  test("the Service and the PDB select exactly the Deployment's pods, never a hook Job's or the test pod", () => {
    const deployment = named(objects, 'Deployment', name);
    const selector = (deployment.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    expect(selector).toEqual({
      'app.kubernetes.io/name': chart,
      'app.kubernetes.io/instance': 'r',
      'app.kubernetes.io/component': 'server',
    });
    expect(matches(selector, podLabelsOf(deployment))).toBe(true);
    expect((named(objects, 'Service', name).spec as { selector: unknown }).selector).toEqual(selector);
    const pdb = named(objects, 'PodDisruptionBudget', name);
    expect((pdb.spec as { selector: { matchLabels: unknown } }).selector.matchLabels).toEqual(selector);
    for (const other of [...byKind(objects, 'Job'), ...byKind(objects, 'Pod')]) {
      expect(matches(selector, podLabelsOf(other))).toBe(false);
    }
  });

  test('the service runs its image at the chart appVersion on port 8080 with probes on /health/live and /health/ready', () => {
    const deployment = named(objects, 'Deployment', name);
    const c = container(deployment);
    expect(c.image).toBe(`webrana/${chart}:0.1.0`);
    expect(c.command).toBeUndefined(); // the image's own entrypoint
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe).toMatchObject({ httpGet: { path: '/health/live', port: 'http' } });
    expect(c.readinessProbe).toMatchObject({ httpGet: { path: '/health/ready', port: 'http' } });
    expect(c.startupProbe).toMatchObject({ httpGet: { path: '/health/live', port: 'http' } });
    expect(c.resources).toEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } });
  });

  test('settings reach the service through its ConfigMap, the database URL only through a Secret', () => {
    const configMap = named(objects, 'ConfigMap', name);
    expect(configMap.data).toEqual({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '8080',
      LOG_LEVEL: 'info',
      HEALTH_TIMEOUT_MS: '2000',
      HEALTH_CACHE_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '10000',
    });
    const c = container(named(objects, 'Deployment', name));
    expect(c.envFrom).toEqual([{ configMapRef: { name } }]);
    const variable = `${chart.replace('-service', '').toUpperCase()}_DATABASE_URL`;
    expect(c.env).toEqual([
      { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'webrana-database', key: variable } } },
    ]);
  });

  test('a ConfigMap change rolls the pods (checksum annotation), other values do not', () => {
    const checksum = (values: Record<string, unknown>) =>
      (
        named(template(chart, values).objects, 'Deployment', name).spec as {
          template: { metadata: { annotations: Record<string, string> } };
        }
      ).template.metadata.annotations['checksum/config'];
    expect(checksum({ logLevel: 'debug' })).not.toBe(checksum({}));
    expect(checksum({ replicaCount: 5 })).toBe(checksum({}));
  });

  test('pods carry the prometheus.io annotations for /metrics on the container port', () => {
    const deployment = named(objects, 'Deployment', name);
    const annotations = (deployment.spec as { template: { metadata: { annotations: Record<string, string> } } })
      .template.metadata.annotations;
    expect(annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '8080',
      'prometheus.io/path': '/metrics',
    });
    const off = named(template(chart, { metrics: { podAnnotations: false } }).objects, 'Deployment', name);
    expect(JSON.stringify(off)).not.toContain('prometheus.io/scrape');
  });

  test('a ServiceMonitor exists only when asked for, scraping /metrics and optionally /health/db', () => {
    expect(byKind(objects, 'ServiceMonitor')).toEqual([]);
    const on = template(chart, {
      metrics: { serviceMonitor: { enabled: true, scrapeHealthDb: true, labels: { release: 'kube-prometheus' } } },
    });
    const monitor = named(on.objects, 'ServiceMonitor', name);
    expect(monitor.metadata.labels).toMatchObject({ release: 'kube-prometheus' });
    const spec = monitor.spec as {
      endpoints: Array<{ port: string; path: string }>;
      selector: { matchLabels: unknown };
    };
    expect(spec.endpoints.map((e) => [e.port, e.path])).toEqual([
      ['http', '/metrics'],
      ['http', '/health/db'],
    ]);
    // A ServiceMonitor selects Services: the chart's Service carries these labels.
    expect(named(on.objects, 'Service', name).metadata.labels).toMatchObject(spec.selector.matchLabels as object);
  });

  test('a PodDisruptionBudget exists only with more than one replica', () => {
    expect(byKind(template(chart, { replicaCount: 1 }).objects, 'PodDisruptionBudget')).toEqual([]);
    expect(byKind(template(chart, { replicaCount: 2 }).objects, 'PodDisruptionBudget')).toHaveLength(1);
    const pdb = named(
      template(chart, { podDisruptionBudget: { maxUnavailable: 1 } }).objects,
      'PodDisruptionBudget',
      name,
    );
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1 });
    expect(pdb.spec).not.toHaveProperty('minAvailable');
  });

  test('image tags and digests come from values, defaulting to the appVersion', () => {
    const tagged = template(chart, { image: { tag: '1.2.3' }, jobsImage: { tag: '1.2.4' } }).objects;
    expect(container(named(tagged, 'Deployment', name)).image).toBe(`webrana/${chart}:1.2.3`);
    expect(container(named(tagged, 'Job', `${name}-migrate`)).image).toBe('webrana/jobs:1.2.4');
    const digest = `sha256:${'b'.repeat(64)}`;
    const pinned = template(chart, { image: { digest } }).objects;
    expect(container(named(pinned, 'Deployment', name)).image).toBe(`webrana/${chart}@${digest}`);
  });

  test('names follow the release: "<release>-<chart>", or the release name when it contains the chart name', () => {
    expect(byKind(template(chart, {}, chart).objects, 'Deployment')[0]?.metadata.name).toBe(chart);
    expect(byKind(template(chart, { fullnameOverride: 'x' }).objects, 'Deployment')[0]?.metadata.name).toBe('x');
    const long = template(chart, {}, 'a'.repeat(53)).objects;
    for (const object of long) expect(object.metadata.name.length).toBeLessThanOrEqual(63);
  });

  test('the helm test pod GETs /health/db through the Service', () => {
    const pod = named(objects, 'Pod', `${name}-test-health-db`);
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    const c = container(pod);
    expect(c.image).toBe(`webrana/${chart}:0.1.0`);
    expect(c.command?.slice(0, 2)).toEqual(['node', '-e']);
    expect(c.env).toEqual([{ name: 'HEALTH_DB_URL', value: `http://${name}.ns.svc:80/health/db` }]);
    expect(byKind(template(chart, { tests: { enabled: false } }).objects, 'Pod')).toEqual([]);
  });

  test('NOTES.txt names the Secret and key of the database URL, never the URL', () => {
    const url = 'postgresql://webrana:N0tes-Must-Not-Show@db.internal:5432/webrana_x?sslmode=require';
    const notes = renderNotes(chart, { database: { url } });
    expect(notes).toContain(`Secret "${name}-database"`);
    expect(notes).not.toContain('N0tes-Must-Not-Show');
    expect(notes).not.toContain('db.internal');
    const existing = renderNotes(chart, { database: { existingSecret: 'pg-urls', existingSecretKey: 'url' } });
    expect(existing).toContain('Secret "pg-urls" key "url"');
    expect(existing).toContain(`helm test r -n ns`);
  });
});

describe('webrana umbrella chart', () => {
  test('installs the four services, each with its own objects, from one values file', () => {
    const { objects } = template('webrana', {}, 'webrana');
    expect(
      byKind(objects, 'Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual(SERVICE_CHARTS.map((s) => `webrana-${s}`).sort());
    for (const service of SERVICE_CHARTS) {
      expect(named(objects, 'Deployment', `webrana-${service}`).metadata.labels?.['app.kubernetes.io/name']).toBe(
        service,
      );
    }
  });

  test('a service is left out with <service>.enabled=false', () => {
    const { objects } = template('webrana', { 'order-service': { enabled: false } }, 'webrana');
    expect(objects.filter((o) => o.metadata.name.startsWith('webrana-order-service'))).toEqual([]);
    expect(byKind(objects, 'Deployment')).toHaveLength(3);
  });

  test('values under a service key reach that service only', () => {
    const { objects } = template('webrana', { 'catalog-service': { replicaCount: 4, logLevel: 'debug' } }, 'webrana');
    expect((named(objects, 'Deployment', 'webrana-catalog-service').spec as { replicas: number }).replicas).toBe(4);
    expect((named(objects, 'Deployment', 'webrana-auth-service').spec as { replicas: number }).replicas).toBe(2);
    expect(named(objects, 'ConfigMap', 'webrana-catalog-service').data).toMatchObject({ LOG_LEVEL: 'debug' });
    expect(named(objects, 'ConfigMap', 'webrana-auth-service').data).toMatchObject({ LOG_LEVEL: 'info' });
  });

  test('by default every service reads its URL from the one Secret webrana-database, under its own variable, as DATABASE_URL', () => {
    const { objects } = template('webrana', {}, 'webrana');
    for (const service of SERVICE_CHARTS) {
      const variable = `${service.replace('-service', '').toUpperCase()}_DATABASE_URL`;
      const env = container(named(objects, 'Deployment', `webrana-${service}`)).env;
      expect(env).toEqual([
        { name: 'DATABASE_URL', valueFrom: { secretKeyRef: { name: 'webrana-database', key: variable } } },
      ]);
    }
  });

  test('NOTES.txt lists the services and where their URLs come from, never a URL', () => {
    const notes = renderNotes(
      'webrana',
      { 'auth-service': { database: { url: 'postgresql://u:Umbrella-Secret-9@h:5432/webrana_auth' } } },
      'webrana',
    );
    expect(notes).toContain('catalog-service: database URL from Secret "webrana-database" key "CATALOG_DATABASE_URL"');
    expect(notes).toContain('auth-service: database URL from database.url');
    expect(notes).not.toContain('Umbrella-Secret-9');
  });
});
