export * from './databases';
export { startEmbeddedPostgres, type RunningPostgres } from '@webrana/local-postgres';
