import type { V1Container, V1Pod } from '@kubernetes/client-node';
import {
  ContainerConfigError,
  envReferences,
  expand,
  fieldValue,
  resolveEnv,
  resourceValue,
  type EnvObjects,
  type NodeFacts,
} from './env';
import { parseQuantity } from './quantity';

const facts: NodeFacts = {
  nodeName: 'kube-lab',
  hostIP: '127.0.0.1',
  podIP: '127.0.0.1',
  allocatable: { cpu: 2, memory: 4 * 2 ** 30, ephemeralStorage: 10 * 2 ** 30 },
};
const pod: V1Pod = {
  metadata: { name: 'p', namespace: 'ns', uid: 'u-1', labels: { b: '2', a: '1' }, annotations: { note: 'x' } },
  spec: { containers: [], nodeName: 'kube-lab', serviceAccountName: 'sa' },
};
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const objects: EnvObjects = {
  secrets: new Map([
    ['creds', { user: b64('ana'), password: b64('s3cret') }],
    ['gone', null],
  ]),
  configMaps: new Map([['settings', { MODE: 'fast', 'bad=key': 'x' }]]),
};
const env = (c: Partial<V1Container>, serviceEnv = {}): Record<string, string> =>
  Object.fromEntries(resolveEnv(pod, { name: 'c', ...c }, objects, facts, serviceEnv));

test('values, $(VAR) expansion and later definitions winning', () => {
  expect(
    env(
      {
        env: [
          { name: 'A', value: 'one' },
          { name: 'B', value: '$(A)-$(MISSING)-$$(A)-$(KUBERNETES_SERVICE_HOST)' },
          { name: 'A', value: 'two' },
        ],
      },
      { KUBERNETES_SERVICE_HOST: '127.0.0.1' },
    ),
  ).toEqual({ KUBERNETES_SERVICE_HOST: '127.0.0.1', A: 'two', B: 'one-$(MISSING)-$(A)-127.0.0.1' });
});

test('secretKeyRef and configMapKeyRef, envFrom with prefixes (invalid keys skipped), env overriding envFrom', () => {
  expect(
    env({
      envFrom: [{ secretRef: { name: 'creds' }, prefix: 'DB_' }, { configMapRef: { name: 'settings' } }],
      env: [
        { name: 'MODE', value: 'slow' },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'M', valueFrom: { configMapKeyRef: { name: 'settings', key: 'MODE' } } },
      ],
    }),
  ).toEqual({ DB_user: 'ana', DB_password: 's3cret', MODE: 'slow', PASS: 's3cret', M: 'fast' });
});

test('missing objects and keys are config errors with the kubelet’s messages, unless optional', () => {
  const ref = (name: string, key: string, optional?: boolean): Partial<V1Container> => ({
    env: [{ name: 'X', valueFrom: { secretKeyRef: { name, key, optional } } }],
  });
  expect(() => env(ref('gone', 'k'))).toThrow(new ContainerConfigError('secret "gone" not found'));
  expect(() => env(ref('unknown', 'k'))).toThrow('secret "unknown" not found');
  expect(() => env(ref('creds', 'nope'))).toThrow("couldn't find key nope in Secret ns/creds");
  expect(env(ref('gone', 'k', true))).toEqual({});
  expect(env(ref('creds', 'nope', true))).toEqual({});
  expect(() =>
    env({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } }] }),
  ).toThrow("couldn't find key nope in ConfigMap ns/settings");
  expect(() => env({ envFrom: [{ configMapRef: { name: 'nothing' } }] })).toThrow('configmap "nothing" not found');
});

test('fieldRef paths', () => {
  expect(fieldValue(pod, 'metadata.name', facts)).toBe('p');
  expect(fieldValue(pod, 'metadata.namespace', facts)).toBe('ns');
  expect(fieldValue(pod, 'metadata.uid', facts)).toBe('u-1');
  expect(fieldValue(pod, "metadata.labels['a']", facts)).toBe('1');
  expect(fieldValue(pod, "metadata.annotations['note']", facts)).toBe('x');
  expect(fieldValue(pod, 'metadata.labels', facts)).toBe('a="1"\nb="2"');
  expect(fieldValue(pod, 'spec.serviceAccountName', facts)).toBe('sa');
  expect(fieldValue(pod, 'status.podIP', facts)).toBe('127.0.0.1');
  expect(() => fieldValue(pod, 'spec.whatever', facts)).toThrow(ContainerConfigError);
});

test('resourceFieldRef: limits, requests defaulting to limits, node allocatable when unset, divisors rounded up', () => {
  const c: V1Container = {
    name: 'c',
    resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { memory: '32Mi' } },
  };
  expect(resourceValue(c, 'limits.cpu', undefined, facts)).toBe('1');
  expect(resourceValue(c, 'limits.cpu', '1m', facts)).toBe('500');
  expect(resourceValue(c, 'requests.cpu', '1m', facts)).toBe('500');
  expect(resourceValue(c, 'limits.memory', '1Mi', facts)).toBe('64');
  expect(resourceValue(c, 'requests.memory', '1Mi', facts)).toBe('32');
  expect(resourceValue({ name: 'c' }, 'limits.memory', '1Gi', facts)).toBe('4');
  expect(resourceValue({ name: 'c' }, 'requests.cpu', undefined, facts)).toBe('0');
  expect(() => resourceValue(c, 'limits.gpu', undefined, facts)).toThrow(ContainerConfigError);
});

test('parseQuantity', () => {
  expect(parseQuantity('500m')).toBeCloseTo(0.5);
  expect(parseQuantity('1Gi')).toBe(2 ** 30);
  expect(parseQuantity('1.5G')).toBe(1.5e9);
  expect(parseQuantity('2e3')).toBe(2000);
  expect(() => parseQuantity('1 Gi')).toThrow('invalid quantity');
});

test('expand keeps what it cannot expand', () => {
  const vars = new Map([['A', 'x']]);
  expect(expand('$(A)$(A', vars)).toBe('x$(A');
  expect(expand('$A $ $$ $(B)', vars)).toBe('$A $ $ $(B)');
  expect(expand('end$', vars)).toBe('end$');
});

test('envReferences lists the Secrets and ConfigMaps to fetch', () => {
  const refs = envReferences([
    {
      name: 'c',
      envFrom: [{ secretRef: { name: 's1' } }, { configMapRef: { name: 'c1' } }],
      env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's2', key: 'k' }, configMapKeyRef: undefined } }],
    },
  ]);
  expect([...refs.secrets]).toEqual(['s1', 's2']);
  expect([...refs.configMaps]).toEqual(['c1']);
});
