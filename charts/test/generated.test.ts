import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { SERVICES, SERVICE_NAMES } from '@webrana/registry';
import { CHARTS_DIR, LIBRARY_CHART, REPO_ROOT, SERVICE_CHARTS } from './helm';

// The four service charts derive from packages/registry through charts/tools/generate-service-charts.js,
// and link (not copy) the library chart; the umbrella lists exactly the registry's services.

const GENERATOR = path.join(CHARTS_DIR, 'tools', 'generate-service-charts.js');

interface ChartYaml {
  name: string;
  version: string;
  appVersion: string;
  type?: string;
  dependencies?: Array<{ name: string; version: string; repository: string; condition?: string }>;
}
const chartYaml = (chart: string) =>
  yaml.load(fs.readFileSync(path.join(CHARTS_DIR, chart, 'Chart.yaml'), 'utf8')) as ChartYaml;

test('the service charts on disk are what the generator makes from the registry (node charts/tools/generate-service-charts.js)', () => {
  const check = spawnSync(process.execPath, [GENERATOR, '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
  expect(check.stderr).toBe('');
  expect(check.stdout.trim()).toBe('service charts are up to date');
  expect(check.status).toBe(0);
});

test('there is one service chart per registry service, named after it', () => {
  expect([...SERVICE_CHARTS]).toEqual([...SERVICE_NAMES]);
  for (const service of SERVICES) {
    const values = yaml.load(fs.readFileSync(path.join(CHARTS_DIR, service.name, 'values.yaml'), 'utf8')) as {
      serviceName: string;
      seed: { enabled: boolean };
      image: { repository: string };
    };
    expect(values.serviceName).toBe(service.name);
    expect(values.seed.enabled).toBe(service.hasSeed);
    expect(values.image.repository).toBe(`webrana/${service.name}`);
  }
});

test.each(SERVICE_CHARTS)('%s depends on the library chart through a link, so it never runs a stale copy', (chart) => {
  const meta = chartYaml(chart);
  const library = chartYaml(LIBRARY_CHART);
  expect(library.type).toBe('library');
  expect(meta.dependencies).toEqual([
    { name: LIBRARY_CHART, version: library.version, repository: `file://../${LIBRARY_CHART}` },
  ]);
  const link = path.join(CHARTS_DIR, chart, 'charts', LIBRARY_CHART);
  expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
  expect(fs.realpathSync(link)).toBe(path.join(CHARTS_DIR, LIBRARY_CHART));
  // A packaged copy beside the link (left by `helm dependency build`) could shadow the library.
  expect(fs.readdirSync(path.join(CHARTS_DIR, chart, 'charts'))).toEqual([LIBRARY_CHART]);
});

test('the umbrella chart depends on exactly the registry services and the operator, each behind <name>.enabled', () => {
  const meta = chartYaml('webrana');
  const charts = [...SERVICES.map((s) => s.name), 'webrana-operator'];
  expect(meta.dependencies).toEqual(
    charts.map((name) => ({
      name,
      version: chartYaml(name).version,
      repository: `file://../${name}`,
      condition: `${name}.enabled`,
    })),
  );
  for (const s of SERVICES) {
    expect(fs.realpathSync(path.join(CHARTS_DIR, 'webrana', 'charts', s.name))).toBe(path.join(CHARTS_DIR, s.name));
  }
  expect(fs.readdirSync(path.join(CHARTS_DIR, 'webrana', 'charts')).sort()).toEqual(
    [...SERVICE_NAMES, 'webrana-operator'].sort(),
  );
});
