import type { Condition, PostDeployStatus, ServiceStatus, WebranaDatabaseStatus } from './api/types';
import type { ServicePlanEntry } from './api/validate';
import type { OperatorEvent } from './events';
import { migrationRun } from './jobs';
import type { Deployment, Job, Pod } from './k8s';
import { postDeployJobName } from './names';
import type { ServicePlan } from './plan';

/**
 * Expand/contract's contract step in the operator: a service that names its Deployment
 * (spec.services[].deployment) gets, once its pre-deploy migration Job of this generation succeeded
 * and that Deployment reports its newest generation rolled out, one post-deploy migration Job
 * (`migrate deploy --phase=post-deploy`) named after the generation. Pure decisions over what the
 * caches show; the name makes it idempotent (a restarted operator finds the Job, or the apiserver
 * refuses a second one).
 *
 * The operator cannot see which Deployment generation carries the new release: it takes the one
 * the Deployment has once the pre-deploy migrations succeeded. Change the Deployment in the same
 * apply as the WebranaDatabase (the umbrella chart does; so does any GitOps sync of both), never after.
 */

export type Rollout =
  | { readonly state: 'done'; readonly message: string }
  | { readonly state: 'progressing'; readonly message: string; readonly recheckInMs?: number }
  | { readonly state: 'failed'; readonly message: string };

/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;

/**
 * Where a Deployment's rollout stands, by the rules of `kubectl rollout status`: the controller has
 * seen the newest generation, every replica runs the new template and is available, no old pod is
 * left, and the Progressing condition does not say the progress deadline passed. Then, given `now`,
 * one more wait: the status stops counting an old pod once it is terminating, but such a pod still
 * answers during its preStop delay; by the rollout's completion (Progressing NewReplicaSetAvailable,
 * lastUpdateTime) plus the pods' termination grace period, every old pod is gone.
 */
export function rolloutOf(name: string, d: Deployment | undefined, now?: Date): Rollout {
  if (!d) return { state: 'progressing', message: `deployment ${name} not found` };
  const generation = d.metadata.generation ?? 0;
  const s = d.status ?? {};
  const deadline = (s.conditions ?? []).find(
    (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
  );
  if ((s.observedGeneration ?? 0) < generation) {
    return { state: 'progressing', message: `deployment ${name}: generation ${generation} not observed yet` };
  }
  if (deadline) {
    return {
      state: 'failed',
      message: `deployment ${name} exceeded its progress deadline${deadline.message ? `: ${deadline.message}` : ''}`,
    };
  }
  const wanted = d.spec?.replicas ?? 1;
  const updated = s.updatedReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const total = s.replicas ?? 0;
  if (updated < wanted)
    return { state: 'progressing', message: `deployment ${name}: ${updated} of ${wanted} pods updated` };
  if (total > updated) {
    return { state: 'progressing', message: `deployment ${name}: ${total - updated} old pods pending termination` };
  }
  if (available < wanted) {
    return { state: 'progressing', message: `deployment ${name}: ${available} of ${wanted} updated pods available` };
  }
  const completed = (s.conditions ?? []).find(
    (c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable',
  )?.lastUpdateTime;
  const grace = d.spec?.template?.spec?.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
  const goneBy = completed ? Date.parse(completed) + grace * 1000 : NaN;
  if (now && goneBy > now.getTime()) {
    return {
      state: 'progressing',
      message: `deployment ${name} rolled out; its old pods may still be terminating until ${new Date(goneBy).toISOString().replace(/\.\d{3}Z$/, 'Z')} (grace period ${grace} s)`,
      recheckInMs: goneBy - now.getTime(),
    };
  }
  return { state: 'done', message: `deployment ${name} rolled out generation ${generation}` };
}

export interface PostDeployInput {
  readonly database: string;
  readonly generation: number;
  readonly service: ServicePlanEntry;
  /** The service's pre-deploy migration in this generation, as planned. */
  readonly preDeploy: ServicePlan;
  /** Migration Jobs of this resource (any generation; the post-deploy one is found by name). */
  readonly jobs: readonly Job[];
  readonly pods: readonly Pod[];
  /** What the status recorded for this generation (kept once known, as the pre-deploy plan does). */
  readonly recorded: PostDeployStatus | undefined;
  readonly deployment: Deployment | undefined;
  /** Error message of the post-deploy Job when it failed. */
  readonly failureMessage?: string;
  /** Now: the rollout counts once its old pods' grace period has passed (see rolloutOf). */
  readonly now?: Date;
}

export interface PostDeployDecision {
  /** Undefined: the service names no Deployment (the operator does not run its post-deploy migrations). */
  readonly status?: PostDeployStatus;
  /** Create the post-deploy Job now. */
  readonly create: boolean;
  /** Look again after this long (waiting out the old pods' grace period). */
  readonly recheckInMs?: number;
}

export function planPostDeploy(input: PostDeployInput): PostDeployDecision {
  const { database, generation, service, preDeploy, recorded } = input;
  const deployment = service.deployment;
  if (!deployment) return { create: false };
  const job = postDeployJobName(database, service.name, generation);
  const base = { deployment, job };
  const observed = input.jobs.find((j) => j.metadata.name === job && !j.metadata.deletionTimestamp);
  const kept = recorded?.job === job ? recorded : undefined;
  if (observed) {
    const run = migrationRun(observed, input.pods);
    const startedAt = kept?.startedAt ?? observed.status?.startTime;
    const times = { ...(startedAt ? { startedAt } : {}), ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}) };
    if (run.outcome === 'Succeeded' || (run.outcome === 'Running' && kept?.phase === 'Succeeded')) {
      const finishedAt = kept?.finishedAt ?? run.finishedAt;
      return {
        create: false,
        status: {
          ...base,
          phase: 'Succeeded',
          ...(startedAt ? { startedAt } : {}),
          ...(finishedAt ? { finishedAt } : {}),
          message: 'post-deploy migrations applied',
        },
      };
    }
    if (run.outcome === 'Failed') {
      const message = input.failureMessage ?? 'the post-deploy migration Job failed';
      return { create: false, status: { ...base, phase: 'Failed', ...times, message } };
    }
    return {
      create: false,
      status: { ...base, phase: 'Running', ...times, message: `post-deploy migration Job ${job} is running` },
    };
  }
  if (kept && (kept.phase === 'Succeeded' || kept.phase === 'Failed')) return { create: false, status: kept };
  if (preDeploy.phase !== 'Succeeded') {
    return {
      create: false,
      status: {
        ...base,
        phase: 'Pending',
        message: `after the pre-deploy migrations and the rollout of deployment ${deployment}`,
      },
    };
  }
  const rollout = rolloutOf(deployment, input.deployment, input.now);
  if (rollout.state === 'failed') {
    return {
      create: false,
      status: { ...base, phase: 'Blocked', message: `${rollout.message}; post-deploy migrations not run` },
    };
  }
  if (rollout.state === 'progressing') {
    return {
      create: false,
      ...(rollout.recheckInMs ? { recheckInMs: rollout.recheckInMs } : {}),
      status: {
        ...base,
        phase: 'Waiting',
        message: `waiting for rollout of deployment ${deployment} (${rollout.message})`,
      },
    };
  }
  return { create: true, status: { ...base, phase: 'Pending', message: `${rollout.message}: creating ${job}` } };
}

/**
 * The PostDeployMigrated condition over the services that name a Deployment; undefined when none does
 * (the condition is absent, as the step is). `transition` keeps the previous transition time.
 */
export function postDeployCondition(
  services: readonly ServiceStatus[],
  generation: number,
  previous: WebranaDatabaseStatus | undefined,
  now: string,
): Condition | undefined {
  const steps = services.filter((s) => s.postDeploy).map((s) => ({ name: s.name, ...s.postDeploy! }));
  if (steps.length === 0) return undefined;
  const of = (...phases: PostDeployStatus['phase'][]) => steps.filter((s) => phases.includes(s.phase));
  const line = (list: typeof steps) => list.map((s) => `${s.name}: ${s.message}`).join('; ');
  let status: Condition['status'];
  let reason: string;
  let message: string;
  if (of('Failed', 'Blocked').length > 0) {
    [status, reason, message] = ['False', 'PostDeployFailed', line(of('Failed', 'Blocked'))];
  } else if (of('Succeeded').length === steps.length) {
    [status, reason, message] = [
      'True',
      'PostDeployApplied',
      `post-deploy migrations applied (generation ${generation})`,
    ];
  } else if (of('Running').length > 0) {
    [status, reason, message] = ['False', 'PostDeployRunning', line(of('Running', 'Waiting', 'Pending'))];
  } else {
    [status, reason, message] = ['False', 'WaitingForRollout', line(of('Waiting', 'Pending'))];
  }
  const prev = previous?.conditions?.find((c) => c.type === 'PostDeployMigrated');
  return {
    type: 'PostDeployMigrated',
    status,
    observedGeneration: generation,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
    reason,
    message,
  };
}

/** Events for a service's post-deploy step changing phase: waiting for the rollout, started, and the outcome. */
export function postDeployEvents(
  previous: WebranaDatabaseStatus | undefined,
  next: WebranaDatabaseStatus,
  started: readonly string[],
): OperatorEvent[] {
  const before = new Map((previous?.services ?? []).map((s) => [s.name, s.postDeploy]));
  const events: OperatorEvent[] = [];
  for (const s of next.services ?? []) {
    const p = s.postDeploy;
    if (!p) continue;
    const was = before.get(s.name);
    const changed = was?.phase !== p.phase || was?.job !== p.job;
    if (started.includes(p.job)) {
      events.push({
        type: 'Normal',
        reason: 'PostDeployMigrationStarted',
        message: `${s.name}: deployment ${p.deployment} rolled out; started post-deploy migration Job ${p.job}`,
        key: `PostDeployStarted/${p.job}`,
      });
    }
    if (!changed) continue;
    if (p.phase === 'Waiting') {
      events.push({
        type: 'Normal',
        reason: 'WaitingForRollout',
        message: `${s.name}: post-deploy migrations ${p.message}`,
        key: `WaitingForRollout/${p.job}`,
      });
    } else if (p.phase === 'Succeeded') {
      events.push({
        type: 'Normal',
        reason: 'PostDeployMigrationSucceeded',
        message: `${s.name}: post-deploy migration Job ${p.job} succeeded`,
        key: `PostDeploySucceeded/${p.job}`,
      });
    } else if (p.phase === 'Failed' || p.phase === 'Blocked') {
      events.push({
        type: 'Warning',
        reason: p.phase === 'Failed' ? 'PostDeployMigrationFailed' : 'RolloutFailed',
        message: `${s.name}: ${p.phase === 'Failed' ? `post-deploy migration Job ${p.job} failed: ` : ''}${p.message}`,
        key: `PostDeploy${p.phase}/${p.job}`,
      });
    }
  }
  return events;
}
