import { KUBE_LAB_START_TIMEOUT_MS, deleteNamespace, freshNamespace, startKubeLab, type KubeLab } from './lab';

/** The lab, plus the namespace this test file works in. */
export interface KubeLabNamespace extends KubeLab {
  readonly ns: string;
}

/**
 * Jest: before the file's tests, start (or reuse) the lab and its kubelet and create a fresh namespace
 * `<prefix>-<random>`; after them, delete it. Call it at the top level of a test file; the accessor
 * throws when read before its beforeAll ran (a test-file mistake, not a lab failure).
 *
 *   const lab = useKubeLabNamespace('jobs');
 *   test('...', async () => { await apply(lab, lab.ns, ...); });
 */
export function useKubeLabNamespace(prefix: string): KubeLabNamespace {
  let started: KubeLab | undefined;
  let ns: string | undefined;
  beforeAll(async () => {
    started = await startKubeLab();
    ns = await freshNamespace(started, prefix);
  }, KUBE_LAB_START_TIMEOUT_MS);
  afterAll(() => deleteNamespace(started, ns));
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error(`kube-lab namespace ${prefix}: read before its beforeAll ran`);
    return value;
  };
  return {
    get ns() {
      return ready(ns);
    },
    get stateDir() {
      return ready(started).stateDir;
    },
    get kubeletStateDir() {
      return ready(started).kubeletStateDir;
    },
    get kubeconfig() {
      return ready(started).kubeconfig;
    },
    get env() {
      return ready(started).env;
    },
    get startSeconds() {
      return ready(started).startSeconds;
    },
  };
}
