export * from './layout';
export * from './images';
export * from './mounts';
export * from './env';
export * from './pod-status';
export * from './lab';
export * from './jest';
export * from './real-node';
