import { holdRealNode, lockRealNode, useRealNode } from '../src';

// A second hold of the node by a process that holds it already: counted, no lock asked for again. Asking
// for the start lock while holding the node shared deadlocks with another run's file that holds the start
// lock and waits for the node alone (seen with a test file that called useRealNode twice).
const lab = useRealNode('hold');

test('a process holding the real node takes it again without the start lock, and lets go only at its last release', async () => {
  const lockFile = `${lab.stateDir}.lock`;
  // The start lock held elsewhere (what the other run's file does while it waits): a second hold
  // that asked for it would wait here for an hour.
  const startLock = await lockRealNode('exclusive', `${lockFile}.start`);
  try {
    const again = await Promise.race([
      holdRealNode('shared'),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the second hold waited')), 10_000)),
    ]);
    expect(again.node.kubeconfig).toBe(lab.kubeconfig);
    again.release();
    // This file's own hold remains: the node may not be taken alone.
    await expect(lockRealNode('exclusive', lockFile, 1000)).rejects.toThrow(/could not lock/);
  } finally {
    startLock.kill('SIGKILL');
  }
});
