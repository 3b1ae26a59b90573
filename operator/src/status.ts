import type {
  BackupStatus,
  BackupSuccess,
  Condition,
  DatabasePhase,
  ServiceStatus,
  WebranaDatabaseStatus,
} from './api/types';
import type { SpecResult } from './api/validate';
import { jobFinishedAt, jobOutcome } from './jobs';
import type { CronJob, Job } from './k8s';
import type { MigrationPlan } from './plan';

/**
 * The status, computed from the spec check, the migration plan and the backups: a pure function
 * of observations plus the previous status (for condition transition times), so recomputing it
 * over unchanged observations gives an identical object and the reconciler writes nothing.
 */

const CONDITION = {
  Ready: 'Ready',
  Progressing: 'Progressing',
  Degraded: 'Degraded',
  InvalidSpec: 'InvalidSpec',
  BackupVerified: 'BackupVerified',
} as const;

interface StatusInput {
  readonly generation: number;
  readonly previous: WebranaDatabaseStatus | undefined;
  readonly spec: SpecResult;
  /** Absent when the spec is invalid. */
  readonly plan?: MigrationPlan;
  /** Per service with a CronJob. */
  readonly backups: ReadonlyMap<string, BackupStatus>;
  /** Now, RFC 3339 (seconds). */
  readonly now: string;
}

export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Newest backup Job of a service and the CronJob's own record, for the status. */
export function backupStatus(
  cronJobName: string,
  cronJob: CronJob | undefined,
  jobs: readonly Job[],
  failureMessages: ReadonlyMap<string, string>,
  lastSuccess?: BackupSuccess,
): BackupStatus {
  const status: BackupStatus = { cronJob: cronJobName };
  if (lastSuccess) status.lastSuccess = lastSuccess;
  if (cronJob?.status?.lastScheduleTime) status.lastScheduleTime = cronJob.status.lastScheduleTime;
  if (cronJob?.status?.lastSuccessfulTime) status.lastSuccessfulTime = cronJob.status.lastSuccessfulTime;
  const newest = newestJob(jobs);
  if (newest) {
    const outcome = jobOutcome(newest);
    status.lastJob = newest.metadata.name;
    status.lastResult = outcome;
    const finished = outcome === 'Running' ? undefined : jobFinishedAt(newest);
    if (finished) status.lastFinishedAt = finished;
    const message = outcome === 'Failed' ? failureMessages.get(newest.metadata.name) : undefined;
    if (message) status.lastMessage = message;
  }
  return status;
}

export function newestJob(jobs: readonly Job[]): Job | undefined {
  return [...jobs].sort((a, b) => {
    const t = (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
    return t !== 0 ? t : a.metadata.name.localeCompare(b.metadata.name);
  })[jobs.length - 1];
}

function condition(
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  input: StatusInput,
): Condition {
  const prev = input.previous?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    observedGeneration: input.generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : input.now,
    reason,
    message,
  };
}

function list(names: readonly string[]): string {
  return names.join(', ');
}

export function computeStatus(input: StatusInput): WebranaDatabaseStatus {
  const { spec, plan, generation } = input;
  if (!spec.ok || !plan) {
    const message = spec.ok ? 'no plan' : spec.message;
    return {
      observedGeneration: generation,
      phase: 'InvalidSpec',
      conditions: [
        condition(CONDITION.Ready, 'False', 'InvalidSpec', message, input),
        condition(
          CONDITION.Progressing,
          'False',
          'InvalidSpec',
          'no Jobs are created while the spec is invalid',
          input,
        ),
        condition(CONDITION.Degraded, 'False', 'InvalidSpec', 'nothing ran', input),
        condition(CONDITION.InvalidSpec, 'True', spec.ok ? 'InvalidField' : spec.reason, message, input),
      ],
    };
  }

  const total = plan.services.length;
  const services: ServiceStatus[] = plan.services.map((s) => {
    const backup = input.backups.get(s.name);
    return {
      name: s.name,
      phase: s.phase,
      job: s.job,
      ...(s.startedAt ? { startedAt: s.startedAt } : {}),
      ...(s.finishedAt ? { finishedAt: s.finishedAt } : {}),
      message: s.message,
      ...(backup ? { backup } : {}),
    };
  });

  const blocked = plan.services.filter((s) => s.phase === 'Blocked').map((s) => s.name);
  const failures = plan.failed.map((s) => `${s.name}: migration Job ${s.job} failed: ${s.message}`);
  const failedMessage =
    failures.join('; ') + (blocked.length > 0 ? `; not started because of it: ${list(blocked)}` : '');
  const backupFailures = [...input.backups.entries()]
    .filter(([, b]) => b.lastResult === 'Failed')
    .map(([name, b]) => `${name}: backup Job ${b.lastJob ?? '?'} failed${b.lastMessage ? `: ${b.lastMessage}` : ''}`);

  const progressParts = [
    plan.running.length > 0 ? `running: ${list(plan.running)}` : '',
    plan.waiting.length > 0 ? `waiting: ${list(plan.waiting)}` : '',
  ].filter(Boolean);
  const progressMessage = `${plan.succeeded}/${total} migrated; ${progressParts.join('; ') || 'nothing left to start'}`;

  let ready: Condition;
  let progressing: Condition;
  let phase: DatabasePhase;
  if (plan.outcome === 'Succeeded') {
    phase = 'Ready';
    const message = `all ${total} services migrated (generation ${generation})`;
    ready = condition(CONDITION.Ready, 'True', 'MigrationsApplied', message, input);
    progressing = condition(CONDITION.Progressing, 'False', 'MigrationsApplied', message, input);
  } else if (plan.failed.length > 0) {
    phase = 'Degraded';
    ready = condition(CONDITION.Ready, 'False', 'MigrationFailed', failedMessage, input);
    progressing =
      plan.outcome === 'Running'
        ? condition(CONDITION.Progressing, 'True', 'MigrationsRunning', progressMessage, input)
        : condition(CONDITION.Progressing, 'False', 'MigrationFailed', failedMessage, input);
  } else {
    phase = 'Migrating';
    ready = condition(CONDITION.Ready, 'False', 'MigrationsRunning', progressMessage, input);
    progressing = condition(CONDITION.Progressing, 'True', 'MigrationsRunning', progressMessage, input);
  }

  let degraded: Condition;
  if (plan.failed.length > 0) degraded = condition(CONDITION.Degraded, 'True', 'MigrationFailed', failedMessage, input);
  else if (backupFailures.length > 0) {
    degraded = condition(CONDITION.Degraded, 'True', 'BackupFailed', backupFailures.join('; '), input);
  } else degraded = condition(CONDITION.Degraded, 'False', 'AsExpected', 'no migration or backup failed', input);

  const verified = backupVerified(input.backups);
  return {
    observedGeneration: generation,
    phase,
    progress: `${plan.succeeded}/${total}`,
    services,
    conditions: [
      ready,
      progressing,
      degraded,
      condition(CONDITION.InvalidSpec, 'False', 'SpecValid', 'the spec is valid', input),
      ...(verified
        ? [condition(CONDITION.BackupVerified, verified.status, verified.reason, verified.message, input)]
        : []),
    ],
  };
}

/** The BackupVerified condition over the services that have drills; undefined when none has. Pure. */
export function backupVerified(
  backups: ReadonlyMap<string, BackupStatus>,
): { status: 'True' | 'False' | 'Unknown'; reason: string; message: string } | undefined {
  const drills = [...backups.entries()].flatMap(([name, b]) => (b.verify ? [[name, b.verify] as const] : []));
  if (drills.length === 0) return undefined;
  const failed = drills.filter(([, d]) => d.lastResult === 'Failed');
  if (failed.length > 0) {
    return {
      status: 'False',
      reason: failed.some(([, d]) => d.lastDumpFailed) ? 'DrillFailed' : 'DrillError',
      message: failed
        .map(
          ([name, d]) =>
            `${name}: restore drill ${d.lastJob}${d.lastFile ? ` of ${d.lastFile}` : ''} failed: ${d.lastMessage ?? 'no message'}`,
        )
        .join('; '),
    };
  }
  const waiting = drills.filter(([, d]) => !d.lastPass).map(([name]) => name);
  if (waiting.length > 0)
    return {
      status: 'Unknown',
      reason: 'NoDrillYet',
      message: `no restore drill has passed yet for ${waiting.join(', ')}`,
    };
  return {
    status: 'True',
    reason: 'DrillsPassed',
    message: drills
      .map(([name, d]) => {
        const p = d.lastPass!;
        const dump = p.file ? `${p.file}${p.dumpCreatedAt ? ` (taken ${p.dumpCreatedAt})` : ''}` : `job ${p.job}`;
        return `${name}: ${dump} restored and checked at ${p.verifiedAt}`;
      })
      .join('; '),
  };
}

/** JSON with object keys sorted, so two statuses compare equal whatever order the apiserver kept. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function statusEqual(a: WebranaDatabaseStatus | undefined, b: WebranaDatabaseStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

export function conditionOf(status: WebranaDatabaseStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}
