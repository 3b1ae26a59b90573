import { FOUR_SERVICES } from '../test/fake-cluster';
import { normalizeSpec, type NormalizedSpec } from './api/validate';
import { backupCronJob, cronJobNeedsUpdate, migrationJob, type Owner } from './builders';
import type { CronJob } from './k8s';
import { SPEC_HASH_ANNOTATION } from './names';

const owner: Owner = { name: 'webrana', namespace: 'prod', uid: '1234-abcd' };
function spec(patch: (s: typeof FOUR_SERVICES) => void = () => {}): NormalizedSpec {
  const s = structuredClone(FOUR_SERVICES);
  patch(s);
  const r = normalizeSpec(s);
  if (!r.ok) throw new Error(r.message);
  return r.spec;
}
const auth = (s: NormalizedSpec) => s.services[0]!;
type Container = Record<string, unknown> & { securityContext: Record<string, unknown> };
const containerOf = (tpl: { spec: Record<string, unknown> }) => (tpl.spec.containers as Container[])[0]!;

describe('migrationJob', () => {
  const s = spec();
  const job = migrationJob(owner, s, auth(s), 3);

  test('is named per generation and owned by the resource (controller, blocking deletion)', () => {
    expect(job.metadata.name).toBe('webrana-auth-service-migrate-g3');
    expect(job.metadata.namespace).toBe('prod');
    expect(job.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'webrana.cloud/v1alpha1',
        kind: 'WebranaDatabase',
        name: 'webrana',
        uid: '1234-abcd',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
  });

  test('carries the labels the informer selects and the plan reads, on the Job and its pods', () => {
    const expected = {
      'app.kubernetes.io/managed-by': 'webrana-operator',
      'app.kubernetes.io/component': 'migration',
      'app.kubernetes.io/instance': 'webrana',
      'webrana.cloud/database': 'webrana',
      'webrana.cloud/service': 'auth-service',
      'webrana.cloud/generation': '3',
    };
    expect(job.metadata.labels).toMatchObject(expected);
    expect(job.spec.template.metadata?.labels).toMatchObject(expected);
  });

  test("runs `webrana-jobs migrate deploy --service=...` with the chart's timeout flags and the URL from the Secret as DATABASE_URL", () => {
    const c = containerOf(job.spec.template);
    expect(c.image).toBe('registry.example/webrana/jobs:1.4.0');
    expect(c.command).toEqual(['webrana-jobs']);
    expect(c.args).toEqual([
      'migrate',
      'deploy',
      '--service=auth-service',
      '--wait=60s',
      '--lock-timeout=5s',
      '--lock-wait=120s',
      '--statement-timeout=0',
      '--phase=pre-deploy',
    ]);
    expect(c.env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'auth-db', key: 'url', optional: true } },
    });
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  test('uses the spec Job settings, and never runs two pods at once', () => {
    expect(job.spec.backoffLimit).toBe(1);
    expect(job.spec.activeDeadlineSeconds).toBe(600);
    expect(job.spec.podReplacementPolicy).toBe('Failed');
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
  });

  test('is hardened: non-root, read-only root, no escalation, no capabilities, no API token', () => {
    const pod = job.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(containerOf(job.spec.template).securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      privileged: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } });
  });

  test('is the same object every time (pure)', () => {
    expect(migrationJob(owner, s, auth(s), 3)).toEqual(job);
  });
});

describe('backupCronJob', () => {
  const s = spec();
  const cj = backupCronJob(owner, s, auth(s)) as CronJob;

  test('schedules `webrana-jobs backup` with the retention flags onto the backup volume', () => {
    expect(cj.metadata.name).toBe('webrana-auth-service-backup');
    expect(cj.spec.schedule).toBe('0 2 * * *');
    const tpl = cj.spec.jobTemplate.spec.template;
    expect(containerOf(tpl).args).toEqual([
      'backup',
      '--service=auth-service',
      '--dir=/backups',
      '--keep-daily=7',
      '--keep-weekly=4',
      '--keep-monthly=12',
      '--termination-log=/dev/termination-log',
    ]);
    expect(tpl.spec.volumes).toContainEqual({
      name: 'backups',
      persistentVolumeClaim: { claimName: 'webrana-backups' },
    });
    expect(containerOf(tpl).volumeMounts).toContainEqual({ name: 'backups', mountPath: '/backups' });
  });

  test('the backup pod writes its summary to its terminationMessagePath; FallbackToLogsOnError reports the log tail of a failure', () => {
    const c = containerOf(cj.spec.jobTemplate.spec.template) as Record<string, unknown>;
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(c.args).toContain(`--termination-log=${c.terminationMessagePath as string}`);
  });

  test('spec.backup.suspend suspends the CronJob', () => {
    const suspended = spec((x) => (x.backup!.suspend = true));
    expect(backupCronJob(owner, suspended, auth(suspended))?.spec.suspend).toBe(true);
  });

  test('never overlaps runs, keeps a bounded history, and is owned by the resource', () => {
    expect(cj.spec.concurrencyPolicy).toBe('Forbid');
    expect(cj.spec.successfulJobsHistoryLimit).toBe(3);
    expect(cj.spec.failedJobsHistoryLimit).toBe(3);
    expect(cj.spec.suspend).toBe(false);
    expect(cj.metadata.ownerReferences?.[0]?.uid).toBe('1234-abcd');
    expect(cj.spec.jobTemplate.metadata?.labels?.['webrana.cloud/service']).toBe('auth-service');
  });

  test('there is none without a backup section', () => {
    const none = spec((x) => delete x.backup);
    expect(backupCronJob(owner, none, auth(none))).toBeUndefined();
  });

  test('needs an update when the spec changes or an owned field was edited, not for apiserver defaults', () => {
    const observed: CronJob = structuredClone(cj);
    // What the apiserver adds must not count as a difference.
    (observed.spec.jobTemplate.spec.template.spec as Record<string, unknown>).dnsPolicy = 'ClusterFirst';
    observed.spec.jobTemplate.spec.ttlSecondsAfterFinished = undefined;
    expect(cronJobNeedsUpdate(observed, cj)).toBe(false);

    const changed = backupCronJob(
      owner,
      spec((x) => (x.backup!.schedule = '@hourly')),
      auth(s),
    ) as CronJob;
    expect(changed.metadata.annotations?.[SPEC_HASH_ANNOTATION]).not.toBe(
      cj.metadata.annotations?.[SPEC_HASH_ANNOTATION],
    );
    expect(cronJobNeedsUpdate(observed, changed)).toBe(true);

    const edited = structuredClone(observed);
    edited.spec.suspend = true;
    expect(cronJobNeedsUpdate(edited, cj)).toBe(true);
  });
});

describe('backupCronJob with spec.backup.s3', () => {
  const s3 = {
    bucket: 'webrana-backups',
    prefix: 'prod',
    endpoint: 'https://s3.example.net',
    region: 'ap-southeast-3',
    forcePathStyle: true,
    credentialsSecretRef: { name: 'backup-s3' },
  };
  const envOf = (cj: CronJob) =>
    containerOf(cj.spec.jobTemplate.spec.template).env as { name: string; value?: string; valueFrom?: unknown }[];

  test('volume and bucket: --dir stays, the bucket comes as BACKUP_S3_URL and the AWS variables, credentials only by Secret reference', () => {
    const both = spec((x) => (x.backup!.s3 = s3));
    const cj = backupCronJob(owner, both, auth(both)) as CronJob;
    expect(containerOf(cj.spec.jobTemplate.spec.template).args).toContain('--dir=/backups');
    const env = envOf(cj);
    expect(env).toEqual(
      expect.arrayContaining([
        { name: 'BACKUP_S3_URL', value: 's3://webrana-backups/prod' },
        { name: 'AWS_ENDPOINT_URL', value: 'https://s3.example.net' },
        { name: 'AWS_REGION', value: 'ap-southeast-3' },
        { name: 'AWS_S3_FORCE_PATH_STYLE', value: 'true' },
        {
          name: 'AWS_ACCESS_KEY_ID',
          valueFrom: { secretKeyRef: { name: 'backup-s3', key: 'AWS_ACCESS_KEY_ID', optional: true } },
        },
        {
          name: 'AWS_SECRET_ACCESS_KEY',
          valueFrom: { secretKeyRef: { name: 'backup-s3', key: 'AWS_SECRET_ACCESS_KEY', optional: true } },
        },
      ]),
    );
    expect(env.filter((e) => e.name.startsWith('AWS_ACCESS') || e.name.startsWith('AWS_SECRET'))).toHaveLength(2);
    expect(env.every((e) => e.value === undefined || !e.name.includes('SECRET'))).toBe(true);
  });

  test('bucket only: no volume, no mount, no --dir', () => {
    const only = spec((x) => {
      delete (x.backup as { volumeClaimName?: string }).volumeClaimName;
      x.backup!.s3 = { bucket: 'webrana-backups' };
    });
    const cj = backupCronJob(owner, only, auth(only)) as CronJob;
    const tpl = cj.spec.jobTemplate.spec.template;
    expect(containerOf(tpl).args).not.toContainEqual(expect.stringMatching(/^--dir/));
    expect(tpl.spec.volumes).not.toContainEqual(expect.objectContaining({ name: 'backups' }));
    expect(containerOf(tpl).volumeMounts).not.toContainEqual(expect.objectContaining({ name: 'backups' }));
    expect(envOf(cj)).toContainEqual({ name: 'BACKUP_S3_URL', value: 's3://webrana-backups/' });
    expect(envOf(cj).map((e) => e.name)).not.toContain('AWS_ACCESS_KEY_ID'); // the SDK's own chain then
  });

  test("bucket only: /tmp, where the dump is spooled before the upload, has no 64Mi cap (the volume's backup keeps it)", () => {
    const only = spec((x) => {
      delete (x.backup as { volumeClaimName?: string }).volumeClaimName;
      x.backup!.s3 = { bucket: 'webrana-backups' };
    });
    const tmpOf = (cj: CronJob) =>
      (cj.spec.jobTemplate.spec.template.spec.volumes as { name: string }[]).find((v) => v.name === 'tmp');
    expect(tmpOf(backupCronJob(owner, only, auth(only)) as CronJob)).toEqual({ name: 'tmp', emptyDir: {} });
    const both = spec((x) => (x.backup!.s3 = s3));
    expect(tmpOf(backupCronJob(owner, both, auth(both)) as CronJob)).toEqual({
      name: 'tmp',
      emptyDir: { sizeLimit: '64Mi' },
    });
  });

  test('neither a volume nor a bucket, or a bad bucket name, is an invalid spec naming the field', () => {
    const neither = structuredClone(FOUR_SERVICES);
    delete (neither.backup as { volumeClaimName?: string }).volumeClaimName;
    expect(normalizeSpec(neither)).toMatchObject({
      ok: false,
      message: expect.stringContaining('spec.backup needs volumeClaimName, s3, or both'),
    });
    const bad = structuredClone(FOUR_SERVICES);
    bad.backup!.s3 = { bucket: 'Not_A_Bucket' };
    expect(normalizeSpec(bad)).toMatchObject({ ok: false, message: expect.stringContaining('spec.backup.s3.bucket') });
  });
});
