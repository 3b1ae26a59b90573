import { SERVICE_NAMES, dependencyWaves } from '@webrana/registry';
import { cronProblem } from './cron';
import { MAX_SERVICE_NAME, QUANTITY } from './crd';
import {
  DEFAULTS,
  type BackupS3,
  type MigrationSettings,
  type ResourceRequirements,
  type SecretKeyRef,
  type Toleration,
  type WebranaDatabaseSpec,
} from './types';

/**
 * One service's migration Job and pod settings with every default filled in: the service's own
 * (services[].migration), else spec.migration's, else the service chart's defaults (DEFAULTS). Empty
 * nodeSelector, tolerations, affinity and priorityClassName are left out, as the chart leaves them out.
 */
export interface NormalizedMigration {
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds: number;
  readonly wait: string;
  readonly lockTimeout: string;
  readonly lockWait: string;
  readonly statementTimeout: string;
  readonly resources: ResourceRequirements;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  readonly affinity?: Readonly<Record<string, unknown>>;
  readonly priorityClassName?: string;
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly fsGroup: number;
}

/** A service with everything the builders need, defaults applied. */
export interface ServicePlanEntry {
  readonly name: string;
  readonly dependsOn: readonly string[];
  readonly secret: SecretKeyRef;
  /** The environment variable the jobs CLI reads the URL from (AUTH_DATABASE_URL for auth-service). */
  readonly urlVariable: string;
  /** Its migration Job and pod settings. */
  readonly migration: NormalizedMigration;
  /** The Deployment whose rollout the post-deploy migrations wait for; none: they are not run. */
  readonly deployment?: string;
}

interface NormalizedBackup {
  readonly schedule: string;
  readonly timeZone?: string;
  readonly retention: { readonly daily: number; readonly weekly: number; readonly monthly: number };
  readonly volumeClaimName?: string;
  readonly s3?: BackupS3;
  /** Restore drills; absent: none. */
  readonly verify?: { readonly schedule: string; readonly tmpSizeLimit: string };
  readonly suspend: boolean;
  readonly successfulJobsHistoryLimit: number;
  readonly failedJobsHistoryLimit: number;
  readonly startingDeadlineSeconds: number;
  readonly activeDeadlineSeconds: number;
  readonly backoffLimit: number;
}

/** The spec with every default filled in and the services in dependency order (DAG waves). */
export interface NormalizedSpec {
  readonly image: string;
  readonly imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  readonly imagePullSecrets: readonly { name: string }[];
  readonly serviceAccountName?: string;
  readonly resources?: WebranaDatabaseSpec['resources'];
  /** Services as written. */
  readonly services: readonly ServicePlanEntry[];
  /** Services grouped in waves: each wave depends only on earlier ones. */
  readonly waves: readonly (readonly ServicePlanEntry[])[];
  readonly migration: { readonly backoffLimit: number; readonly activeDeadlineSeconds: number };
  readonly backup?: NormalizedBackup;
}

type SpecReason = 'DependencyCycle' | 'UnknownDependency' | 'DuplicateService' | 'UnknownService' | 'InvalidField';

export type SpecResult =
  | { readonly ok: true; readonly spec: NormalizedSpec }
  | { readonly ok: false; readonly reason: SpecReason; readonly message: string };

/**
 * The jobs CLI's URL variable for a service: its name without "-service", upper-cased, plus
 * _DATABASE_URL (auth-service -> AUTH_DATABASE_URL), which is what @webrana/registry lists.
 */
export function urlVariableFor(service: string): string {
  return `${service
    .replace(/-service$/, '')
    .replace(/[^a-zA-Z0-9]+/g, '_')
    .toUpperCase()}_DATABASE_URL`;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const quantityProblem = (q: unknown) =>
  typeof q === 'string' && QUANTITY.test(q) ? null : `tmpSizeLimit is not a size like 4Gi (got ${JSON.stringify(q)})`;

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** The runner's duration flags, as the service chart's schema has them (500ms, 10s, 2m, 0). */
export const DURATION = /^[0-9]+(ms|s|m)?$/;
const TOLERATION_OPERATORS = ['Exists', 'Equal'];
const TOLERATION_EFFECTS = ['', 'NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const AFFINITY_KINDS = ['nodeAffinity', 'podAffinity', 'podAntiAffinity'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with one migration settings object (at `at`), as the CRD checks it; undefined when nothing. */
function migrationProblem(at: string, m: MigrationSettings | undefined): string | undefined {
  if (m === undefined) return undefined;
  if (!isObject(m)) return `${at} must be an object`;
  if (m.backoffLimit !== undefined && !isInt(m.backoffLimit, 0)) return `${at}.backoffLimit must be 0 or more`;
  if (m.activeDeadlineSeconds !== undefined && !isInt(m.activeDeadlineSeconds, 1)) {
    return `${at}.activeDeadlineSeconds must be 1 or more`;
  }
  for (const flag of ['wait', 'lockTimeout', 'lockWait', 'statementTimeout'] as const) {
    const v = m[flag];
    if (v !== undefined && (typeof v !== 'string' || !DURATION.test(v))) {
      return `${at}.${flag} must be a duration such as 500ms, 10s or 2m (got ${JSON.stringify(v)})`;
    }
  }
  if (m.resources !== undefined && !isObject(m.resources)) return `${at}.resources must be an object`;
  const pod = m.pod;
  if (pod === undefined) return undefined;
  if (!isObject(pod)) return `${at}.pod must be an object`;
  for (const id of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
    if (pod[id] !== undefined && !isInt(pod[id], 1)) return `${at}.pod.${id} must be 1 or more (never root)`;
  }
  if (pod.nodeSelector !== undefined) {
    if (!isObject(pod.nodeSelector) || !Object.values(pod.nodeSelector).every((v) => typeof v === 'string')) {
      return `${at}.pod.nodeSelector must map label names to strings`;
    }
  }
  if (pod.tolerations !== undefined) {
    if (!Array.isArray(pod.tolerations)) return `${at}.pod.tolerations must be a list`;
    for (const [i, t] of pod.tolerations.entries()) {
      if (!isObject(t)) return `${at}.pod.tolerations[${i}] must be an object`;
      if (t.operator !== undefined && !TOLERATION_OPERATORS.includes(String(t.operator))) {
        return `${at}.pod.tolerations[${i}].operator must be Exists or Equal`;
      }
      if (t.effect !== undefined && !TOLERATION_EFFECTS.includes(String(t.effect))) {
        return `${at}.pod.tolerations[${i}].effect must be NoSchedule, PreferNoSchedule or NoExecute`;
      }
      if (t.operator === 'Exists' && t.value) {
        return `${at}.pod.tolerations[${i}]: operator Exists takes no value`;
      }
      if (!t.key && t.operator !== 'Exists') {
        return `${at}.pod.tolerations[${i}]: an empty key needs operator Exists`;
      }
      if (t.tolerationSeconds !== undefined && !Number.isInteger(t.tolerationSeconds)) {
        return `${at}.pod.tolerations[${i}].tolerationSeconds must be a whole number`;
      }
    }
  }
  if (pod.affinity !== undefined) {
    if (!isObject(pod.affinity)) return `${at}.pod.affinity must be an object`;
    const other = Object.keys(pod.affinity).find((k) => !AFFINITY_KINDS.includes(k));
    if (other) return `${at}.pod.affinity.${other} is not nodeAffinity, podAffinity or podAntiAffinity`;
  }
  if (pod.priorityClassName !== undefined && typeof pod.priorityClassName !== 'string') {
    return `${at}.pod.priorityClassName must be a string`;
  }
  return undefined;
}

const nonEmpty = <T extends object>(v: T | undefined): v is T =>
  v !== undefined && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);

/** A service's migration settings: its own, else spec.migration's, else spec.resources (resources only), else DEFAULTS. */
function mergeMigration(
  own: MigrationSettings | undefined,
  shared: MigrationSettings | undefined,
  resources: ResourceRequirements | undefined,
): NormalizedMigration {
  const d = DEFAULTS.migration;
  const pick = <K extends keyof MigrationSettings>(k: K) => own?.[k] ?? shared?.[k];
  const pod = <K extends keyof NonNullable<MigrationSettings['pod']>>(k: K) => own?.pod?.[k] ?? shared?.pod?.[k];
  const nodeSelector = pod('nodeSelector');
  const tolerations = pod('tolerations');
  const affinity = pod('affinity');
  const priorityClassName = pod('priorityClassName');
  return {
    backoffLimit: pick('backoffLimit') ?? d.backoffLimit,
    activeDeadlineSeconds: pick('activeDeadlineSeconds') ?? d.activeDeadlineSeconds,
    wait: pick('wait') ?? d.wait,
    lockTimeout: pick('lockTimeout') ?? d.lockTimeout,
    lockWait: pick('lockWait') ?? d.lockWait,
    statementTimeout: pick('statementTimeout') ?? d.statementTimeout,
    resources: pick('resources') ?? resources ?? d.resources,
    ...(nonEmpty(nodeSelector) ? { nodeSelector } : {}),
    ...(nonEmpty(tolerations) ? { tolerations } : {}),
    ...(nonEmpty(affinity) ? { affinity } : {}),
    ...(priorityClassName ? { priorityClassName } : {}),
    runAsUser: pod('runAsUser') ?? d.runAsUser,
    runAsGroup: pod('runAsGroup') ?? d.runAsGroup,
    fsGroup: pod('fsGroup') ?? d.fsGroup,
  };
}

/**
 * Checks what the CRD also checks (so a resource stored before the CRD had a rule, or by an
 * apiserver without CEL, is still caught) and what it cannot (cycles, backwards cron ranges, service
 * names the registry does not know), and returns the spec with defaults. The message names the problem for the InvalidSpec condition.
 */
export function normalizeSpec(
  spec: WebranaDatabaseSpec | undefined,
  /** The services that exist (the registry's; a test of the planner alone may name its own). */
  known: readonly string[] = SERVICE_NAMES,
): SpecResult {
  const invalid = (reason: SpecReason, message: string): SpecResult => ({ ok: false, reason, message });
  if (!spec || typeof spec !== 'object') return invalid('InvalidField', 'spec is missing');
  if (typeof spec.image !== 'string' || spec.image.length === 0) return invalid('InvalidField', 'spec.image is empty');
  if (!Array.isArray(spec.services) || spec.services.length === 0) {
    return invalid('InvalidField', 'spec.services lists no service');
  }

  const seen = new Set<string>();
  const services: ServicePlanEntry[] = [];
  for (const s of spec.services) {
    if (typeof s?.name !== 'string' || !DNS_LABEL.test(s.name) || s.name.length > MAX_SERVICE_NAME) {
      return invalid('InvalidField', `spec.services: "${String(s?.name)}" is not a valid service name`);
    }
    if (seen.has(s.name)) return invalid('DuplicateService', `spec.services: service ${s.name} is listed twice`);
    seen.add(s.name);
    const ref = s.databaseUrlSecretRef;
    if (!ref?.name || !ref.key) {
      return invalid('InvalidField', `spec.services: ${s.name} needs databaseUrlSecretRef.name and .key`);
    }
    const own = migrationProblem(`spec.services: ${s.name}.migration`, s.migration);
    if (own) return invalid('InvalidField', own);
    if (s.deployment !== undefined && (typeof s.deployment !== 'string' || !DNS_SUBDOMAIN.test(s.deployment))) {
      return invalid(
        'InvalidField',
        `spec.services: ${s.name}.deployment must be a Deployment name (lower-case DNS subdomain), got ${JSON.stringify(s.deployment)}`,
      );
    }
    const dependsOn = [...new Set(s.dependsOn ?? [])];
    if (dependsOn.includes(s.name)) {
      return invalid('UnknownDependency', `spec.services: service ${s.name} cannot depend on itself`);
    }
    services.push({
      name: s.name,
      dependsOn,
      secret: { name: ref.name, key: ref.key },
      urlVariable: urlVariableFor(s.name),
      migration: mergeMigration(s.migration, spec.migration, spec.resources),
      ...(s.deployment ? { deployment: s.deployment } : {}),
    });
  }

  let waves: ServicePlanEntry[][];
  try {
    waves = dependencyWaves(services);
  } catch (err) {
    const message = (err as Error).message;
    return invalid(message.startsWith('dependency cycle') ? 'DependencyCycle' : 'UnknownDependency', message);
  }

  const shared = migrationProblem('spec.migration', spec.migration);
  if (shared) return invalid('InvalidField', shared);
  const m = spec.migration ?? {};
  const backoffLimit = m.backoffLimit ?? DEFAULTS.migration.backoffLimit;
  const activeDeadlineSeconds = m.activeDeadlineSeconds ?? DEFAULTS.migration.activeDeadlineSeconds;

  let backup: NormalizedBackup | undefined;
  if (spec.backup) {
    const b = spec.backup;
    const problem = typeof b.schedule === 'string' ? cronProblem(b.schedule) : 'spec.backup.schedule is missing';
    if (problem) return invalid('InvalidField', `spec.backup: ${problem}`);
    if (!b.volumeClaimName && !b.s3)
      return invalid('InvalidField', 'spec.backup needs volumeClaimName, s3, or both (where the dumps go)');
    if (b.s3 && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b.s3.bucket ?? ''))
      return invalid('InvalidField', `spec.backup.s3.bucket is not a bucket name (got ${JSON.stringify(b.s3.bucket)})`);
    const r = { ...DEFAULTS.backup.retention, ...(b.retention ?? {}) };
    for (const [k, v] of Object.entries(r)) {
      if (!isInt(v, 0))
        return invalid('InvalidField', `spec.backup.retention.${k} must be 0 or more (got ${String(v)})`);
    }
    const v = b.verify ? { ...DEFAULTS.backup.verify, ...b.verify } : undefined;
    const verifyProblem =
      v &&
      ((typeof v.schedule === 'string' ? cronProblem(v.schedule) : 'schedule is not a string') ??
        quantityProblem(v.tmpSizeLimit));
    if (verifyProblem) return invalid('InvalidField', `spec.backup.verify: ${verifyProblem}`);
    const d = DEFAULTS.backup;
    backup = {
      schedule: b.schedule,
      ...(b.timeZone ? { timeZone: b.timeZone } : {}),
      retention: r,
      ...(b.volumeClaimName ? { volumeClaimName: b.volumeClaimName } : {}),
      ...(b.s3 ? { s3: b.s3 } : {}),
      ...(v ? { verify: { schedule: v.schedule, tmpSizeLimit: v.tmpSizeLimit } } : {}),
      suspend: b.suspend ?? d.suspend,
      successfulJobsHistoryLimit: b.successfulJobsHistoryLimit ?? d.successfulJobsHistoryLimit,
      failedJobsHistoryLimit: b.failedJobsHistoryLimit ?? d.failedJobsHistoryLimit,
      startingDeadlineSeconds: b.startingDeadlineSeconds ?? d.startingDeadlineSeconds,
      activeDeadlineSeconds: b.activeDeadlineSeconds ?? d.activeDeadlineSeconds,
      backoffLimit: b.backoffLimit ?? d.backoffLimit,
    };
  }

  // Last, so a spec with several problems reports its structural one first: a name the registry
  // does not know would otherwise surface only as a migration Job that cannot find the service.
  const unknown = services.map((s) => s.name).filter((n) => !known.includes(n));
  if (unknown.length > 0) {
    return invalid(
      'UnknownService',
      `spec.services: ${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length === 1 ? 'is not a known service' : 'are not known services'}; known services: ${[...known].sort().join(', ')}`,
    );
  }

  return {
    ok: true,
    spec: {
      image: spec.image,
      imagePullPolicy: spec.imagePullPolicy ?? DEFAULTS.imagePullPolicy,
      imagePullSecrets: spec.imagePullSecrets ?? [],
      ...(spec.serviceAccountName ? { serviceAccountName: spec.serviceAccountName } : {}),
      ...(spec.resources ? { resources: spec.resources } : {}),
      services,
      waves,
      migration: { backoffLimit, activeDeadlineSeconds },
      ...(backup ? { backup } : {}),
    },
  };
}
