import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as yaml from 'js-yaml';
import { buildOperator, CHART_DIR, OPERATOR_DIR } from './harness';

// `webrana-operator crd [restore]`: what regenerates the chart's CRD files prints exactly what they hold.
const run = (...args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(OPERATOR_DIR, 'bin', 'webrana-operator.js'), ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
const chartCrd = (file: string) => yaml.load(fs.readFileSync(path.join(CHART_DIR, 'crds', file), 'utf8'));

beforeAll(() => buildOperator(), 300_000);

test('crd prints the WebranaDatabase CRD and crd restore the WebranaRestore CRD, each as the chart ships it', async () => {
  expect(yaml.load((await run('crd')).stdout)).toEqual(chartCrd('webranadatabases.webrana.cloud.yaml'));
  expect(yaml.load((await run('crd', 'restore')).stdout)).toEqual(chartCrd('webranarestores.webrana.cloud.yaml'));
});

test('crd with anything else is a usage error (exit 2) naming the arguments', async () => {
  const r = await run('crd', 'other');
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('unexpected arguments: crd other');
  expect(r.stderr).toContain('webrana-operator crd restore');
});
