import { stopRealNodeOfRun, testRunId } from '@webrana/kube-lab';

/** Jest global teardown: stop the real node if a test file of this run started it, then the PostgreSQL. */
export default async function globalTeardown(): Promise<void> {
  try {
    await stopRealNodeOfRun(testRunId());
  } finally {
    await globalThis.__WEBRANA_POSTGRES__?.stop();
  }
}
