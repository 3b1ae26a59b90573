import type { Pod } from '../k8s';
import { slimPod } from './informers';

const pod = (component: string): Pod => ({
  metadata: { name: `p-${component}`, namespace: 'ns', labels: { 'app.kubernetes.io/component': component } },
  status: {
    phase: 'Failed',
    containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 1, message: '{"passed":false}' } } }],
  },
});
const messageOf = (p: unknown) => (p as Pod).status?.containerStatuses?.[0]?.state?.terminated?.message;

test("the pod cache keeps a backup or restore drill pod's termination message (its report), and no other pod's", () => {
  expect(messageOf(slimPod(pod('verify')))).toBe('{"passed":false}');
  expect(messageOf(slimPod(pod('backup')))).toBe('{"passed":false}');
  expect(messageOf(slimPod(pod('migration')))).toBeUndefined();
});
