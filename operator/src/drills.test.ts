import { FOUR_SERVICES } from '../test/fake-cluster';
import { normalizeSpec, type NormalizedSpec } from './api/validate';
import { backupCronJob, verifyCronJob, type Owner } from './builders';
import { parseDrillReport } from './drills';
import { JOB_POD_SELECTOR } from './names';

const owner: Owner = { name: 'webrana', namespace: 'prod', uid: '1234-abcd' };
function spec(patch: (s: typeof FOUR_SERVICES) => void = () => {}): NormalizedSpec {
  const s = structuredClone(FOUR_SERVICES);
  patch(s);
  const r = normalizeSpec(s);
  if (!r.ok) throw new Error(r.message);
  return r.spec;
}
const withDrills = (extra: object = {}) =>
  spec((s) => {
    s.backup!.verify = { ...extra };
  });
type Container = Record<string, unknown> & { args: string[]; env: { name: string }[] };
const podOf = (cj: NonNullable<ReturnType<typeof backupCronJob>>) => cj.spec.jobTemplate.spec.template.spec;
const containerOf = (cj: NonNullable<ReturnType<typeof backupCronJob>>) => (podOf(cj).containers as Container[])[0]!;

describe('verifyCronJob', () => {
  test('none without spec.backup.verify', () => {
    const s = spec();
    expect(verifyCronJob(owner, s, s.services[0]!)).toBeUndefined();
  });

  test('runs `webrana-jobs backup verify --latest` on the volume, reporting to the termination log, weekly by default', () => {
    const s = withDrills();
    const cj = verifyCronJob(owner, s, s.services[0]!)!;
    expect(cj.metadata.name).toBe('webrana-auth-service-verify');
    expect(cj.spec.schedule).toBe('0 3 * * 0');
    expect(containerOf(cj).name).toBe('verify');
    expect(containerOf(cj).args).toEqual([
      'backup',
      'verify',
      '--service=auth-service',
      '--latest',
      '--dir=/backups',
      '--termination-log=/dev/termination-log',
    ]);
    expect(cj.spec.jobTemplate.metadata?.labels?.['app.kubernetes.io/component']).toBe('verify');
    expect(cj.spec.jobTemplate.spec.template.metadata?.labels?.['app.kubernetes.io/component']).toBe('verify');
    expect(JOB_POD_SELECTOR).toContain('verify'); // the operator sees its pods' reports
  });

  test('is built like the backup CronJob: same hardening, volume, Secret reference, deadlines, concurrency and suspend; only /tmp is larger', () => {
    const s = withDrills({ tmpSizeLimit: '2Gi' });
    const backup = backupCronJob(owner, s, s.services[0]!)!;
    const drill = verifyCronJob(owner, s, s.services[0]!)!;
    const { containers: bc, volumes: bv, ...backupPod } = podOf(backup) as Record<string, unknown>;
    const { containers: dc, volumes: dv, ...drillPod } = podOf(drill) as Record<string, unknown>;
    expect(drillPod).toEqual(backupPod);
    const { name: _b, args: _ba, ...backupContainer } = (bc as Container[])[0]!;
    const { name: _d, args: _da, ...drillContainer } = (dc as Container[])[0]!;
    expect(drillContainer).toEqual(backupContainer);
    expect(dv).toEqual([
      { name: 'tmp', emptyDir: { sizeLimit: '2Gi' } },
      ...(bv as unknown[]).filter((v) => (v as { name: string }).name !== 'tmp'),
    ]);
    const { schedule: _bs, jobTemplate: _bj, ...backupCron } = backup.spec;
    const { schedule: _ds, jobTemplate: _dj, ...drillCron } = drill.spec;
    expect(drillCron).toEqual(backupCron);
    expect(drill.spec.jobTemplate.spec.activeDeadlineSeconds).toBe(backup.spec.jobTemplate.spec.activeDeadlineSeconds);
  });

  test('from the bucket alone: no --dir, the bucket variables as in the backup pod', () => {
    const s = spec((x) => {
      delete x.backup!.volumeClaimName;
      x.backup!.s3 = { bucket: 'dumps', prefix: 'prod', credentialsSecretRef: { name: 's3-creds' } };
      x.backup!.verify = { schedule: '30 4 * * 6' };
    });
    const drill = verifyCronJob(owner, s, s.services[0]!)!;
    const backup = backupCronJob(owner, s, s.services[0]!)!;
    expect(drill.spec.schedule).toBe('30 4 * * 6');
    expect(containerOf(drill).args).not.toContain('--dir=/backups');
    expect(containerOf(drill).env).toEqual(containerOf(backup).env);
    expect(containerOf(drill).env.map((e) => e.name)).toContain('BACKUP_S3_URL');
  });

  test('a bad drill schedule or size is an invalid spec naming the field', () => {
    const bad = (verify: object) => {
      const s = structuredClone(FOUR_SERVICES);
      s.backup!.verify = verify;
      const r = normalizeSpec(s);
      return r.ok ? null : r.message;
    };
    expect(bad({ schedule: 'weekly' })).toMatch(/^spec\.backup\.verify: /);
    expect(bad({ tmpSizeLimit: 'lots' })).toBe('spec.backup.verify: tmpSizeLimit is not a size like 4Gi (got "lots")');
    expect(bad({})).toBeNull();
  });
});

describe('parseDrillReport', () => {
  test('reads a passed and a failed report, and a drill that could not run', () => {
    expect(
      parseDrillReport('{"passed":true,"file":"a.tar.zst","problems":[],"finishedAt":"2026-11-29T03:00:12.500Z"}\n'),
    ).toEqual({
      passed: true,
      file: 'a.tar.zst',
      problems: [],
      finishedAt: '2026-11-29T03:00:12.500Z',
    });
    expect(parseDrillReport('{"passed":false,"problems":["x",3]}')).toEqual({ passed: false, problems: ['x'] });
    expect(parseDrillReport('{"passed":false,"error":"cannot connect"}')).toEqual({
      passed: false,
      problems: [],
      error: 'cannot connect',
    });
  });

  test("is undefined for a log tail, a backup's summary or a cut message", () => {
    expect(parseDrillReport('Error: something\n  at x')).toBeUndefined();
    expect(
      parseDrillReport('{"service":"a","bytes":1,"durationSeconds":1,"finishedAt":"2026-01-01T00:00:00Z"}'),
    ).toBeUndefined();
    expect(parseDrillReport('{"passed":tr')).toBeUndefined();
    expect(parseDrillReport(undefined)).toBeUndefined();
  });
});
