export * from './databases';
export * from './ports';
export { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';
