import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import {
  BUILD_TIMEOUT_MS,
  CHARTS_DIR,
  DOCUMENTED_PASSWORDS,
  SERVICE_CHART,
  SERVICE_CHARTS,
  UMBRELLA_CHART,
  helmBinary,
  templateError,
} from './helm';

// values.schema.json: a wrong value fails `helm template`/`helm install` with a message naming it
// (helm runs the same validation for both; the kube-lab test installs with one too), and every value
// of values.yaml is commented and covered by the schema.

beforeAll(() => {
  helmBinary();
}, BUILD_TIMEOUT_MS);

describe.each(SERVICE_CHARTS)('%s values.schema.json', (chart) => {
  test('a wrong type fails with the schema message naming the value', () => {
    const error = templateError(chart, {}, ['--set', 'replicaCount=two']);
    expect(error).toContain("values don't meet the specifications of the schema(s)");
    expect(error).toContain(`${SERVICE_CHART}:\n- at '/replicaCount': got string, want integer`);
  });

  test.each([
    [{ nodeEnv: 'prod' }, "at '/nodeEnv': value must be one of 'production', 'development', 'test'"],
    [{ logLevel: 'verbose' }, "at '/logLevel': value must be one of"],
    [{ hooks: { enabled: 'yes' } }, "at '/hooks/enabled': got string, want boolean"],
    [{ podSecurity: { runAsUser: 0 } }, "at '/podSecurity/runAsUser': minimum: got 0, want 1"],
    [{ migrations: { wait: '1 minute' } }, "at '/migrations/wait': '1 minute' does not match pattern"],
    [{ migrations: { hookWeight: -10 } }, "at '/migrations/hookWeight': minimum: got -10, want -9"],
    [{ database: { url: 'mysql://x' } }, "at '/database/url': 'mysql://x' does not match pattern"],
    [{ serviceName: 'payment-service' }, "at '/serviceName': value must be"],
    [{ replicaz: 3 }, "additional properties 'replicaz' not allowed"],
    [{ config: { extraEnv: { AUTH_DATABASE_URL: 'postgresql://x' } } }, "invalid propertyName 'AUTH_DATABASE_URL'"],
    [{ image: { pullPolicy: 'Sometimes' } }, "at '/image/pullPolicy': value must be one of"],
  ])('refuses %j', (values, message) => {
    expect(templateError(chart, values)).toContain(message);
  });
});

describe('auth-service seed passwords in values', () => {
  test.each(DOCUMENTED_PASSWORDS)('refuses the documented default %s', (password) => {
    const error = templateError('auth-service', { seed: { passwords: { ADMIN_PASSWORD: password } } });
    expect(error).toContain("at '/seed/passwords/ADMIN_PASSWORD'");
  });

  test('refuses a short one and accepts an empty or a long one', () => {
    expect(templateError('auth-service', { seed: { passwords: { SUPER_ADMIN_PASSWORD: 'Sh0rt!' } } })).toContain(
      "at '/seed/passwords/SUPER_ADMIN_PASSWORD'",
    );
  });
});

describe('webrana umbrella values.schema.json', () => {
  test("a wrong type under a service key fails with that service's schema message", () => {
    const error = templateError('webrana', {}, ['--set', 'catalog-service.replicaCount=two']);
    expect(error).toContain("catalog-service:\n- at '/replicaCount': got string, want integer");
  });

  test('a misspelt service key fails', () => {
    expect(templateError('webrana', {}, ['--set', 'auth_service.enabled=true'])).toContain(
      "additional properties 'auth_service' not allowed",
    );
  });

  test('a non-boolean enabled fails', () => {
    expect(templateError('webrana', {}, ['--set', 'order-service.enabled=maybe'])).toContain(
      "at '/order-service/enabled': got string, want boolean",
    );
  });
});

// ---------------------------------------------------------------------------------------------------

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  required?: string[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  $ref?: string;
  definitions?: Record<string, Schema>;
  description?: string;
}

/** Paths of the values in values.yaml: objects are walked, anything else (lists, scalars, {}) is a leaf. */
function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  }
  return [prefix];
}

/** The schema node for a values path, through properties (and an object alternative of oneOf) and local $refs. */
function schemaAt(schema: Schema, keys: string[]): Schema | undefined {
  const deref = (node: Schema | undefined): Schema | undefined =>
    node?.$ref?.startsWith('#/definitions/') ? schema.definitions?.[node.$ref.slice('#/definitions/'.length)] : node;
  let node: Schema | undefined = schema;
  for (const key of keys) {
    const objectVariant: Schema | undefined = node?.properties ? node : node?.oneOf?.find((s) => s.properties);
    const open: Schema | undefined =
      typeof node?.additionalProperties === 'object' ? node.additionalProperties : undefined;
    node = deref(objectVariant?.properties?.[key] ?? open);
    if (!node) return undefined;
  }
  return node;
}

/**
 * values.yaml values (keys with an inline value, `key: value`, `key: {}`, `key: []`) with no comment on
 * themselves nor on an enclosing key.
 */
function uncommentedValues(text: string): string[] {
  const lines = text.split('\n');
  const stack: Array<{ indent: number; commented: boolean }> = [];
  const missing: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)([A-Za-z0-9_-]+):(.*)$/.exec(line);
    if (!m) return;
    const indent = m[1]?.length ?? 0;
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) >= indent) stack.pop();
    const above = lines[i - 1] ?? '';
    const commented = /^\s*#/.test(above) || stack.some((s) => s.commented);
    const inlineValue = (m[3] ?? '').replace(/\s+#.*$/, '').trim() !== '';
    if (inlineValue && !commented) missing.push(`${i + 1}: ${line.trim()}`);
    stack.push({ indent, commented });
  });
  return missing;
}

describe.each([SERVICE_CHART, UMBRELLA_CHART])('%s values.yaml', (chart) => {
  const text = fs.readFileSync(path.join(CHARTS_DIR, chart, 'values.yaml'), 'utf8');
  const values = yaml.load(text) as Record<string, unknown>;
  const schema = JSON.parse(fs.readFileSync(path.join(CHARTS_DIR, chart, 'values.schema.json'), 'utf8')) as Schema;

  test('every value is commented (on itself or on the block it belongs to)', () => {
    expect(uncommentedValues(text)).toEqual([]);
  });

  if (chart !== 'webrana') {
    test('every value has a type in values.schema.json, and every top-level key is required', () => {
      const uncovered = leafPaths(values).filter((keys) => {
        const node = schemaAt(schema, keys);
        return !node || (node.type === undefined && !node.oneOf && !node.anyOf);
      });
      expect(uncovered.map((k) => k.join('.'))).toEqual([]);
      expect(schema.additionalProperties).toBe(false);
      expect([...(schema.required ?? [])].sort()).toEqual(Object.keys(values).sort());
    });
  }
});
