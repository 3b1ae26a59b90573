import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { apply, imageRef, useRealNode, waitFor } from '../src';

// scripts/kube-lab/stop removes everything scripts/kube-lab/start added to the machine. It needs the
// node alone (exclusive): the jest sequencer (scripts/jest-sequencer.js) runs this file last, and a
// file after it would start the node again.
const lab = useRealNode('real-node-stop', { exclusive: true });
const report = (line: string) => process.stderr.write(`real-node: ${line}\n`);

/** kube-router's ipsets (it keeps one per NetworkPolicy peer/target set of pods). */
const kubeRouterSets = () =>
  execFileSync('ipset', ['list', '-n'], { encoding: 'utf8' })
    .split('\n')
    .filter((name) => /^(inet6:)?KUBE-(SRC|DST)-/.test(name));

describe('scripts/kube-lab/stop', () => {
  test('removes every process, mount, cgroup, interface, route, address, iptables rule and ipset it added', async () => {
    // A pod under a NetworkPolicy, so that kube-router has ipsets for stop to remove.
    await apply(
      lab,
      lab.ns,
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: 'only-same-namespace' },
        spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'sleeper', labels: { app: 'sleeper' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'sleep',
              image: imageRef('jobs'),
              imagePullPolicy: 'Never',
              command: ['sleep', '600'],
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    );
    await waitFor('kube-router ipsets for the policy', async () => kubeRouterSets().length > 0, {
      timeoutMs: 90_000,
    });
    const state = lab.stateDir;
    const nodeIp = lab.nodeIp;
    const t0 = Date.now();
    await lab.stopNow();
    report(`stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const sh = (cmd: string) => execFileSync('bash', ['-c', cmd], { encoding: 'utf8' });
    // Processes: none with the state directory in their command line (servers, containerd, shims).
    const procs = sh(`ps -eo pid=,args= | grep -F -- ${JSON.stringify(state + '/')} | grep -v grep || true`);
    expect(procs.trim()).toBe('');
    expect(sh(`findmnt -rn -o TARGET | grep -F -- ${JSON.stringify(state + '/')} || true`).trim()).toBe('');
    expect(sh('ip -o link show cni0 2>/dev/null || true').trim()).toBe('');
    expect(sh(`ip -o addr show dev lo | grep -F ' ${nodeIp}/' || true`).trim()).toBe('');
    expect(sh('ip route show 10.96.0.0/24; ip route show 10.244.0.0/24').trim()).toBe('');
    for (const save of ['iptables-save', 'ip6tables-save']) {
      const rules = sh(`${save} 2>/dev/null || true`);
      expect({ save, kube: rules.split('\n').filter((l) => /KUBE-|webrana-kube-lab-real/.test(l)) }).toEqual({
        save,
        kube: [],
      });
    }
    expect(kubeRouterSets()).toEqual([]);
    expect(
      fs.readdirSync('/sys/fs/cgroup').filter((c) => fs.existsSync(`/sys/fs/cgroup/${c}/webrana-kube-lab-real`)),
    ).toEqual([]);
  }, 240_000);
});
