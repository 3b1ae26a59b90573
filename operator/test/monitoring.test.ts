import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { createServiceMetrics } from '@webrana/service-kit';
import { REPO_ROOT } from '@webrana/registry';
import { OPERATOR_CHART, byKind, named, template } from '../../charts/test/helm';
import { createMetrics } from '../src/runtime/metrics';

// The alert rules (one file, two forms), their promtool tests, the runbooks they link to, and the
// Grafana dashboard: real promtool, real helm, the real metric registries.
const CHART = path.join(REPO_ROOT, 'charts', 'webrana-operator');
const RULES_FILE = path.join(CHART, 'files', 'webrana-rules.yaml');
const RULES_TESTS = path.join(__dirname, 'promtool', 'webrana-rules.test.yaml');
const DASHBOARD_FILE = path.join(CHART, 'files', 'webrana-dashboard.json');
const RUNBOOKS = path.join(REPO_ROOT, 'docs', 'runbooks', 'alerts.md');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

const rulesOf = (file: RuleFile) => file.groups.flatMap((g) => g.rules);
const plainRules = () => yaml.load(fs.readFileSync(RULES_FILE, 'utf8')) as RuleFile;

function promtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8', cwd: REPO_ROOT, timeout: 120_000 });
  if (r.error) throw new Error(`promtool: ${r.error.message} (Debian package prometheus; .ci/run installs it)`);
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('alert rules', () => {
  test('promtool check rules accepts the rules file: the six alerts', () => {
    const r = promtool(['check', 'rules', RULES_FILE]);
    expect(r.out).toContain('SUCCESS: 6 rules found');
    expect(r.status).toBe(0);
    expect(rulesOf(plainRules()).map((x) => x.alert)).toEqual([
      'WebranaBackupMissing',
      'WebranaBackupFailed',
      'WebranaBackupNotVerified',
      'WebranaMigrationFailed',
      'WebranaDatabaseDown',
      'WebranaOperatorDown',
    ]);
  });

  test('promtool test rules: every alert fires, stays quiet and resolves as its unit tests say', () => {
    const r = promtool(['test', 'rules', RULES_TESTS]);
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
    // Every alert has a test where it fires and one where it does not.
    const tests = (
      yaml.load(fs.readFileSync(RULES_TESTS, 'utf8')) as {
        tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    for (const rule of rulesOf(plainRules())) {
      const mine = tests.filter((t) => t.alertname === rule.alert);
      expect([rule.alert, mine.some((t) => t.exp_alerts.length > 0)]).toEqual([rule.alert, true]);
      expect([rule.alert, mine.some((t) => t.exp_alerts.length === 0)]).toEqual([rule.alert, true]);
    }
  });

  test('promtool test rules fails when a rule changes (the unit tests can fail)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rules-'));
    try {
      const changed = fs
        .readFileSync(RULES_FILE, 'utf8')
        .replace('webrana_db_up == 0\n        for: 2m', 'webrana_db_up == 0\n        for: 3m');
      expect(changed).not.toBe(fs.readFileSync(RULES_FILE, 'utf8'));
      fs.writeFileSync(path.join(dir, 'rules.yaml'), changed);
      const tests = fs
        .readFileSync(RULES_TESTS, 'utf8')
        .replace('../../../charts/webrana-operator/files/webrana-rules.yaml', path.join(dir, 'rules.yaml'));
      fs.writeFileSync(path.join(dir, 'tests.yaml'), tests);
      const r = promtool(['test', 'rules', path.join(dir, 'tests.yaml')]);
      expect(r.status).not.toBe(0);
      expect(r.out).toContain('WebranaDatabaseDown');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every alert has a summary, a description and a runbook_url naming a section of docs/runbooks/alerts.md', () => {
    const anchors = new Set(
      [...fs.readFileSync(RUNBOOKS, 'utf8').matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
        m[1]!
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    for (const rule of rulesOf(plainRules())) {
      expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'runbook_url', 'summary']);
      const [file, anchor] = (rule.annotations?.runbook_url ?? '').split('#');
      expect(file).toBe('docs/runbooks/alerts.md');
      expect([rule.alert, anchors.has(anchor ?? '')]).toEqual([rule.alert, true]);
      expect(anchor).toBe(rule.alert.toLowerCase());
    }
  });
});

describe('operator chart: PrometheusRule', () => {
  test('off by default; when enabled, its spec is exactly the plain rules file', () => {
    expect(byKind(template(OPERATOR_CHART).objects, 'PrometheusRule')).toEqual([]);
    const rendered = named(
      template(OPERATOR_CHART, { prometheusRule: { enabled: true, labels: { release: 'kps' } } }).objects,
      'PrometheusRule',
      'r-webrana-operator',
    );
    expect(rendered.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rendered.metadata.labels?.release).toBe('kps');
    expect(rendered.spec).toEqual(plainRules());
  });

  test('backupMissingAfterHours changes the backup age and runbookBaseUrl prefixes the runbook links, nothing else', () => {
    const rendered = named(
      template(OPERATOR_CHART, {
        prometheusRule: { enabled: true, backupMissingAfterHours: 50, runbookBaseUrl: 'https://git.example/webrana/' },
      }).objects,
      'PrometheusRule',
      'r-webrana-operator',
    ).spec as RuleFile;
    const expected = plainRules();
    for (const rule of rulesOf(expected)) {
      rule.expr = rule.expr.replaceAll('(26 * 3600)', '(50 * 3600)');
      rule.annotations!.runbook_url = `https://git.example/webrana/${rule.annotations!.runbook_url}`;
    }
    expect(rendered).toEqual(expected);
    expect(rulesOf(rendered)[0]?.expr).toContain('(50 * 3600)');
  });
});

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels or strings. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\w+/g, '');
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'inf', 'nan']);
  return [...stripped.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !keywords.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!)
    .filter((name) => !/^\d/.test(name));
}

/** Every series name the operator and a service export, from their real registries (histograms with their suffixes). */
async function exportedNames(): Promise<Set<string>> {
  const operator = createMetrics(() => 0, { backups: { databases: () => [], jobs: () => [] } }).registry;
  const service = createServiceMetrics('auth-service').registry;
  const names = new Set<string>();
  for (const registry of [operator, service]) {
    for (const m of await registry.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${m.name}${s}`);
      if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(`${m.name}${s}`);
    }
  }
  return names;
}

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: { title: string; targets?: { expr: string }[] }[];
    templating: { list: { query?: string | { query: string } }[] };
  };
  const exprs = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
    ...dashboard.templating.list
      .map((v) => (typeof v.query === 'object' ? v.query.query : undefined))
      .filter((q): q is string => Boolean(q?.startsWith('label_values(')))
      .map((q) => ({ where: 'variable', expr: /label_values\(([a-z_:]+)/.exec(q)![1]! })),
  ];

  test('every PromQL expression in it names only metrics the operator and the services export', async () => {
    const exported = await exportedNames();
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // The check itself: a name nobody exports is caught.
    expect(
      metricNames('rate(webrana_backup_nope_total{namespace=~"$namespace"}[5m])').filter((n) => !exported.has(n)),
    ).toEqual(['webrana_backup_nope_total']);
    // Every backup and migration metric appears on the dashboard.
    const used = new Set(exprs.flatMap(({ expr }) => metricNames(expr)));
    for (const name of [...exported].filter(
      (n) => n.startsWith('webrana_backup_') || n === 'webrana_migration_failed',
    )) {
      if (name === 'webrana_backup_expected_since_timestamp_seconds') continue; // for the alert only
      expect([name, used.has(name)]).toEqual([name, true]);
    }
  });

  test('every PromQL expression in it parses (promtool check rules, Grafana variables filled in)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboard-'));
    try {
      const rules = exprs.map(({ expr }, i) => ({
        record: `dashboard:expr_${i}`,
        expr: expr.replace(/\$__rate_interval/g, '5m').replace(/\$\w+/g, '.*'),
      }));
      fs.writeFileSync(path.join(dir, 'rules.yaml'), yaml.dump({ groups: [{ name: 'dashboard', rules }] }));
      const r = promtool(['check', 'rules', path.join(dir, 'rules.yaml')]);
      expect(r.out).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the chart ships it in a ConfigMap labelled grafana_dashboard: "1" (on by default, off-switchable, label configurable)', () => {
    const cm = named(template(OPERATOR_CHART).objects, 'ConfigMap', 'r-webrana-operator-dashboard') as unknown as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(cm.metadata.labels.grafana_dashboard).toBe('1');
    expect(JSON.parse(cm.data['webrana.json']!)).toEqual(dashboard);
    expect(byKind(template(OPERATOR_CHART, { grafanaDashboard: { enabled: false } }).objects, 'ConfigMap')).toEqual([]);
    const custom = named(
      template(OPERATOR_CHART, {
        grafanaDashboard: { enabled: true, label: 'dash', labelValue: 'yes', namespace: 'monitoring' },
      }).objects,
      'ConfigMap',
      'r-webrana-operator-dashboard',
    );
    expect(custom.metadata).toMatchObject({ namespace: 'monitoring', labels: { dash: 'yes' } });
  });
});
