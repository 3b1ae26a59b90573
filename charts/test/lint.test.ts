import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  APPLICATION_CHARTS,
  BUILD_TIMEOUT_MS,
  CHARTS_DIR,
  OPERATOR_CHART,
  SERVICE_CHART,
  SERVICE_CHARTS,
  UMBRELLA_CHART,
  chartArgs,
  helm,
  helmBinary,
  template,
  valueFlags,
} from './helm';

// What CI requires of every chart: `helm lint --strict` (warnings fail too) and a clean `helm template`.
// The service chart is linted as each umbrella alias renders it: with its ci/<service>-values.yaml.

/** A values set that switches on everything optional, to lint the less travelled template branches. */
const EVERYTHING_ON = {
  database: { url: 'postgresql://webrana:Lint-only-pw1@db.internal:5432/webrana_lint' },
  replicaCount: 3,
  metrics: { serviceMonitor: { enabled: true, scrapeHealthDb: true, labels: { release: 'prometheus' } } },
  podDisruptionBudget: { maxUnavailable: '50%' },
  config: { extraEnv: { FEATURE_FLAG: 'on' } },
  imagePullSecrets: [{ name: 'registry' }],
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'webrana', effect: 'NoSchedule' }],
  priorityClassName: 'webrana',
  hooks: { serviceAccountName: 'webrana-hooks' },
  image: { digest: `sha256:${'a'.repeat(64)}` },
  networkPolicy: {
    ingress: {
      sameNamespace: false,
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }],
    },
    dns: { to: [{ ipBlock: { cidr: '169.254.20.10/32' } }] },
    database: { ports: [5432, 6432], to: [{ ipBlock: { cidr: '10.0.5.12/32' } }] },
    egress: { extra: [{ to: [{ ipBlock: { cidr: '192.0.2.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }] },
  },
};

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

describe('helm lint --strict', () => {
  test.each([...SERVICE_CHARTS, OPERATOR_CHART, UMBRELLA_CHART])(
    '%s passes with its default values, without warnings',
    (chart) => {
      const [dir, ...flags] = (SERVICE_CHARTS as readonly string[]).includes(chart)
        ? [SERVICE_CHART, '-f', path.join(CHARTS_DIR, SERVICE_CHART, 'ci', `${chart}-values.yaml`)]
        : chartArgs(chart);
      const result = helm(['lint', '--strict', dir!, ...flags]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(result.status).toBe(0);
    },
  );

  test.each(['auth-service', 'catalog-service', 'order-service', 'billing-service'])(
    '%s passes with every optional feature switched on',
    (chart) => {
      const result = helm(['lint', '--strict', ...chartArgs(chart), ...valueFlags(EVERYTHING_ON)]);
      expect(result.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      expect(result.status).toBe(0);
    },
  );
});

describe('helm template', () => {
  test.each(APPLICATION_CHARTS)('%s renders with its default values and prints nothing on stderr', (chart) => {
    const result = helm(['template', 'r', ...chartArgs(chart)]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(template(chart).objects.length).toBeGreaterThan(0);
  });

  test('the service chart alone, without serviceName, fails naming the value to set', () => {
    const result = helm(['template', 'r', SERVICE_CHART]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('serviceName "webrana-service" is not a WeBrana service; set serviceName');
  });

  test('there is one ci/<service>-values.yaml per service, and nothing else in ci/', () => {
    expect(fs.readdirSync(path.join(CHARTS_DIR, SERVICE_CHART, 'ci')).sort()).toEqual(
      SERVICE_CHARTS.map((s) => `${s}-values.yaml`).sort(),
    );
  });

  test('no rendered line ends in whitespace and no document is empty', () => {
    for (const chart of APPLICATION_CHARTS) {
      const { text } = template(chart, chart === 'webrana' ? {} : EVERYTHING_ON);
      expect(text.split('\n').filter((line) => /\s$/.test(line))).toEqual([]);
      expect(text).not.toMatch(/---\s*\n---/);
    }
  });
});
