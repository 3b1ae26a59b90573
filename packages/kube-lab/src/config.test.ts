import * as path from 'node:path';
import { parseKubeletArgs } from './config';

const TLS = ['--tls-cert-file', 'k.crt', '--tls-private-key-file', 'k.key', '--client-ca-file', 'ca.crt'];

test('flags in both forms, defaults, and resolved paths', () => {
  const c = parseKubeletArgs(['--kubeconfig', 'k.conf', '--state-dir=state', '--exit-with-pid', '42', ...TLS]);
  expect(c).toMatchObject({
    kubeconfig: path.resolve('k.conf'),
    stateDir: path.resolve('state'),
    nodeName: 'kube-lab',
    exitWithPid: 42,
    restartBackoffMs: 1000,
    logLevel: 'info',
    port: 0,
    clientCaFile: path.resolve('ca.crt'),
  });
});

test('fails fast naming the problem', () => {
  expect(() => parseKubeletArgs(['--state-dir', 's', ...TLS])).toThrow(/kubeconfig/);
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's'])).toThrow(/--tls-cert-file is required/);
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's', ...TLS, '--port', '70000'])).toThrow(/port/);
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's', '--bogus', '1'])).toThrow(
    'unknown option --bogus',
  );
  expect(() => parseKubeletArgs(['--kubeconfig'])).toThrow('option --kubeconfig needs a value');
  expect(() => parseKubeletArgs(['--kubeconfig', 'k', '--state-dir', 's', ...TLS, '--node-name', 'Bad_Name'])).toThrow(
    'DNS subdomain',
  );
  expect(() => parseKubeletArgs(['stray'])).toThrow('unexpected argument "stray"');
});
