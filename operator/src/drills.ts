import type { DrillPass, DrillStatus } from './api/types';
import { jobFailureMessage, jobFinishedAt, jobOutcome, podJobUid } from './jobs';
import type { Job, Pod } from './k8s';
import { newestJob } from './status';

/**
 * Restore drills as the operator sees them: `webrana-jobs backup verify --termination-log=...` writes
 * its outcome (passed or not) as the container's termination message, the kubelet copies it into the
 * pod status, and the operator reads it there, as for backups. Pure.
 */

/** The fields of a drill's termination message the operator uses (jobs/src/commands/backup-verify.ts). */
export interface DrillReport {
  readonly passed: boolean;
  readonly file?: string;
  readonly dumpCreatedAt?: string;
  /** Why the dump failed the drill (empty when it passed, or when the drill could not run). */
  readonly problems: readonly string[];
  /** Why the drill could not run (the dump is then not marked). */
  readonly error?: string;
  readonly finishedAt?: string;
}

const validTime = (t: unknown): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t));

/** The report in a termination message, or undefined (a log tail, a cut message, an older jobs image). */
export function parseDrillReport(message: string | undefined): DrillReport | undefined {
  if (!message) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message.trim());
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.passed !== 'boolean') return undefined;
  return {
    passed: v.passed,
    ...(typeof v.file === 'string' ? { file: v.file } : {}),
    ...(validTime(v.dumpCreatedAt) ? { dumpCreatedAt: v.dumpCreatedAt } : {}),
    problems: Array.isArray(v.problems) ? v.problems.filter((p): p is string => typeof p === 'string') : [],
    ...(typeof v.error === 'string' ? { error: v.error } : {}),
    ...(validTime(v.finishedAt) ? { finishedAt: v.finishedAt } : {}),
  };
}

/** The report of a Job's own pod (passed or failed: a failed drill exits 1 and still writes it). */
export function drillReportOf(job: Job, pods: readonly Pod[]): DrillReport | undefined {
  for (const pod of pods) {
    if (podJobUid(pod) !== job.metadata.uid) continue;
    for (const c of pod.status?.containerStatuses ?? []) {
      const report = parseDrillReport(c.state?.terminated?.message);
      if (report) return report;
    }
  }
  return undefined;
}

const seconds = (t: string | undefined): number => (t ? Date.parse(t) / 1000 : 0);
const rfc3339 = (t: string) => new Date(Date.parse(t)).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Why a drill failed, in one line: the dump's problems, or why it could not run. */
function failureText(report: DrillReport | undefined, job: Job, pods: readonly Pod[]): string {
  if (report?.error) return `the drill could not run: ${report.error}`;
  if (report && report.problems.length > 0) return report.problems.join('; ');
  return jobFailureMessage(job, pods); // no report: deadline exceeded, pod gone, an older image
}

/**
 * The drills of one service: the newest drill Job and how it ended, and the newest passing drill
 * (from the Jobs present and the one the status recorded before, which survives Job history limits
 * and operator restarts). A passing drill is only one whose Job succeeded and whose pod reported
 * passed; verifiedAt is when it finished.
 */
export function drillStatus(
  cronJob: string,
  jobs: readonly Job[],
  pods: readonly Pod[],
  prior: DrillStatus | undefined,
): DrillStatus {
  const status: DrillStatus = { cronJob };
  let lastPass: DrillPass | undefined = prior?.lastPass;
  for (const job of jobs) {
    if (jobOutcome(job) !== 'Succeeded') continue;
    const report = drillReportOf(job, pods);
    if (report && !report.passed) continue;
    const finishedAt = report?.finishedAt ?? jobFinishedAt(job);
    if (!finishedAt || (lastPass && seconds(lastPass.verifiedAt) >= seconds(finishedAt))) continue;
    lastPass = {
      job: job.metadata.name,
      verifiedAt: rfc3339(finishedAt),
      ...(report?.file ? { file: report.file } : {}),
      ...(report?.dumpCreatedAt ? { dumpCreatedAt: rfc3339(report.dumpCreatedAt) } : {}),
    };
  }
  if (lastPass) status.lastPass = lastPass;
  const newest = newestJob(jobs);
  if (!newest) {
    // The Jobs are gone (history limits): the newest one's record stays.
    const { cronJob: _name, lastPass: _pass, ...recorded } = prior ?? { cronJob };
    return { ...status, ...recorded };
  }
  const outcome = jobOutcome(newest);
  const report = outcome === 'Running' ? undefined : drillReportOf(newest, pods);
  status.lastJob = newest.metadata.name;
  status.lastResult =
    outcome === 'Running' ? 'Running' : outcome === 'Succeeded' && report?.passed !== false ? 'Passed' : 'Failed';
  const finished = outcome === 'Running' ? undefined : jobFinishedAt(newest);
  if (finished) status.lastFinishedAt = finished;
  if (report?.file) status.lastFile = report.file;
  if (status.lastResult === 'Failed') {
    const known = prior?.lastJob === newest.metadata.name && !report ? prior.lastMessage : undefined;
    status.lastMessage = known ?? failureText(report, newest, pods);
    status.lastDumpFailed = Boolean(report && !report.error && !report.passed);
  }
  return status;
}
