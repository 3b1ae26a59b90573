import type { ServicePhase, ServiceStatus } from './api/types';
import type { NormalizedSpec, ServicePlanEntry } from './api/validate';
import { jobOutcome, migrationRun } from './jobs';
import type { Job, Pod } from './k8s';
import { LABELS, migrationJobName } from './names';

/**
 * The migration run of one spec generation, decided from what is observed: the migration Jobs
 * that exist (any generation) and, for Jobs that are gone, the results the status already records
 * for this generation. Pure and level-triggered: the same observations always give the same plan,
 * so a restarted operator picks up where its predecessor stopped and never creates a Job twice
 * (names are deterministic per generation).
 *
 * Rules: a service's Job is created once every service it depends on has succeeded in this
 * generation; services whose dependencies are met start together (a DAG wave runs in parallel);
 * once a service failed, everything that depends on it, directly or not, is Blocked and never
 * starts in this generation; a service whose Job of an older generation is still running waits
 * for it (two runners on one database would only queue on the migration lock).
 */

export interface ServicePlan {
  readonly name: string;
  readonly phase: ServicePhase;
  readonly job: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly message: string;
}

type RunOutcome = 'Running' | 'Succeeded' | 'Failed';

export interface MigrationPlan {
  readonly services: readonly ServicePlan[];
  /** Services whose Job to create now, in dependency order. */
  readonly create: readonly ServicePlanEntry[];
  /** Finished Jobs of older generations, deleted once this generation has succeeded. */
  readonly deleteJobs: readonly string[];
  /** Succeeded: every service migrated. Failed: one failed and nothing else can run. */
  readonly outcome: RunOutcome;
  readonly failed: readonly ServicePlan[];
  readonly running: readonly string[];
  readonly waiting: readonly string[];
  readonly succeeded: number;
}

export interface PlanInput {
  readonly database: string;
  readonly generation: number;
  readonly spec: NormalizedSpec;
  /** Migration Jobs owned by this resource, any generation. */
  readonly jobs: readonly Job[];
  /** Per-service status recorded for this same generation (empty after a spec change). */
  readonly recorded: readonly ServiceStatus[];
  /** Error messages of failed Jobs, by Job name (from recorded status or read from their pods). */
  readonly failureMessages: ReadonlyMap<string, string>;
  /**
   * The migration pods of this resource the cache shows (any Job): a Job's one pod that succeeded
   * counts before the Job controller marks the Job Complete (see migrationRun in jobs.ts).
   */
  readonly pods?: readonly Pod[];
}

function jobGeneration(job: Job): number | undefined {
  const g = Number(job.metadata.labels?.[LABELS.generation]);
  return Number.isInteger(g) ? g : undefined;
}

function jobService(job: Job): string | undefined {
  return job.metadata.labels?.[LABELS.service];
}

export function planMigrations(input: PlanInput): MigrationPlan {
  const { database, generation, spec, jobs, recorded, failureMessages } = input;
  const pods = input.pods ?? [];
  const byName = new Map(jobs.map((j) => [j.metadata.name, j]));
  const recordedBy = new Map(recorded.map((s) => [s.name, s]));
  const phases = new Map<string, ServicePhase>();
  const services: ServicePlan[] = [];
  const create: ServicePlanEntry[] = [];

  for (const svc of spec.waves.flat()) {
    const jobName = migrationJobName(database, svc.name, generation);
    const job = byName.get(jobName);
    const prior = recordedBy.get(svc.name);
    let plan: ServicePlan;
    if (job && !job.metadata.deletionTimestamp) {
      const run = migrationRun(job, pods);
      // What this generation already recorded for this Job stays as written: its start time (the
      // reconcile that created the Job wrote it, so the Job controller's startTime costs no second
      // status write) and a success, once seen (its pod may be deleted, or the Job recreated under the
      // same name, before the Job controller says Complete: the migration ran all the same).
      const kept = prior?.job === jobName ? prior : undefined;
      const startedAt = kept?.startedAt ?? job.status?.startTime;
      const base = { name: svc.name, job: jobName, ...(startedAt ? { startedAt } : {}) };
      const keptSuccess = kept?.phase === 'Succeeded';
      if (run.outcome === 'Succeeded' || (run.outcome === 'Running' && keptSuccess)) {
        const finishedAt = (keptSuccess ? kept.finishedAt : undefined) ?? run.finishedAt;
        plan = { ...base, phase: 'Succeeded', ...(finishedAt ? { finishedAt } : {}), message: 'migrations applied' };
      } else if (run.outcome === 'Failed') {
        const finishedAt = run.finishedAt;
        plan = {
          ...base,
          phase: 'Failed',
          ...(finishedAt ? { finishedAt } : {}),
          message: failureMessages.get(jobName) ?? 'the migration Job failed',
        };
      } else {
        plan = { ...base, phase: 'Running', message: `migration Job ${jobName} is running` };
      }
    } else if (prior?.job === jobName && (prior.phase === 'Succeeded' || prior.phase === 'Failed')) {
      // The Job is gone (deleted by someone), but this generation's result is known: keep it.
      plan = {
        name: svc.name,
        job: jobName,
        phase: prior.phase,
        ...(prior.startedAt ? { startedAt: prior.startedAt } : {}),
        ...(prior.finishedAt ? { finishedAt: prior.finishedAt } : {}),
        message: prior.message ?? (prior.phase === 'Succeeded' ? 'migrations applied' : 'the migration Job failed'),
      };
    } else {
      const failedDeps = svc.dependsOn.filter((d) => phases.get(d) === 'Failed' || phases.get(d) === 'Blocked');
      const pendingDeps = svc.dependsOn.filter((d) => phases.get(d) !== 'Succeeded');
      const older = jobs.find(
        (j) =>
          jobService(j) === svc.name &&
          (jobGeneration(j) ?? generation) < generation &&
          jobOutcome(j) === 'Running' &&
          !j.metadata.deletionTimestamp,
      );
      if (failedDeps.length > 0) {
        plan = {
          name: svc.name,
          job: jobName,
          phase: 'Blocked',
          message: `not started: ${failedDeps.join(', ')} failed`,
        };
      } else if (pendingDeps.length > 0) {
        plan = { name: svc.name, job: jobName, phase: 'Waiting', message: `waiting for ${pendingDeps.join(', ')}` };
      } else if (older) {
        plan = {
          name: svc.name,
          job: jobName,
          phase: 'Waiting',
          message: `waiting for ${older.metadata.name} (generation ${jobGeneration(older) ?? '?'}) to finish`,
        };
      } else {
        create.push(svc);
        plan = { name: svc.name, job: jobName, phase: 'Pending', message: `creating migration Job ${jobName}` };
      }
    }
    phases.set(svc.name, plan.phase);
    services.push(plan);
  }

  // Keep the spec's order in the status, whatever order the waves gave.
  const order = new Map(spec.services.map((s, i) => [s.name, i]));
  services.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));

  const failed = services.filter((s) => s.phase === 'Failed');
  const running = services.filter((s) => s.phase === 'Running' || s.phase === 'Pending').map((s) => s.name);
  const waiting = services.filter((s) => s.phase === 'Waiting').map((s) => s.name);
  const succeeded = services.filter((s) => s.phase === 'Succeeded').length;
  let outcome: RunOutcome = 'Running';
  if (succeeded === services.length) outcome = 'Succeeded';
  else if (failed.length > 0 && running.length === 0 && waiting.length === 0) outcome = 'Failed';

  const deleteJobs =
    outcome === 'Succeeded'
      ? jobs
          .filter((j) => (jobGeneration(j) ?? generation) < generation && jobOutcome(j) !== 'Running')
          .filter((j) => !j.metadata.deletionTimestamp)
          .map((j) => j.metadata.name)
      : [];

  return { services, create, deleteJobs, outcome, failed, running, waiting, succeeded };
}
