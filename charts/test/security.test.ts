import {
  APPLICATION_CHARTS,
  BUILD_TIMEOUT_MS,
  DOCUMENTED_PASSWORDS,
  SERVICE_CHARTS,
  helmBinary,
  podSpecOf,
  renderNotes,
  template,
  type K8sObject,
  type Rendered,
} from './helm';

// A security check over every rendered object of every chart, under several value sets: no container
// runs as root or can escalate, every pod is hardened, and no documented default password (nor a
// database URL in NOTES) appears anywhere.

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

const STRONG = { SUPER_ADMIN_PASSWORD: 'Rotated-Super-9x!', ADMIN_PASSWORD: 'Rotated-Admin-9x!' };
const URL = 'postgresql://webrana:Sec-Check-Pw1@db.internal:5432/webrana_x';

/** Value sets a release may use, per chart (the umbrella nests them under each service). */
const VALUE_SETS: Record<string, Record<string, unknown>> = {
  defaults: {},
  'managed secrets': { database: { url: URL }, seed: { passwords: STRONG } },
  'development mode': { nodeEnv: 'development', replicaCount: 1 },
  'no hooks': { hooks: { enabled: false } },
  'monitoring on': { metrics: { serviceMonitor: { enabled: true, scrapeHealthDb: true } } },
};

function valuesFor(chart: string, set: Record<string, unknown>): Record<string, unknown> {
  const forService = (service: string) => {
    const { seed, ...rest } = set as { seed?: unknown };
    return service === 'auth-service' || seed === undefined ? set : rest; // only auth has seed passwords
  };
  if (chart === 'webrana') return Object.fromEntries(SERVICE_CHARTS.map((s) => [s, forService(s)]));
  return forService(chart);
}

const renders: Array<[string, string, Rendered]> = [];
for (const chart of APPLICATION_CHARTS) {
  for (const [label, set] of Object.entries(VALUE_SETS))
    renders.push([chart, label, template(chart, valuesFor(chart, set))]);
}

/** Every string in an object, with Secret data base64-decoded: what a reader of the object could learn. */
function strings(object: K8sObject): string[] {
  const out: string[] = [];
  const walk = (value: unknown) => {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(object);
  if (object.kind === 'Secret') {
    for (const value of Object.values((object.data as Record<string, string>) ?? {})) {
      out.push(Buffer.from(value, 'base64').toString('utf8'));
    }
  }
  return out;
}

describe.each(renders)('%s (%s)', (chart, _label, rendered) => {
  const pods = rendered.objects.flatMap((o) => {
    const spec = podSpecOf(o);
    return spec ? [{ object: o, spec }] : [];
  });

  test('renders pods to check', () => {
    expect(pods.length).toBeGreaterThan(0);
  });

  test('no container runs as root: runAsNonRoot and a non-zero runAsUser on every pod and container', () => {
    for (const { object, spec } of pods) {
      const where = `${object.kind}/${object.metadata.name}`;
      expect([where, spec.securityContext?.runAsNonRoot]).toEqual([where, true]);
      expect(spec.securityContext?.runAsUser).toEqual(expect.any(Number));
      expect([where, spec.securityContext?.runAsUser]).not.toEqual([where, 0]);
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const sc = c.securityContext ?? {};
        expect([where, c.name, sc.runAsNonRoot]).toEqual([where, c.name, true]);
        expect([where, c.name, sc.runAsUser === 0]).toEqual([where, c.name, false]);
      }
    }
  });

  test('no privilege escalation: not privileged, allowPrivilegeEscalation false, all capabilities dropped', () => {
    for (const { object, spec } of pods) {
      for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
        const where = `${object.kind}/${object.metadata.name}/${c.name}`;
        expect([where, c.securityContext]).toEqual([
          where,
          expect.objectContaining({
            privileged: false,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          }),
        ]);
      }
      expect([object.metadata.name, spec.securityContext?.seccompProfile]).toEqual([
        object.metadata.name,
        { type: 'RuntimeDefault' },
      ]);
      expect(spec.hostNetwork ?? false).toBe(false);
      expect(spec.hostPID ?? false).toBe(false);
      expect(spec.hostIPC ?? false).toBe(false);
      expect(spec.automountServiceAccountToken).toBe(false);
      for (const volume of (spec.volumes as Array<Record<string, unknown>> | undefined) ?? []) {
        expect(volume).not.toHaveProperty('hostPath');
      }
    }
  });

  test('no documented default password in any rendered object, Secret data decoded', () => {
    for (const object of rendered.objects) {
      for (const value of strings(object)) {
        for (const password of DOCUMENTED_PASSWORDS) expect(value).not.toContain(password);
      }
    }
    for (const password of DOCUMENTED_PASSWORDS) {
      expect(rendered.text).not.toContain(password);
      expect(rendered.text).not.toContain(Buffer.from(password).toString('base64'));
    }
  });

  test('the database URL appears only inside Secret data', () => {
    for (const object of rendered.objects) {
      if (object.kind === 'Secret') continue;
      expect(JSON.stringify(object)).not.toContain('Sec-Check-Pw1');
    }
    expect(rendered.text.split('\n').filter((l) => l.includes('Sec-Check-Pw1'))).toEqual([]);
  });
});

describe('NOTES.txt', () => {
  test.each(APPLICATION_CHARTS)('of %s never prints a database URL or a password', (chart) => {
    for (const set of Object.values(VALUE_SETS)) {
      const notes = renderNotes(chart, valuesFor(chart, set));
      expect(notes).not.toContain('Sec-Check-Pw1');
      expect(notes).not.toMatch(/postgres(ql)?:\/\//);
      for (const password of [...DOCUMENTED_PASSWORDS, ...Object.values(STRONG)]) expect(notes).not.toContain(password);
    }
  });
});
