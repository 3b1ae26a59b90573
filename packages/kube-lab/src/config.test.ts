import * as path from 'node:path';
import { parseKubeletArgs } from './config';

test('flags in both forms, defaults, and resolved paths', () => {
  const c = parseKubeletArgs(['--kubeconfig', 'k.conf', '--state-dir=state', '--exit-with-pid', '42']);
  expect(c).toMatchObject({
    kubeconfig: path.resolve('k.conf'),
    stateDir: path.resolve('state'),
    nodeName: 'kube-lab',
    exitWithPid: 42,
    restartBackoffMs: 1000,
    logLevel: 'info',
  });
});

test('fails fast naming the problem', () => {
  expect(() => parseKubeletArgs(['--state-dir', 's'])).toThrow(/kubeconfig/);
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's', '--bogus', '1'])).toThrow(
    'unknown option --bogus',
  );
  expect(() => parseKubeletArgs(['--kubeconfig'])).toThrow('option --kubeconfig needs a value');
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's', '--node-name', 'Bad_Name'])).toThrow(
    'DNS subdomain',
  );
  expect(() => parseKubeletArgs(['stray'])).toThrow('unexpected argument "stray"');
});
