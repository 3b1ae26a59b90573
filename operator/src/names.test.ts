import * as fc from 'fast-check';
import { MAX_CRONJOB_NAME, MAX_JOB_NAME, backupCronJobName, boundedName, migrationJobName } from './names';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('child names', () => {
  test('are readable when short', () => {
    expect(migrationJobName('webrana', 'auth-service', 3)).toBe('webrana-auth-service-migrate-g3');
    expect(backupCronJobName('webrana', 'auth-service')).toBe('webrana-auth-service-backup');
  });

  test('are deterministic, within their length limits and valid DNS labels, however long the inputs', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    fc.assert(
      fc.property(label, label, fc.integer({ min: 1, max: 2 ** 40 }), (db, svc, gen) => {
        const job = migrationJobName(db, svc, gen);
        const cron = backupCronJobName(db, svc);
        expect(job).toBe(migrationJobName(db, svc, gen));
        expect(job.length).toBeLessThanOrEqual(MAX_JOB_NAME);
        expect(cron.length).toBeLessThanOrEqual(MAX_CRONJOB_NAME);
        expect(job).toMatch(DNS_LABEL);
        expect(cron).toMatch(DNS_LABEL);
      }),
    );
  });

  test('two long names that share a prefix still differ (the hash covers the whole name)', () => {
    const long = 'x'.repeat(60);
    expect(boundedName([long, 'a'], 63)).not.toBe(boundedName([long, 'b'], 63));
    expect(migrationJobName(long, 'auth-service', 1)).not.toBe(migrationJobName(long, 'auth-service', 2));
  });
});
