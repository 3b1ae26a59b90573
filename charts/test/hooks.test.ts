import { SERVICES, dependencyWaves, getService } from '@webrana/registry';
import {
  BUILD_TIMEOUT_MS,
  SERVICE_CHARTS,
  byKind,
  helmBinary,
  hooks,
  named,
  podSpecOf,
  template,
  type K8sObject,
} from './helm';

// The migration and seed hooks: events, weights, delete policies, limits, what they read, and the
// pre-install Secret problem (a pre-install hook runs before any release object exists).

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

type Env = Array<{
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}>;

const firstContainer = (object: K8sObject) => {
  const c = podSpecOf(object)?.containers[0];
  if (!c) throw new Error(`${object.metadata.name} has no container`);
  return c as { command?: string[]; args?: string[]; env?: Env; image?: string; envFrom?: unknown };
};
const annotations = (object: K8sObject) => object.metadata.annotations ?? {};
const events = (object: K8sObject) => (annotations(object)['helm.sh/hook'] ?? '').split(',').filter(Boolean);
const weight = (object: K8sObject) => Number(annotations(object)['helm.sh/hook-weight'] ?? '0');
const secretRefs = (object: K8sObject) =>
  (firstContainer(object).env ?? []).flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : []));

/** The order in which Helm 3 runs the hooks of one event: by weight, then by name (pkg/action/hooks.go). */
const executionOrder = (objects: readonly K8sObject[], event: string) =>
  hooks(objects)
    .filter((h) => events(h).includes(event))
    .sort((a, b) => weight(a) - weight(b) || a.metadata.name.localeCompare(b.metadata.name));

const wave = (service: string) => dependencyWaves(SERVICES).findIndex((w) => w.some((s) => s.name === service));

const MANAGED_URL = 'postgresql://webrana:Hook-Test-Pw1@db.internal:5432/webrana_x';

describe.each(SERVICE_CHARTS)('%s hooks', (chart) => {
  const name = `r-${chart}`;
  const spec = getService(chart);
  const { objects } = template(chart);
  const migrate = named(objects, 'Job', `${name}-migrate`);

  test('the migration Job is a pre-install,pre-upgrade hook weighted by dependency wave, deleted when it succeeded', () => {
    expect(annotations(migrate)).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': String(wave(chart)),
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      'helm.sh/hook-output-log-policy': 'hook-failed',
    });
  });

  test('the migration Job is bounded: no retries, a deadline below helm --timeout, pods never restarted', () => {
    expect(migrate.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 270 });
    expect(podSpecOf(migrate)?.restartPolicy).toBe('Never');
    expect(270).toBeLessThan(300); // helm's default --timeout, per hook
    const tuned = named(
      template(chart, { migrations: { backoffLimit: 2, activeDeadlineSeconds: 900 } }).objects,
      'Job',
      `${name}-migrate`,
    );
    expect(tuned.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 900 });
  });

  test('the migration Job runs `webrana-jobs migrate deploy --phase=pre-deploy` for this service from the jobs image', () => {
    const c = firstContainer(migrate);
    expect(c.image).toBe('webrana/jobs:0.1.0');
    expect(c.command).toEqual(['webrana-jobs']);
    expect(c.args).toEqual([
      'migrate',
      'deploy',
      `--service=${chart}`,
      '--wait=60s',
      '--lock-timeout=5s',
      '--lock-wait=120s',
      '--statement-timeout=0',
      '--phase=pre-deploy',
    ]);
    const tuned = firstContainer(
      named(
        template(chart, { migrations: { wait: '2m', lockTimeout: '2s', extraArgs: ['--allow-missing'] } }).objects,
        'Job',
        `${name}-migrate`,
      ),
    );
    expect(tuned.args).toEqual(expect.arrayContaining(['--wait=2m', '--lock-timeout=2s', '--allow-missing']));
  });

  test(`the migration Job reads ${spec.urlVariable} from the existing Secret as DATABASE_URL, optional so a missing one fails fast by name`, () => {
    expect(firstContainer(migrate).env).toEqual([
      { name: 'NODE_ENV', value: 'production' },
      { name: 'LOG_LEVEL', value: 'info' },
      {
        name: 'DATABASE_URL',
        valueFrom: { secretKeyRef: { name: 'webrana-database', key: spec.urlVariable, optional: true } },
      },
    ]);
    expect(firstContainer(migrate).envFrom).toBeUndefined(); // the ConfigMap does not exist yet at pre-install
  });

  test('pre-install hooks read only what exists before them: external Secrets or hook Secrets of lower weight', () => {
    for (const values of [{}, { database: { url: MANAGED_URL } }, { hooks: { serviceAccountName: 'hooks' } }]) {
      const rendered = template(chart, values).objects;
      const releaseObjects = rendered.filter((o) => !o.metadata.annotations?.['helm.sh/hook']);
      const releaseNames = new Set(releaseObjects.map((o) => `${o.kind}/${o.metadata.name}`));
      for (const hook of executionOrder(rendered, 'pre-install')) {
        if (hook.kind !== 'Job') continue;
        const pod = podSpecOf(hook);
        if (pod?.serviceAccountName) expect(releaseNames.has(`ServiceAccount/${pod.serviceAccountName}`)).toBe(false);
        for (const secret of secretRefs(hook)) {
          expect(releaseNames.has(`Secret/${secret}`)).toBe(false);
          const asHook = hooks(rendered).find((h) => h.kind === 'Secret' && h.metadata.name === secret);
          if (asHook) {
            expect(events(asHook)).toEqual(expect.arrayContaining(['pre-install', 'pre-upgrade']));
            expect(weight(asHook)).toBeLessThan(weight(hook));
          }
        }
      }
    }
  });

  test('with database.url, a hook copy of the URL Secret (weight -10) serves the migration Job, the release Secret the pods', () => {
    const managed = template(chart, { database: { url: MANAGED_URL } }).objects;
    const hookSecret = named(managed, 'Secret', `${name}-database-hook`);
    expect(annotations(hookSecret)).toEqual({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-10',
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
    });
    const releaseSecret = named(managed, 'Secret', `${name}-database`);
    expect(releaseSecret.metadata.annotations).toBeUndefined();
    for (const secret of [hookSecret, releaseSecret]) {
      expect(Buffer.from((secret.data as Record<string, string>)[spec.urlVariable] ?? '', 'base64').toString()).toBe(
        MANAGED_URL,
      );
    }
    expect(secretRefs(named(managed, 'Job', `${name}-migrate`))).toEqual([`${name}-database-hook`]);
    const deployment = named(managed, 'Deployment', name);
    expect(secretRefs(deployment)).toEqual([`${name}-database`]);
  });

  test('with hooks.enabled=false no migration or seed hook renders, and the pods still get their URL', () => {
    for (const values of [{}, { database: { url: MANAGED_URL } }]) {
      const off = template(chart, { ...values, hooks: { enabled: false } }).objects;
      expect(hooks(off).map((h) => `${h.kind}/${h.metadata.name}:${events(h).join(',')}`)).toEqual([
        `Pod/${name}-test-health-db:test`,
      ]);
      const secret = secretRefs(named(off, 'Deployment', name))[0];
      expect(secret === 'webrana-database' || byKind(off, 'Secret').some((s) => s.metadata.name === secret)).toBe(true);
    }
  });

  const postDeploy = named(objects, 'Job', `${name}-migrate-post-deploy`);

  test('a post-install,post-upgrade hook Job runs `migrate deploy --phase=post-deploy` with the migration settings, weighted by dependency wave', () => {
    expect(annotations(postDeploy)).toEqual({
      'helm.sh/hook': 'post-install,post-upgrade',
      'helm.sh/hook-weight': String(wave(chart)),
      'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
      'helm.sh/hook-output-log-policy': 'hook-failed',
    });
    expect(postDeploy.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 270 });
    expect(firstContainer(postDeploy).args).toEqual([
      'migrate',
      'deploy',
      `--service=${chart}`,
      '--wait=60s',
      '--lock-timeout=5s',
      '--lock-wait=120s',
      '--statement-timeout=0',
      '--phase=post-deploy',
      '--rollout-grace=30s',
    ]);
    const tuned = named(
      template(chart, { migrations: { lockTimeout: '2s', backoffLimit: 1, extraArgs: ['--allow-missing'] } }).objects,
      'Job',
      `${name}-migrate-post-deploy`,
    );
    expect(firstContainer(tuned).args).toEqual(expect.arrayContaining(['--lock-timeout=2s', '--allow-missing']));
    expect(tuned.spec).toMatchObject({ backoffLimit: 1 });
  });

  test("the post-deploy migration Job waits out the old pods: --rollout-grace is the pods' terminationGracePeriodSeconds", () => {
    const slow = template(chart, { terminationGracePeriodSeconds: 45 }).objects;
    expect(firstContainer(named(slow, 'Job', `${name}-migrate-post-deploy`)).args).toContain('--rollout-grace=45s');
    expect(firstContainer(named(slow, 'Job', `${name}-migrate`)).args).not.toContainEqual(
      expect.stringMatching(/^--rollout-grace/),
    );
  });

  test("the post-deploy migration pod is the pre-deploy one but for its name, labels, --phase, --rollout-grace and the release's database Secret", () => {
    const managed = template(chart, { database: { url: MANAGED_URL } }).objects;
    const pre = podSpecOf(named(managed, 'Job', `${name}-migrate`))!;
    const post = podSpecOf(named(managed, 'Job', `${name}-migrate-post-deploy`))!;
    expect(secretRefs(named(managed, 'Job', `${name}-migrate-post-deploy`))).toEqual([`${name}-database`]);
    const normalize = (pod: typeof pre) => {
      const [c] = pod.containers as Array<Record<string, unknown>>;
      return {
        ...pod,
        containers: [
          {
            ...c,
            name: 'x',
            args: (c!.args as string[]).filter((a) => !a.startsWith('--phase=') && !a.startsWith('--rollout-grace=')),
            env: JSON.parse(JSON.stringify(c!.env).replace(`"${name}-database-hook"`, `"${name}-database"`)) as unknown,
          },
        ],
      };
    };
    expect(normalize(post)).toEqual(normalize(pre));
  });

  test('migrations.postDeploy.enabled=false renders no post-deploy migration Job (run `migrate deploy --phase=post-deploy` yourself)', () => {
    const off = template(chart, { migrations: { postDeploy: { enabled: false } } }).objects;
    expect(byKind(off, 'Job').map((j) => j.metadata.name)).not.toContain(`${name}-migrate-post-deploy`);
    expect(firstContainer(named(off, 'Job', `${name}-migrate`)).args).toContain('--phase=pre-deploy');
  });

  if (spec.hasSeed) {
    const seed = named(objects, 'Job', `${name}-seed`);

    test('after an upgrade the post-deploy migrations run before the seed (same weight, Helm then orders by name)', () => {
      for (const event of ['post-install', 'post-upgrade']) {
        const order = executionOrder(objects, event).map((h) => h.metadata.name);
        expect(order.indexOf(`${name}-migrate-post-deploy`)).toBeGreaterThanOrEqual(0);
        expect(order.indexOf(`${name}-migrate-post-deploy`)).toBeLessThan(order.indexOf(`${name}-seed`));
      }
    });

    test('the seed Job is a post-install,post-upgrade hook running `webrana-jobs seed` for this service', () => {
      expect(annotations(seed)).toEqual({
        'helm.sh/hook': 'post-install,post-upgrade',
        'helm.sh/hook-weight': String(wave(chart)),
        'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded',
        'helm.sh/hook-output-log-policy': 'hook-failed',
      });
      expect(seed.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 120 });
      expect(firstContainer(seed).command).toEqual(['webrana-jobs']);
      expect(firstContainer(seed).args).toEqual(['seed', `--service=${chart}`]);
    });

    test('seed.onUpgrade=false keeps the seed to post-install', () => {
      const once = named(template(chart, { seed: { onUpgrade: false } }).objects, 'Job', `${name}-seed`);
      expect(annotations(once)['helm.sh/hook']).toBe('post-install');
    });

    test('the seed Job reads the release Secret (it runs after the release objects exist)', () => {
      const managed = template(chart, { database: { url: MANAGED_URL } }).objects;
      expect(secretRefs(named(managed, 'Job', `${name}-seed`))[0]).toBe(`${name}-database`);
    });
  } else {
    test('no seed Job by default (this service has no seed); seed.enabled=true renders the no-op one', () => {
      expect(
        byKind(objects, 'Job')
          .map((j) => j.metadata.name)
          .sort(),
      ).toEqual([`${name}-migrate`, `${name}-migrate-post-deploy`]);
      const withSeed = template(chart, { seed: { enabled: true } }).objects;
      expect(firstContainer(named(withSeed, 'Job', `${name}-seed`)).args).toEqual(['seed', `--service=${chart}`]);
    });
  }
});

describe('auth-service seed passwords', () => {
  const seedEnv = (values: Record<string, unknown>) =>
    firstContainer(named(template('auth-service', values).objects, 'Job', 'r-auth-service-seed')).env ?? [];

  test('come from the existing Secret webrana-auth-seed by default, each key optional', () => {
    const env = seedEnv({});
    for (const variable of ['SUPER_ADMIN_PASSWORD', 'ADMIN_PASSWORD', 'CUSTOMER_PASSWORD']) {
      expect(env).toContainEqual({
        name: variable,
        valueFrom: { secretKeyRef: { name: 'webrana-auth-seed', key: variable, optional: true } },
      });
    }
  });

  test('given as values, they go to the release Secret r-auth-service-seed, never into the Job spec', () => {
    const passwords = { SUPER_ADMIN_PASSWORD: 'Sup3r-Long-Secret!', ADMIN_PASSWORD: 'Adm1n-Long-Secret!' };
    const { objects, text } = template('auth-service', { seed: { passwords } });
    const secret = named(objects, 'Secret', 'r-auth-service-seed');
    expect(secret.metadata.annotations).toBeUndefined();
    const data = secret.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(['ADMIN_PASSWORD', 'SUPER_ADMIN_PASSWORD']);
    expect(Buffer.from(data.ADMIN_PASSWORD ?? '', 'base64').toString()).toBe(passwords.ADMIN_PASSWORD);
    expect(text).not.toContain(passwords.ADMIN_PASSWORD);
    const env = seedEnv({ seed: { passwords } });
    expect(env).toContainEqual({
      name: 'ADMIN_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'r-auth-service-seed', key: 'ADMIN_PASSWORD', optional: true } },
    });
  });

  test('in production without any password source, rendering fails with the reason', () => {
    const error = (() => {
      try {
        template('auth-service', { seed: { existingSecret: '' } });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(error).toContain('the production seed refuses to create admin users without passwords');
    expect(() => template('auth-service', { seed: { existingSecret: '', enabled: false } })).not.toThrow();
    expect(() => template('auth-service', { seed: { existingSecret: '' }, nodeEnv: 'development' })).not.toThrow();
  });
});

describe('webrana umbrella hooks', () => {
  const { objects } = template('webrana', { 'auth-service': { database: { url: MANAGED_URL } } }, 'webrana');

  test('Helm runs the migrations in the registry dependency order, after every URL hook Secret', () => {
    const order = executionOrder(objects, 'pre-install').map((h) => `${h.kind}/${h.metadata.name}`);
    expect(order).toEqual([
      'Secret/webrana-auth-service-database-hook',
      ...dependencyWaves(SERVICES)
        .flat()
        .map((s) => `Job/webrana-${s.name}-migrate`),
    ]);
    expect(executionOrder(objects, 'pre-upgrade')).toEqual(executionOrder(objects, 'pre-install'));
  });

  test('each migration runs after the migrations of the services it depends on', () => {
    const order = executionOrder(objects, 'pre-upgrade').map((h) => h.metadata.name);
    for (const service of SERVICES) {
      for (const dependency of service.dependsOn) {
        expect(order.indexOf(`webrana-${dependency}-migrate`)).toBeLessThan(
          order.indexOf(`webrana-${service.name}-migrate`),
        );
      }
    }
  });

  test('seeds run post-install for auth and catalog only, each after its own post-deploy migrations', () => {
    const order = executionOrder(objects, 'post-install').map((h) => h.metadata.name);
    expect(order.filter((n) => n.endsWith('-seed'))).toEqual(
      SERVICES.filter((s) => s.hasSeed).map((s) => `webrana-${s.name}-seed`),
    );
    for (const s of SERVICES.filter((x) => x.hasSeed))
      expect(order.indexOf(`webrana-${s.name}-migrate-post-deploy`)).toBeLessThan(
        order.indexOf(`webrana-${s.name}-seed`),
      );
  });

  test('post-deploy migrations run post-install and post-upgrade in dependency order', () => {
    for (const event of ['post-install', 'post-upgrade']) {
      const order = executionOrder(objects, event)
        .map((h) => h.metadata.name)
        .filter((n) => n.endsWith('-migrate-post-deploy'));
      expect(order).toHaveLength(SERVICES.length);
      for (const service of SERVICES)
        for (const dependency of service.dependsOn)
          expect(order.indexOf(`webrana-${dependency}-migrate-post-deploy`)).toBeLessThan(
            order.indexOf(`webrana-${service.name}-migrate-post-deploy`),
          );
    }
  });

  test('hooks can be switched off per service (the operator migrates those)', () => {
    const off = template(
      'webrana',
      Object.fromEntries(SERVICE_CHARTS.map((s) => [s, { hooks: { enabled: false } }])),
      'webrana',
    ).objects;
    expect(hooks(off).filter((h) => !events(h).includes('test'))).toEqual([]);
    expect(byKind(off, 'Deployment')).toHaveLength(4);
  });
});
