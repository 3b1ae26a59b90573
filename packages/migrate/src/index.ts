export * from './assess';
export { checkDrift } from './drift';
export { EXIT_TEMPFAIL, TransientMigrationError } from './failure';
export * from './limits';
export * from './local';
export * from './phase';
export * from './runner';
export { MigrationError, PRISMA_MIGRATION_LOCK } from './session';
export * from './lint';
export {
  appliedDatamodel,
  migrationSlug,
  migrationTimestamp,
  nextMigrationName,
  newMigration,
  type NewMigrationResult,
} from './new';
