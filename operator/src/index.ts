// @webrana/operator, the domain for other packages' tests (charts/test builds the chart hook's
// migration pod and compares it with the operator's). Reading order of operator/src: api/ (the
// WebranaDatabase type, CRD, spec check) -> plan.ts -> status.ts -> builders.ts -> reconcile.ts;
// runtime/ is the machinery around it (client, informers, queue, leader election, controller loop).
// Nothing here imports @kubernetes/client-node.
export type * from './api/types';
export { DEFAULTS } from './api/types';
export { normalizeSpec, type NormalizedSpec, type SpecResult } from './api/validate';
export { migrationJob, backupCronJob, type Owner } from './builders';
