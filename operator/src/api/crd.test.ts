import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { REPO_ROOT } from '@webrana/registry';
import { MAX_SERVICES, webranaDatabaseCrd } from './crd';
import { DEFAULTS } from './types';

const CHART_CRD = path.join(REPO_ROOT, 'charts', 'webrana-operator', 'crds', 'webranadatabases.webrana.cloud.yaml');

type Schema = {
  properties?: Record<string, Schema>;
  default?: unknown;
  'x-kubernetes-validations'?: { rule: string }[];
} & Record<string, unknown>;
const version = () => (webranaDatabaseCrd().spec.versions as Record<string, unknown>[])[0]!;
const root = () => (version().schema as { openAPIV3Schema: Schema }).openAPIV3Schema;
const at = (...keys: string[]): Schema => keys.reduce<Schema>((s, k) => s.properties![k]!, root());

describe('WebranaDatabase CRD', () => {
  test('the chart ships exactly the CRD the source defines', () => {
    const file = yaml.load(fs.readFileSync(CHART_CRD, 'utf8'));
    expect(file).toEqual(webranaDatabaseCrd());
  });

  test('is webranadatabases.webrana.cloud, namespaced, v1alpha1 served and stored, with a status subresource', () => {
    const crd = webranaDatabaseCrd();
    expect(crd.metadata.name).toBe('webranadatabases.webrana.cloud');
    expect(crd.spec.scope).toBe('Namespaced');
    expect(version()).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  test('kubectl get shows Ready, Phase, Migrated, Schedule and Age', () => {
    const columns = (version().additionalPrinterColumns as { name: string; priority?: number }[])
      .filter((c) => !c.priority)
      .map((c) => c.name);
    expect(columns).toEqual(['Ready', 'Phase', 'Migrated', 'Schedule', 'Age']);
  });

  test('the defaults in the schema are the ones the operator applies', () => {
    expect(at('spec', 'migration', 'backoffLimit').default).toBe(DEFAULTS.migration.backoffLimit);
    expect(at('spec', 'migration', 'activeDeadlineSeconds').default).toBe(DEFAULTS.migration.activeDeadlineSeconds);
    for (const k of ['daily', 'weekly', 'monthly'] as const) {
      expect(at('spec', 'backup', 'retention', k).default).toBe(DEFAULTS.backup.retention[k]);
      expect(at('spec', 'backup', 'retention', k).minimum).toBe(0);
    }
  });

  test('CEL rules cover duplicate names, unknown dependencies and self-dependencies', () => {
    const specRules = at('spec')['x-kubernetes-validations']!.map((r) => r.rule);
    expect(specRules.some((r) => r.includes('exists_one'))).toBe(true);
    expect(specRules.some((r) => r.includes('dependsOn.all'))).toBe(true);
    const itemRules = (at('spec', 'services').items as Schema)['x-kubernetes-validations']!.map((r) => r.rule);
    expect(itemRules).toEqual(['!has(self.dependsOn) || !(self.name in self.dependsOn)']);
    expect(at('spec', 'services').maxItems).toBe(MAX_SERVICES);
    expect(at('spec', 'services')['x-kubernetes-list-type']).toBe('map');
  });

  test('every object and array in the schema is bounded or typed (structural schema)', () => {
    const walk = (s: Schema, where: string): void => {
      if (!s['x-kubernetes-int-or-string']) expect([where, typeof s.type]).toEqual([where, 'string']);
      if (s.type === 'array') expect([where, s.items !== undefined]).toEqual([where, true]);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${where}.${k}`);
      if (s.items) walk(s.items as Schema, `${where}[]`);
    };
    walk(root(), '');
  });
});

describe('WebranaDatabase CRD: migration settings', () => {
  test("spec.migration's defaults are DEFAULTS.migration (the service chart's); services[].migration has none", () => {
    const d = DEFAULTS.migration;
    for (const k of [
      'backoffLimit',
      'activeDeadlineSeconds',
      'wait',
      'lockTimeout',
      'lockWait',
      'statementTimeout',
    ] as const) {
      expect([k, at('spec', 'migration', k).default]).toEqual([k, d[k]]);
    }
    const perService = ((at('spec', 'services').items as Schema).properties!.migration as Schema).properties!;
    for (const [k, s] of Object.entries(perService)) expect([k, s.default]).toEqual([k, undefined]);
  });

  test('the migration pod knobs are typed and checked: ids above 0, tolerations by CEL, affinity kinds', () => {
    const pod = at('spec', 'migration', 'pod');
    expect(Object.keys(pod.properties!).sort()).toEqual(
      ['affinity', 'fsGroup', 'nodeSelector', 'priorityClassName', 'runAsGroup', 'runAsUser', 'tolerations'].sort(),
    );
    for (const k of ['runAsUser', 'runAsGroup', 'fsGroup']) expect(pod.properties![k]!.minimum).toBe(1);
    const tolerationRules = ((pod.properties!.tolerations as Schema).items as Schema)['x-kubernetes-validations']!;
    expect(tolerationRules).toHaveLength(2);
    expect(Object.keys((pod.properties!.affinity as Schema).properties!)).toEqual([
      'nodeAffinity',
      'podAffinity',
      'podAntiAffinity',
    ]);
  });
});
