import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BUILD_TIMEOUT_MS,
  REPO_ROOT,
  SERVICE_CHARTS,
  byKind,
  helmBinary,
  named,
  podSpecOf,
  template,
  templateError,
  type K8sObject,
} from './helm';

// Pod termination: a preStop delay takes the pod out of the Service's endpoints before the process gets
// SIGTERM, and the grace period covers that delay plus the service's own graceful shutdown.

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

interface Lifecycle {
  preStop?: { sleep?: { seconds: number }; exec?: { command: string[] } };
}

function termination(objects: K8sObject[], name: string) {
  const spec = podSpecOf(named(objects, 'Deployment', name))!;
  return {
    grace: spec.terminationGracePeriodSeconds as number,
    lifecycle: spec.containers[0]!.lifecycle as Lifecycle | undefined,
  };
}

describe.each(SERVICE_CHARTS)('%s chart', (chart) => {
  const name = `r-${chart}`;

  test('the service container sleeps 5 s in a preStop hook before SIGTERM, within a 30 s grace period above 5 s + SHUTDOWN_TIMEOUT_MS', () => {
    const { objects } = template(chart, {}, 'r', ['--kube-version', '1.34.0']);
    expect(termination(objects, name)).toEqual({ grace: 30, lifecycle: { preStop: { sleep: { seconds: 5 } } } });
    expect(named(objects, 'ConfigMap', name).data).toMatchObject({ SHUTDOWN_TIMEOUT_MS: '10000' });
  });

  test('rendering fails, naming the values and the fix, when terminationGracePeriodSeconds is not above preStopDelaySeconds + config.shutdownTimeoutMs', () => {
    expect(templateError(chart, { preStopDelaySeconds: 10, config: { shutdownTimeoutMs: 20_500 } })).toContain(
      `${chart}: terminationGracePeriodSeconds (30) must be above preStopDelaySeconds (10) + config.shutdownTimeoutMs (20500 ms), ` +
        'or Kubernetes kills the pod in the middle of its graceful shutdown: set terminationGracePeriodSeconds to 36 or more',
    );
    // 10 + 20 s is below 31: fine.
    expect(() =>
      template(chart, {
        preStopDelaySeconds: 10,
        terminationGracePeriodSeconds: 31,
        config: { shutdownTimeoutMs: 20_000 },
      }),
    ).not.toThrow();
  });
});

test('before Kubernetes 1.34 (no GA sleep action) the preStop hook runs /bin/sleep, which the Debian-based node image has', () => {
  const { objects } = template('auth-service', { preStopDelaySeconds: 8 }, 'r', ['--kube-version', '1.29.0']);
  expect(termination(objects, 'r-auth-service').lifecycle).toEqual({
    preStop: { exec: { command: ['/bin/sleep', '8'] } },
  });
  const dockerfile = fs.readFileSync(path.join(REPO_ROOT, 'docker', 'service.Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:[\d.]+-bookworm-slim$/m); // coreutils' /bin/sleep
});

test('preStopDelaySeconds=0 renders no preStop hook', () => {
  const { objects } = template('order-service', { preStopDelaySeconds: 0 });
  expect(termination(objects, 'r-order-service').lifecycle).toBeUndefined();
});

test.each([
  [{ preStopDelaySeconds: -1 }, "at '/preStopDelaySeconds': minimum: got -1, want 0"],
  [{ preStopDelaySeconds: '5s' }, "at '/preStopDelaySeconds': got string, want integer"],
  [{ terminationGracePeriodSeconds: 0 }, "at '/terminationGracePeriodSeconds': minimum: got 0, want 1"],
])('the schema refuses %j', (values, message) => {
  expect(templateError('catalog-service', values)).toContain(message);
});

test('in the umbrella chart each service has the preStop hook, and a too-short grace period fails naming the service', () => {
  const { objects } = template('webrana', {}, 'webrana', ['--kube-version', '1.34.0']);
  for (const deployment of byKind(objects, 'Deployment'))
    expect(termination(objects, deployment.metadata.name).lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
  expect(byKind(objects, 'Deployment')).toHaveLength(SERVICE_CHARTS.length);
  expect(templateError('webrana', { 'billing-service': { terminationGracePeriodSeconds: 15 } })).toContain(
    'billing-service: terminationGracePeriodSeconds (15) must be above preStopDelaySeconds (5) + config.shutdownTimeoutMs (10000 ms)',
  );
});
