import { GROUP, VERSION, type Condition, type ObjectMeta } from '../api/types';

/**
 * The WebranaRestore API (webrana.cloud/v1alpha1): one restore of one service's database from one
 * dump, run once by the operator as a `webrana-jobs restore` Job. The CRD (crd.ts here) is written
 * against these types; `normalizeRestoreSpec` (validate.ts here) says the same for the operator.
 */

export const RESTORE_KIND = 'WebranaRestore';
export const RESTORE_PLURAL = 'webranarestores';
export const RESTORE_SINGULAR = 'webranarestore';
export const RESTORE_SHORT_NAMES = ['wrs'];
export const RESTORE_CRD_NAME = `${RESTORE_PLURAL}.${GROUP}`;
export { GROUP, VERSION };

/**
 * `spec.target`: exactly one of `inPlace: true` (the service's own database) and `newDatabase: NAME`
 * (created on the same server when missing; the service's database is not touched). An object, not
 * a string-or-object: a structural schema cannot say "either".
 */
export interface RestoreTargetSpec {
  inPlace?: boolean;
  newDatabase?: string;
}

export interface WebranaRestoreSpec {
  /** A WebranaDatabase in the same namespace: its DB credentials, image and backup volume/bucket are used. */
  database: string;
  /** One of its services. */
  service: string;
  /** `latest` (the newest completed full dump) or a dump's file name (auth-service-20261130T020000Z.tar.zst). */
  backup: string;
  target: RestoreTargetSpec;
  /** inPlace only: scale the service's Deployment to 0 first, and back afterwards. */
  scaleDown?: boolean;
  /** The Deployment scaleDown scales (default: the service's name); it must carry the service's name label. */
  deployment?: string;
  /** Where the dump is read: `volume` or `bucket` (default: the volume when the database has one, else the bucket). */
  source?: 'volume' | 'bucket';
}

export type RestorePhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface WebranaRestoreStatus {
  observedGeneration?: number;
  phase?: RestorePhase;
  /** CamelCase reason of the phase (WaitingForJobs, ScalingDown, DumpNotFound, TargetSchemaNewer, ...). */
  reason?: string;
  message?: string;
  /** The restore Job (one per WebranaRestore, ever). */
  job?: string;
  /** The dump restored, from the Job's termination message. */
  dump?: string;
  /** The database restored into. */
  targetDatabase?: string;
  bytes?: number;
  durationSeconds?: number;
  startedAt?: string;
  finishedAt?: string;
  conditions?: Condition[];
}

export interface WebranaRestore {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: WebranaRestoreSpec;
  status?: WebranaRestoreStatus;
}

/** The Deployment's replicas before scaleDown, on the WebranaRestore (kept across operator restarts). */
export const REPLICAS_ANNOTATION = 'webrana.cloud/restore-replicas';
/** Label on the restore Job and its pod: the WebranaRestore it runs. */
export const RESTORE_LABEL = 'webrana.cloud/restore';
