import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { SERVICES, dependencyWaves } from '@webrana/registry';
import { CHARTS_DIR, OPERATOR_CHART, REPO_ROOT, SERVICE_CHART, UMBRELLA_CHART, template } from './helm';

// One service chart, installed once per service by the umbrella (alias:). What differs between the
// services lives in its values (services.<name>), which must say what packages/registry says.

interface ChartYaml {
  name: string;
  version: string;
  dependencies?: Array<{ name: string; alias?: string; version: string; repository: string; condition?: string }>;
}
const chartYaml = (chart: string) =>
  yaml.load(fs.readFileSync(path.join(CHARTS_DIR, chart, 'Chart.yaml'), 'utf8')) as ChartYaml;
const serviceValues = yaml.load(fs.readFileSync(path.join(CHARTS_DIR, SERVICE_CHART, 'values.yaml'), 'utf8')) as {
  services: Record<string, { wave: number; seeds: boolean; seedPasswordKeys: string[] }>;
};

test('the service facts in values.yaml (wave, seeds, seed password keys) are what packages/registry and webrana-jobs seed say', () => {
  const waves = dependencyWaves(SERVICES);
  const seedHelp = fs.readFileSync(path.join(REPO_ROOT, 'jobs', 'src', 'commands', 'seed.ts'), 'utf8');
  expect(Object.keys(serviceValues.services)).toEqual(SERVICES.map((s) => s.name));
  for (const s of SERVICES) {
    const facts = serviceValues.services[s.name]!;
    expect([s.name, facts.wave, facts.seeds]).toEqual([
      s.name,
      waves.findIndex((w) => w.some((x) => x.name === s.name)),
      s.hasSeed,
    ]);
    if (facts.seedPasswordKeys.length > 0) {
      expect(s.hasSeed).toBe(true);
      // webrana-jobs seed's help names the variables each service's seed reads.
      expect(seedHelp).toContain(`${s.name} reads ${facts.seedPasswordKeys.join(', ')}`);
    }
  }
});

test('the umbrella installs the one service chart once per registry service (alias), and the operator behind global.migrateWithOperator', () => {
  const service = chartYaml(SERVICE_CHART);
  expect(chartYaml(UMBRELLA_CHART).dependencies).toEqual([
    ...SERVICES.map((s) => ({
      name: SERVICE_CHART,
      alias: s.name,
      version: service.version,
      repository: `file://../${SERVICE_CHART}`,
      condition: `${s.name}.enabled`,
    })),
    {
      name: OPERATOR_CHART,
      version: chartYaml(OPERATOR_CHART).version,
      repository: `file://../${OPERATOR_CHART}`,
      condition: 'global.migrateWithOperator',
    },
  ]);
});

test('no chart holds a symbolic link (scanners such as Checkov skip charts whose helm template warns about one)', () => {
  const links: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) links.push(path.relative(CHARTS_DIR, file));
      else if (entry.isDirectory()) walk(file);
    }
  };
  walk(CHARTS_DIR);
  expect(links).toEqual([]);
});

test.each(SERVICES.map((s) => s.name))(
  'the umbrella alias %s renders the same objects as the chart installed alone for that service',
  (service) => {
    const strip = (text: string) => text.replace(/^# Source: .*$/gm, '');
    const alone = template(service, {}, 'webrana');
    const umbrella = template('webrana', {}, 'webrana');
    const ownObjects = (objects: typeof alone.objects) =>
      objects.filter((o) => o.metadata.name.startsWith(`webrana-${service}`)).map((o) => JSON.stringify(o));
    expect(ownObjects(umbrella.objects).sort()).toEqual(ownObjects(alone.objects).sort());
    expect(strip(alone.text)).not.toContain('webrana-service');
  },
);
