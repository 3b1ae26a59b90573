export * from './migrate/assess';
export * from './migrate/local';
export * from './migrate/runner';
export { MigrationError, PRISMA_MIGRATION_LOCK } from './migrate/session';
export { seedOne } from './seed';
