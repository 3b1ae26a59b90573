import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';
import { apply, imageRef, run, useRealNode, waitFor } from '../src';

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

describe('scripts/kube-lab/start', () => {
  const scripts = path.join(REPO_ROOT, 'scripts', 'kube-lab');

  test("starts the kubelet again when it exited because containerd's CRI was not initialized yet", async () => {
    // A cache of the pinned build whose kubelet first fails as the real one does in that window, once.
    const realBin = execFileSync(path.join(scripts, 'build'), ['--quiet'], { encoding: 'utf8' }).trim();
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'webrana-kube-lab-cache-'));
    const out = path.join(cache, path.basename(path.dirname(realBin)));
    fs.mkdirSync(path.join(out, 'bin'), { recursive: true });
    for (const file of ['pause.oci.tar', 'pause.ref'])
      fs.symlinkSync(path.join(path.dirname(realBin), file), path.join(out, file));
    for (const binary of fs.readdirSync(realBin).filter((b) => b !== 'kubelet'))
      fs.symlinkSync(path.join(realBin, binary), path.join(out, 'bin', binary));
    const failedOnce = path.join(cache, 'kubelet-failed-once');
    const error = `E1130 run.go:72] "command failed" err="failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint: rpc error: code = Unknown desc = server is not initialized yet"`;
    fs.writeFileSync(
      path.join(out, 'bin', 'kubelet'),
      `#!/bin/sh\nif [ ! -e '${failedOnce}' ]; then touch '${failedOnce}'; echo '${error}' >&2; exit 1; fi\nexec '${realBin}/kubelet' "$@"\n`,
      { mode: 0o755 },
    );
    try {
      const started = await run(path.join(scripts, 'start'), [], {
        env: { ...process.env, KUBE_LAB_CACHE: cache },
        timeoutMs: 300_000,
      });
      expect({ code: started.code, stderr: started.stderr.split('\n').slice(-30) }).toMatchObject({ code: 0 });
      expect(fs.existsSync(failedOnce)).toBe(true);
      expect(started.stderr).toContain("start: containerd's CRI was not initialized yet: starting the kubelet again");
      expect(started.stderr).toMatch(/start: node webrana-node Ready/);
    } finally {
      await run(path.join(scripts, 'stop'), [], { timeoutMs: 180_000 });
      fs.rmSync(cache, { recursive: true, force: true });
    }
  }, 360_000);
});
