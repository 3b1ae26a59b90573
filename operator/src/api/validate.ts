import { SERVICE_NAMES, dependencyWaves } from '@webrana/registry';
import { cronProblem } from './cron';
import { MAX_SERVICE_NAME } from './crd';
import { DEFAULTS, type SecretKeyRef, type WebranaDatabaseSpec } from './types';

/** A service with everything the builders need, defaults applied. */
export interface ServicePlanEntry {
  readonly name: string;
  readonly dependsOn: readonly string[];
  readonly secret: SecretKeyRef;
  /** The environment variable the jobs CLI reads the URL from (AUTH_DATABASE_URL for auth-service). */
  readonly urlVariable: string;
}

interface NormalizedBackup {
  readonly schedule: string;
  readonly timeZone?: string;
  readonly retention: { readonly daily: number; readonly weekly: number; readonly monthly: number };
  readonly volumeClaimName: string;
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

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

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
    const dependsOn = [...new Set(s.dependsOn ?? [])];
    if (dependsOn.includes(s.name)) {
      return invalid('UnknownDependency', `spec.services: service ${s.name} cannot depend on itself`);
    }
    services.push({
      name: s.name,
      dependsOn,
      secret: { name: ref.name, key: ref.key },
      urlVariable: urlVariableFor(s.name),
    });
  }

  let waves: ServicePlanEntry[][];
  try {
    waves = dependencyWaves(services);
  } catch (err) {
    const message = (err as Error).message;
    return invalid(message.startsWith('dependency cycle') ? 'DependencyCycle' : 'UnknownDependency', message);
  }

  const m = spec.migration ?? {};
  const backoffLimit = m.backoffLimit ?? DEFAULTS.migration.backoffLimit;
  const activeDeadlineSeconds = m.activeDeadlineSeconds ?? DEFAULTS.migration.activeDeadlineSeconds;
  if (!isInt(backoffLimit, 0)) return invalid('InvalidField', 'spec.migration.backoffLimit must be 0 or more');
  if (!isInt(activeDeadlineSeconds, 1)) {
    return invalid('InvalidField', 'spec.migration.activeDeadlineSeconds must be 1 or more');
  }

  let backup: NormalizedBackup | undefined;
  if (spec.backup) {
    const b = spec.backup;
    const problem = typeof b.schedule === 'string' ? cronProblem(b.schedule) : 'spec.backup.schedule is missing';
    if (problem) return invalid('InvalidField', `spec.backup: ${problem}`);
    if (!b.volumeClaimName) return invalid('InvalidField', 'spec.backup.volumeClaimName is missing');
    const r = { ...DEFAULTS.backup.retention, ...(b.retention ?? {}) };
    for (const [k, v] of Object.entries(r)) {
      if (!isInt(v, 0))
        return invalid('InvalidField', `spec.backup.retention.${k} must be 0 or more (got ${String(v)})`);
    }
    const d = DEFAULTS.backup;
    backup = {
      schedule: b.schedule,
      ...(b.timeZone ? { timeZone: b.timeZone } : {}),
      retention: r,
      volumeClaimName: b.volumeClaimName,
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
