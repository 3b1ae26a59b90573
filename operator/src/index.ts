// @webrana/operator: the pure parts (API, CRD, plan, builders, status, queue) and the reconciler.
// The cluster I/O (kube/*, operator.ts) imports @kubernetes/client-node and is not re-exported here,
// so importing this package never loads it.
export * from './api/types';
export * from './api/cron';
export * from './api/crd';
export * from './api/validate';
export * from './api/yaml';
export * from './core/names';
export * from './core/k8s';
export * from './core/jobs';
export * from './core/plan';
export * from './core/builders';
export * from './core/status';
export * from './core/events';
export * from './core/queue';
export * from './core/lease';
export * from './reconciler';
export * from './controller';
export * from './config';
