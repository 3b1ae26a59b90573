/**
 * The parts of Kubernetes objects the operator reads and writes, as plain JSON (timestamps are
 * RFC 3339 strings). The I/O layer speaks raw JSON with the apiserver, so these are exactly what
 * goes over the wire; pure code never imports @kubernetes/client-node.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  startTime?: string;
  completionTime?: string;
  conditions?: JobCondition[];
}

/** A pod template; fields as the API has them (typed loosely where the operator only passes them through). */
export type PodTemplate = {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
};

export interface JobSpec {
  backoffLimit?: number;
  completions?: number;
  parallelism?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  podReplacementPolicy?: string;
  template: PodTemplate;
}

export interface Job {
  apiVersion: 'batch/v1';
  kind: 'Job';
  metadata: Meta;
  spec: JobSpec;
  status?: JobStatus;
}

export interface CronJobSpec {
  schedule: string;
  timeZone?: string;
  suspend?: boolean;
  concurrencyPolicy: 'Forbid' | 'Allow' | 'Replace';
  startingDeadlineSeconds?: number;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
  jobTemplate: { metadata?: { labels?: Record<string, string> }; spec: JobSpec };
}

export interface CronJob {
  apiVersion: 'batch/v1';
  kind: 'CronJob';
  metadata: Meta;
  spec: CronJobSpec;
  status?: { lastScheduleTime?: string; lastSuccessfulTime?: string; active?: { name?: string }[] };
}

export interface ContainerStateTerminated {
  exitCode?: number;
  reason?: string;
  message?: string;
  finishedAt?: string;
}

export interface Pod {
  metadata: Meta;
  status?: {
    phase?: string;
    containerStatuses?: { name: string; state?: { terminated?: ContainerStateTerminated } }[];
  };
}

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
}

/** What the operator reads of an apps/v1 Deployment: its rollout state. */
export interface Deployment {
  metadata: Meta;
  spec?: {
    replicas?: number;
    paused?: boolean;
    template?: { spec?: { terminationGracePeriodSeconds?: number } };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}
