import type { WebranaRestoreSpec } from './api';

/**
 * The operator's own reading of a WebranaRestore spec: the same rules as the CRD's schema and CEL
 * (crd.ts here), so a resource the apiserver let through with an older CRD, or a test's hand-made
 * one, is refused naming each bad field instead of running a wrong restore.
 */

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** What `webrana-jobs restore --into-database` accepts (jobs/src/backup/target.ts). */
export const DATABASE_NAME = /^[a-z_][a-z0-9_-]{0,62}$/;
/** A full dump's file name as the backup writes it (jobs/src/backup/names.ts): <service>-<UTC stamp>.tar.zst or .dump. */
export const DUMP_NAME = /^[a-z0-9-]+-\d{8}T\d{6}Z\.(tar\.zst|dump)$/;

export interface NormalizedRestoreSpec {
  readonly database: string;
  readonly service: string;
  /** undefined: the newest completed full dump. */
  readonly dump?: string;
  /** undefined: in place. */
  readonly newDatabase?: string;
  readonly scaleDown: boolean;
  readonly deployment: string;
  readonly source?: 'volume' | 'bucket';
}

export type RestoreSpecResult =
  { readonly ok: true; readonly spec: NormalizedRestoreSpec } | { readonly ok: false; readonly message: string };

const isName = (v: unknown): v is string => typeof v === 'string' && v.length <= 63 && DNS_LABEL.test(v);

export function normalizeRestoreSpec(raw: Partial<WebranaRestoreSpec> | undefined): RestoreSpecResult {
  const spec = raw ?? {};
  const problems: string[] = [];
  if (!isName(spec.database)) problems.push('spec.database must name a WebranaDatabase (a DNS label)');
  if (!isName(spec.service)) problems.push('spec.service must name one of its services (a DNS label)');
  const backup = spec.backup;
  if (backup !== 'latest' && !(typeof backup === 'string' && DUMP_NAME.test(backup)))
    problems.push(
      'spec.backup must be "latest" or a full dump\'s file name such as auth-service-20261130T020000Z.tar.zst',
    );
  else if (backup !== 'latest' && typeof spec.service === 'string' && !backup.startsWith(`${spec.service}-`))
    problems.push(`spec.backup ${backup} is not a dump of ${spec.service} (its name starts with the service)`);
  const target = spec.target ?? {};
  const inPlace = target.inPlace === true;
  const newDatabase = target.newDatabase;
  if (inPlace === (newDatabase !== undefined) || target.inPlace === false)
    problems.push('spec.target must be exactly one of inPlace: true and newDatabase: NAME');
  else if (newDatabase !== undefined && !DATABASE_NAME.test(newDatabase))
    problems.push(
      `spec.target.newDatabase must be lowercase letters, digits, "_" and "-" (at most 63, not starting with a digit or "-"); got "${newDatabase}"`,
    );
  const scaleDown = spec.scaleDown === true;
  if (scaleDown && !inPlace)
    problems.push('spec.scaleDown applies to target inPlace only (a new database serves nobody yet)');
  if (spec.deployment !== undefined && !isName(spec.deployment))
    problems.push('spec.deployment must name a Deployment (a DNS label)');
  if (spec.source !== undefined && spec.source !== 'volume' && spec.source !== 'bucket')
    problems.push('spec.source must be volume or bucket');
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  return {
    ok: true,
    spec: {
      database: spec.database!,
      service: spec.service!,
      ...(backup === 'latest' ? {} : { dump: backup }),
      ...(newDatabase !== undefined ? { newDatabase } : {}),
      scaleDown,
      deployment: spec.deployment ?? spec.service!,
      ...(spec.source ? { source: spec.source } : {}),
    },
  };
}
