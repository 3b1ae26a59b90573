// Test helpers for the charts: the pinned helm binary (scripts/kube-lab/build), rendering charts offline
// and reading the rendered objects. No mocks: every render is the real helm.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const CHARTS_DIR = path.join(REPO_ROOT, 'charts');
/**
 * The services, each rendered by the one service chart: a test's "chart" `auth-service` is
 * charts/webrana-service with serviceName=auth-service, which renders what the umbrella's
 * `auth-service` alias renders (names and labels derive from the service, not the chart).
 */
export const SERVICE_CHARTS = ['auth-service', 'catalog-service', 'order-service', 'billing-service'] as const;
export const SERVICE_CHART = 'webrana-service';
export const OPERATOR_CHART = 'webrana-operator';
export const UMBRELLA_CHART = 'webrana';
/** Chart targets that install something. */
export const APPLICATION_CHARTS = [...SERVICE_CHARTS, UMBRELLA_CHART] as const;
/** The chart directories under charts/. */
export const ALL_CHARTS = [SERVICE_CHART, OPERATOR_CHART, UMBRELLA_CHART] as const;

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
  stderr: string;
}

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
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let builtUmbrella: string | undefined;

/**
 * The umbrella chart with its dependencies, as a user gets it: a copy of charts/ (so the tree is never
 * written to, whatever runs beside) on which `helm dependency build charts/webrana` packaged
 * webrana-service and webrana-operator into charts/webrana/charts/. Built once per test process.
 */
export function umbrellaChartDir(): string {
  if (builtUmbrella) return builtUmbrella;
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-umbrella-'));
  for (const chart of ALL_CHARTS) {
    fs.cpSync(path.join(CHARTS_DIR, chart), path.join(copy, chart), {
      recursive: true,
      filter: (source) => !/\/charts\/[^/]+\.tgz$|Chart\.lock$/.test(source),
    });
  }
  const dir = path.join(copy, UMBRELLA_CHART);
  const result = helm(['dependency', 'build', dir]);
  if (result.status !== 0) throw new Error(`helm dependency build ${dir} failed:\n${result.stderr}`);
  builtUmbrella = dir;
  return dir;
}

/**
 * helm arguments naming a chart target: a service is charts/webrana-service with its serviceName (first,
 * so a test's own values still override it), the umbrella its built copy, any other chart its directory.
 */
export function chartArgs(chart: string): string[] {
  if ((SERVICE_CHARTS as readonly string[]).includes(chart)) {
    // --set-json like valueFlags: helm applies --set after every --set-json, so a test could not override it.
    return [path.join(CHARTS_DIR, SERVICE_CHART), '--set-json', `serviceName=${JSON.stringify(chart)}`];
  }
  if (chart === UMBRELLA_CHART) return [umbrellaChartDir()];
  return [path.join(CHARTS_DIR, chart)];
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
  const result = helm(['template', release, ...chartArgs(chart), '--namespace', 'ns', ...valueFlags(values), ...extra]);
  if (result.status !== 0) throw new Error(`helm template ${chart} failed:\n${result.stderr}`);
  return { text: result.stdout, objects: parseManifests(result.stdout) };
}

/** The error helm prints when a render fails (schema or template `fail`). */
export function templateError(chart: string, values: Record<string, unknown> = {}, extra: string[] = []): string {
  const result = helm(['template', 'r', ...chartArgs(chart), ...valueFlags(values), ...extra]);
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
    const [source, ...flags] = chartArgs(chart);
    const dir = path.join(copy, path.basename(source!));
    fs.cpSync(source!, dir, { recursive: true });
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
      ...flags,
      ...valueFlags(values),
    ]);
    if (result.status !== 0) throw new Error(`rendering NOTES.txt of ${chart} failed:\n${result.stderr}`);
    const [probe] = parseManifests(result.stdout);
    return (probe as unknown as { data: { notes: string } }).data.notes;
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
}
