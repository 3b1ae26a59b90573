// Test helpers for the charts: the pinned helm binary (scripts/kube-lab/build), rendering charts offline
// and reading the rendered objects. No mocks: every render is the real helm.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CHARTS_DIR = path.join(REPO_ROOT, 'charts');
export const SERVICE_CHARTS = ['auth-service', 'catalog-service', 'order-service', 'billing-service'] as const;
export const LIBRARY_CHART = 'webrana-common';
export const UMBRELLA_CHART = 'webrana';
/** Charts that install something (the library renders nothing). */
export const APPLICATION_CHARTS = [...SERVICE_CHARTS, UMBRELLA_CHART] as const;
export const ALL_CHARTS = [LIBRARY_CHART, ...APPLICATION_CHARTS] as const;

/** The documented default passwords of the spec (spec/database.md, "Auth Service Seeds"). */
export const DOCUMENTED_PASSWORDS = ['SuperAdmin123!', 'Admin123!', 'Customer123!'];

/** Enough time for a cold build of the kube-lab tools (helm among them) on a fresh machine. */
export const BUILD_TIMEOUT_MS = 45 * 60_000;

let helmPath: string | undefined;

/**
 * The pinned helm: scripts/kube-lab/build prints its bin directory, building what is missing first
 * (instant when cached; a cold build needs Go and the module proxy).
 */
export function helmBinary(): string {
  if (helmPath) return helmPath;
  const build = path.join(REPO_ROOT, 'scripts', 'kube-lab', 'build');
  const printed = spawnSync(build, ['--print-bin-dir'], { encoding: 'utf8' });
  let binDir = printed.stdout.trim();
  if (printed.status !== 0 || !fs.existsSync(path.join(binDir, 'helm'))) {
    const built = spawnSync(build, ['--quiet'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (built.status !== 0) throw new Error(`scripts/kube-lab/build failed (exit ${built.status})`);
    binDir = built.stdout.trim().split('\n').pop() ?? '';
  }
  helmPath = path.join(binDir, 'helm');
  return helmPath;
}

// helm's config, cache and data stay out of the user's home.
const helmHome = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-charts-helm-'));

export interface HelmResult {
  status: number | null;
  stdout: string;
  /** stderr without helm's "found symbolic link" notices about the linked library chart. */
  stderr: string;
}

/** Lines helm's symlink-following chart loader prints for charts/<name>/charts/<dep> links. */
const SYMLINK_NOTICE = /^walk\.go:\d+: found symbolic link in path: .*$\n?/gm;

export function helm(args: readonly string[], env: NodeJS.ProcessEnv = {}): HelmResult {
  const result: SpawnSyncReturns<string> = spawnSync(helmBinary(), args, {
    cwd: CHARTS_DIR,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      ...process.env,
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
      ...env,
    },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.replace(SYMLINK_NOTICE, '') };
}

/** Values as --set-json flags, one per top-level key (so nested objects keep their JSON types). */
export function valueFlags(values: Record<string, unknown> = {}): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`]);
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered {
  /** helm template's output, as printed. */
  text: string;
  objects: K8sObject[];
}

/** `helm template <release> charts/<chart>`; throws with helm's message when it fails. */
export function template(
  chart: string,
  values: Record<string, unknown> = {},
  release = 'r',
  extra: string[] = [],
): Rendered {
  const result = helm([
    'template',
    release,
    path.join(CHARTS_DIR, chart),
    '--namespace',
    'ns',
    ...valueFlags(values),
    ...extra,
  ]);
  if (result.status !== 0) throw new Error(`helm template ${chart} failed:\n${result.stderr}`);
  return { text: result.stdout, objects: parseManifests(result.stdout) };
}

/** The error helm prints when a render fails (schema or template `fail`). */
export function templateError(chart: string, values: Record<string, unknown> = {}, extra: string[] = []): string {
  const result = helm(['template', 'r', path.join(CHARTS_DIR, chart), ...valueFlags(values), ...extra]);
  if (result.status === 0) throw new Error(`helm template ${chart} succeeded, expected a failure`);
  return result.stderr;
}

export function parseManifests(text: string): K8sObject[] {
  return (yaml.loadAll(text) as unknown[]).filter((doc): doc is K8sObject => doc !== null && typeof doc === 'object');
}

export function byKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function named(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const present = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among: ${present}`);
  }
  return found;
}

/** Hook objects (helm.sh/hook annotation), by name. */
export function hooks(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] !== undefined);
}

export interface PodSpecLike {
  securityContext?: Record<string, unknown>;
  containers: Array<Record<string, unknown> & { name: string; securityContext?: Record<string, unknown> }>;
  initContainers?: Array<Record<string, unknown> & { name: string; securityContext?: Record<string, unknown> }>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  [field: string]: unknown;
}

/** The pod spec of a Pod, or of a workload's pod template (Deployment, Job, CronJob, ...). */
export function podSpecOf(object: K8sObject): PodSpecLike | undefined {
  const spec = object.spec as Record<string, unknown> | undefined;
  if (!spec) return undefined;
  if (object.kind === 'Pod') return spec as unknown as PodSpecLike;
  if (object.kind === 'CronJob') {
    const jobTemplate = spec.jobTemplate as { spec?: { template?: { spec?: PodSpecLike } } } | undefined;
    return jobTemplate?.spec?.template?.spec;
  }
  return (spec.template as { spec?: PodSpecLike } | undefined)?.spec;
}

/** Pod template labels of a workload (metadata.labels of a Pod). */
export function podLabelsOf(object: K8sObject): Record<string, string> {
  if (object.kind === 'Pod') return object.metadata.labels ?? {};
  const template = (object.spec as { template?: { metadata?: { labels?: Record<string, string> } } }).template;
  return template?.metadata?.labels ?? {};
}

/**
 * NOTES.txt rendered offline. `helm template` never renders NOTES.txt and `helm install --dry-run`
 * needs a cluster, so the test renders a copy of the chart in which NOTES.txt's text is also the body
 * of a named template that a ConfigMap includes: the same engine, values and context as at install.
 */
export function renderNotes(chart: string, values: Record<string, unknown> = {}, release = 'r'): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), `webrana-notes-${chart}-`));
  try {
    const dir = path.join(copy, chart);
    fs.cpSync(path.join(CHARTS_DIR, chart), dir, { recursive: true, dereference: true });
    const notes = fs.readFileSync(path.join(dir, 'templates', 'NOTES.txt'), 'utf8');
    fs.writeFileSync(
      path.join(dir, 'templates', '_zz_notes_probe.tpl'),
      `{{- define "zz.notes" -}}\n${notes}\n{{- end -}}\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'templates', 'zz-notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz-notes-probe\ndata:\n  notes: {{ include "zz.notes" . | toJson }}\n',
    );
    const result = helm([
      'template',
      release,
      dir,
      '--namespace',
      'ns',
      '--show-only',
      'templates/zz-notes-probe.yaml',
      ...valueFlags(values),
    ]);
    if (result.status !== 0) throw new Error(`rendering NOTES.txt of ${chart} failed:\n${result.stderr}`);
    const [probe] = parseManifests(result.stdout);
    return (probe as unknown as { data: { notes: string } }).data.notes;
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}
