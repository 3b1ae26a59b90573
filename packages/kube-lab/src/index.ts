export * from './lab';
export * from './real-node';
