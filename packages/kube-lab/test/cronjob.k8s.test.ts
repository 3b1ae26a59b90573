import {
  apply,
  describeNamespace,
  getJson,
  jobCondition,
  kubectl,
  useKubeLabNamespace,
  waitFor,
  type KubeObject,
} from '@webrana/kube-lab';

// CronJobs through the real cronjob controller (schedule and --from), cleaned up by the garbage collector.
const lab = useKubeLabNamespace('cronjob');

async function jobsOwnedBy(uid: string): Promise<KubeObject[]> {
  const list = await getJson(lab, ['jobs', '-n', lab.ns]);
  return (list?.items ?? []).filter((j) => j.metadata.ownerReferences?.some((o) => o.uid === uid));
}

test('a */1 CronJob creates a Job on schedule within 90 s, `kubectl create job --from=cronjob/...` works, and deleting the CronJob garbage-collects its Jobs and pods', async () => {
  await apply(lab, lab.ns, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: {
      schedule: '*/1 * * * *',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 3,
      jobTemplate: {
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'tick',
                  image: 'node:20',
                  command: ['node', '-e', "console.log('tick', new Date().toISOString())"],
                },
              ],
            },
          },
        },
      },
    },
  });
  const cronJob = await getJson(lab, ['cronjob', 'tick', '-n', lab.ns]);
  const cronUid = cronJob!.metadata.uid;

  // By hand, while the schedule is pending.
  await kubectl(lab, ['create', 'job', 'tick-by-hand', '--from=cronjob/tick', '-n', lab.ns]);
  await jobCondition(lab, lab.ns, 'tick-by-hand', 'Complete');
  const byHand = await getJson(lab, ['job', 'tick-by-hand', '-n', lab.ns]);
  expect(byHand?.metadata.annotations?.['cronjob.kubernetes.io/instantiate']).toBe('manual');
  expect(byHand?.metadata.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'CronJob', name: 'tick', uid: cronUid }),
  ]);

  // On schedule: the controller names its Jobs tick-<minutes since the epoch>.
  const scheduled = await waitFor(
    'the CronJob to create a Job on schedule',
    async () => (await jobsOwnedBy(cronUid)).find((j) => /^tick-\d+$/.test(j.metadata.name)),
    { timeoutMs: 90_000, intervalMs: 1000, diagnose: () => describeNamespace(lab, lab.ns) },
  );
  await jobCondition(lab, lab.ns, scheduled.metadata.name, 'Complete');
  const status = await waitFor('the CronJob status to record the success', async () => {
    const s = (await getJson(lab, ['cronjob', 'tick', '-n', lab.ns]))?.status;
    return s?.lastSuccessfulTime ? s : undefined;
  });
  expect(status.lastScheduleTime).toEqual(expect.any(String));

  const owned = await jobsOwnedBy(cronUid);
  expect(owned.map((j) => j.metadata.name)).toEqual(expect.arrayContaining(['tick-by-hand', scheduled.metadata.name]));

  // Background cascading deletion: the garbage collector removes the Jobs, then their pods.
  await kubectl(lab, ['delete', 'cronjob', 'tick', '-n', lab.ns, '--cascade=background']);
  await waitFor(
    'the garbage collector to delete the Jobs of the CronJob',
    async () => (await getJson(lab, ['jobs', '-n', lab.ns]))?.items?.length === 0,
    {
      timeoutMs: 30_000,
      diagnose: () => describeNamespace(lab, lab.ns),
    },
  );
  await waitFor(
    'their pods to be gone',
    async () => (await getJson(lab, ['pods', '-n', lab.ns]))?.items?.length === 0,
    {
      timeoutMs: 30_000,
      diagnose: () => describeNamespace(lab, lab.ns),
    },
  );
}, 180_000);
