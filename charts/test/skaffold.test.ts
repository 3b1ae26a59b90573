// Keeps skaffold.yaml honest: what it builds exists, every image the charts run is built, and every
// value it sets is one the charts accept (helm renders with exactly those values).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { byKind, CHARTS_DIR, REPO_ROOT, SERVICE_CHARTS, template } from './helm';

interface Artifact {
  image: string;
  context: string;
  docker: { dockerfile: string; buildArgs?: Record<string, string> };
}
interface Release {
  name: string;
  chartPath: string;
  valuesFiles?: string[];
  setValueTemplates: Record<string, string>;
}
interface Skaffold {
  apiVersion: string;
  build: { artifacts: Artifact[] };
  deploy: { helm: { releases: Release[] } };
  profiles: {
    name: string;
    patches?: { path: string; value: Record<string, unknown> | string }[];
    portForward?: { resourceType: string; resourceName: string; port: number }[];
  }[];
}

const skaffold = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'skaffold.yaml'), 'utf8')) as Skaffold;
const releases = skaffold.deploy.helm.releases;
const [release] = releases;
const artifacts = skaffold.build.artifacts;

/** A dotted helm --set key as a nested values object. */
function nested(entries: [string, unknown][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of entries) {
    const parts = key.split('.');
    let node = root;
    parts.slice(0, -1).forEach((p) => (node = (node[p] ??= {}) as Record<string, unknown>));
    node[parts[parts.length - 1]!] = value;
  }
  return root;
}

/** Example values of the environment variables profiles' setValueTemplates read. */
const EXAMPLE_ENV: Record<string, string> = { WEBRANA_LAB_DB_PORT: '5433' };

/** A profile's setValueTemplates patches as skaffold passes them (--set key=value), the environment expanded. */
function templateSets(patches: { path: string; value: unknown }[] = []): string[] {
  return patches.flatMap((p) => {
    // Release 0 is the umbrella (release 1, the operator chart, is rendered by the real skaffold test).
    const key = /^\/deploy\/helm\/releases\/0\/setValueTemplates\/(.+)$/.exec(p.path)?.[1];
    if (!key) return [];
    const value = String(p.value).replace(/\{\{\.(\w+)\}\}/g, (_m, name: string) => EXAMPLE_ENV[name] ?? '<no value>');
    return ['--set', `${key}=${value}`];
  });
}

/** What skaffold would pass for a release's templates: an image's repository and a tag. */
const resolve = (r: Release) =>
  Object.entries(r.setValueTemplates).map(([key, tmpl]): [string, unknown] => [
    key,
    tmpl
      .replace(
        /\{\{\.IMAGE_REPO_(\w+)\}\}/,
        (_m, id: string) => artifacts.find((a) => a.image.replace(/[/-]/g, '_') === id)!.image,
      )
      .replace(/\{\{\.IMAGE_TAG_\w+\}\}/, 'dev-1234'),
  ]);
const resolvedTemplates = resolve(release!);

test('uses the skaffold v4 schema', () => {
  expect(skaffold.apiVersion).toMatch(/^skaffold\/v4beta\d+$/);
});

test.each(artifacts.map((a) => [a.image, a]))(
  'artifact %s: its context and Dockerfile exist, and its build args are real',
  (_image, artifact) => {
    expect(fs.existsSync(path.join(REPO_ROOT, artifact.context))).toBe(true);
    const dockerfile = fs.readFileSync(path.join(REPO_ROOT, artifact.context, artifact.docker.dockerfile), 'utf8');
    for (const arg of Object.keys(artifact.docker.buildArgs ?? {}))
      expect(dockerfile).toMatch(new RegExp(`^ARG ${arg}\\b`, 'm'));
  },
);

test('every template refers to an artifact skaffold builds', () => {
  for (const tmpl of releases.flatMap((r) => Object.values(r.setValueTemplates))) {
    for (const [, id] of tmpl.matchAll(/IMAGE_(?:REPO|TAG)_(\w+)/g)) {
      expect(artifacts.map((a) => a.image.replace(/[/-]/g, '_'))).toContain(id);
    }
  }
});

test.each(releases.map((r) => [r.name, r]))(
  'release %s: its chart renders with the images skaffold builds',
  (_name, r) => {
    expect(fs.existsSync(path.join(REPO_ROOT, r.chartPath, 'Chart.yaml'))).toBe(true);
    (r.valuesFiles ?? []).forEach((f) => expect(fs.existsSync(path.join(REPO_ROOT, f))).toBe(true));
    const rendered = template(path.relative(CHARTS_DIR, path.join(REPO_ROOT, r.chartPath)), nested(resolve(r)), r.name);
    const images = rendered.objects.flatMap((o) => {
      const spec = (o.spec as { template?: { spec?: { containers?: { image: string }[] } } }) ?? {};
      return (spec.template?.spec?.containers ?? []).map((c) => c.image);
    });
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(artifacts.map((a) => `${a.image}:dev-1234`)).toContain(image);
  },
);

test.each(skaffold.profiles.map((p) => [p.name, p]))(
  'profile %s: the values it sets (setValues and setValueTemplates) are accepted by the charts and its port-forwards hit rendered Services',
  (_name, profile) => {
    const set = profile.patches?.flatMap((p) => (p.path.endsWith('/setValues') ? Object.entries(p.value) : [])) ?? [];
    const rendered = template(
      'webrana',
      nested([...resolvedTemplates, ...set]),
      release!.name,
      templateSets(profile.patches),
    );
    if (profile.name === 'kube-lab') {
      // The lab's database port reaches every service's NetworkPolicy (the real node enforces them).
      const policies = byKind(rendered.objects, 'NetworkPolicy');
      expect(policies).toHaveLength(SERVICE_CHARTS.length);
      for (const policy of policies)
        expect((policy.spec as { egress: { ports: unknown[] }[] }).egress[1]!.ports).toEqual([
          { protocol: 'TCP', port: 5433 },
        ]);
    }
    const services = byKind(rendered.objects, 'Service');
    for (const forward of profile.portForward ?? []) {
      const service = services.find((s) => s.metadata.name === forward.resourceName);
      expect(service).toBeDefined();
      expect((service!.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toContain(forward.port);
    }
    if (profile.name === 'dev') expect(profile.portForward).toHaveLength(SERVICE_CHARTS.length);
  },
);
