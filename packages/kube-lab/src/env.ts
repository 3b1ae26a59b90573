import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { parseQuantity } from './quantity';

/**
 * A container's environment, resolved as the kubelet does it: service variables first, then envFrom
 * (in order), then env (in order, each value $(VAR)-expanded against what came before), later
 * definitions winning. Pure: the Secrets and ConfigMaps it reads are fetched beforehand.
 */

/** Secret `data` (base64 values) and ConfigMap `data` of the pod's namespace by name; null when missing. */
export interface EnvObjects {
  readonly secrets: ReadonlyMap<string, Readonly<Record<string, string>> | null>;
  readonly configMaps: ReadonlyMap<string, Readonly<Record<string, string>> | null>;
}

/** What a real node would know and the pod spec does not say. */
export interface NodeFacts {
  readonly nodeName: string;
  readonly hostIP: string;
  readonly podIP: string;
  /** Node allocatable, used by resourceFieldRef when the container sets no limit: cores and bytes. */
  readonly allocatable: { readonly cpu: number; readonly memory: number; readonly ephemeralStorage: number };
}

/** A problem the pod's author must fix (or a missing object to wait for): kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export interface References {
  readonly secrets: Set<string>;
  readonly configMaps: Set<string>;
}

/** Names of the Secrets and ConfigMaps that the env and envFrom of these containers read. */
export function envReferences(containers: readonly V1Container[]): References {
  const refs: References = { secrets: new Set(), configMaps: new Set() };
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      if (from.secretRef?.name) refs.secrets.add(from.secretRef.name);
      if (from.configMapRef?.name) refs.configMaps.add(from.configMapRef.name);
    }
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) refs.secrets.add(e.valueFrom.secretKeyRef.name);
      if (e.valueFrom?.configMapKeyRef?.name) refs.configMaps.add(e.valueFrom.configMapKeyRef.name);
    }
  }
  return refs;
}

/**
 * The container's variables, in definition order. `serviceEnv` (KUBERNETES_SERVICE_HOST and friends)
 * comes first and may be overridden; it is also visible to $(VAR) expansion.
 */
export function resolveEnv(
  pod: V1Pod,
  container: V1Container,
  objects: EnvObjects,
  facts: NodeFacts,
  serviceEnv: Readonly<Record<string, string>> = {},
): Map<string, string> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env = new Map<string, string>(Object.entries(serviceEnv));

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    let data: Readonly<Record<string, string>> | null | undefined;
    let decode = false;
    if (from.configMapRef) {
      data = lookup(objects.configMaps, from.configMapRef.name, 'configmap', from.configMapRef.optional);
    } else if (from.secretRef) {
      data = lookup(objects.secrets, from.secretRef.name, 'secret', from.secretRef.optional);
      decode = true;
    }
    for (const [key, value] of Object.entries(data ?? {})) {
      if (key.includes('=')) continue; // not a valid variable name; the kubelet skips it too
      env.set(prefix + key, decode ? fromBase64(value) : value);
    }
  }

  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      env.set(e.name, expand(e.value ?? '', env));
      continue;
    }
    const v = valueFrom(pod, container, e.name, e.valueFrom, objects, facts, namespace);
    if (v !== undefined) env.set(e.name, v);
  }
  return env;
}

function valueFrom(
  pod: V1Pod,
  container: V1Container,
  name: string,
  from: NonNullable<NonNullable<V1Container['env']>[number]['valueFrom']>,
  objects: EnvObjects,
  facts: NodeFacts,
  namespace: string,
): string | undefined {
  if (from.secretKeyRef) {
    const ref = from.secretKeyRef;
    const data = lookup(objects.secrets, ref.name, 'secret', ref.optional);
    if (data === undefined) return undefined;
    const value = data[ref.key];
    if (value === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
    }
    return fromBase64(value);
  }
  if (from.configMapKeyRef) {
    const ref = from.configMapKeyRef;
    const data = lookup(objects.configMaps, ref.name, 'configmap', ref.optional);
    if (data === undefined) return undefined;
    const value = data[ref.key];
    if (value === undefined) {
      if (ref.optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
    }
    return value;
  }
  if (from.fieldRef) return fieldValue(pod, from.fieldRef.fieldPath, facts);
  if (from.resourceFieldRef) {
    const ref = from.resourceFieldRef;
    return resourceValue(container, ref.resource, ref.divisor as string | undefined, facts);
  }
  throw new ContainerConfigError(
    `env ${name}: unsupported valueFrom (kube-lab supports secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef)`,
  );
}

function lookup(
  map: ReadonlyMap<string, Readonly<Record<string, string>> | null>,
  name: string | undefined,
  kind: 'secret' | 'configmap',
  optional: boolean | undefined,
): Readonly<Record<string, string>> | undefined {
  const data = name === undefined ? null : map.get(name);
  if (data === null || data === undefined) {
    if (optional) return undefined;
    throw new ContainerConfigError(`${kind} "${name ?? ''}" not found`);
  }
  return data;
}

function fromBase64(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The downward API fields the kubelet resolves (env fieldRef and downwardAPI volume items). */
export function fieldValue(pod: V1Pod, fieldPath: string, facts: NodeFacts): string {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) {
    const map = keyed[1] === 'labels' ? meta.labels : meta.annotations;
    return map?.[keyed[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'metadata.labels':
      return formatMap(meta.labels);
    case 'metadata.annotations':
      return formatMap(meta.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath "${fieldPath}"`);
  }
}

/** `key="value"` lines, sorted, as the kubelet writes labels and annotations into a downwardAPI file. */
function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(map?.[k] ?? '')}`)
    .join('\n');
}

/** resourceFieldRef: the container's limit or request divided by `divisor`, rounded up; limits default to the node. */
export function resourceValue(
  container: V1Container,
  resource: string,
  divisor: string | undefined,
  facts: NodeFacts,
): string {
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(resource);
  if (!m) throw new ContainerConfigError(`unsupported resourceFieldRef resource "${resource}"`);
  const [, kind, name] = m as unknown as [string, 'limits' | 'requests', 'cpu' | 'memory' | 'ephemeral-storage'];
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const nodeValue =
    name === 'cpu'
      ? facts.allocatable.cpu
      : name === 'memory'
        ? facts.allocatable.memory
        : facts.allocatable.ephemeralStorage;
  let raw: string | undefined;
  if (kind === 'limits') raw = limits[name];
  else raw = requests[name] ?? limits[name];
  const value = raw === undefined ? (kind === 'limits' ? nodeValue : 0) : parseQuantity(String(raw));
  const d = divisor === undefined || divisor === '' ? 1 : parseQuantity(String(divisor));
  if (d <= 0) throw new ContainerConfigError(`resourceFieldRef ${resource}: divisor must be positive`);
  // Rounded first, so 0.5 / 0.001 is 500 and not 501 after floating-point noise.
  return String(Math.ceil(Number((value / d).toFixed(6))));
}

/**
 * Kubernetes $(VAR) expansion: `$(NAME)` becomes the value when NAME is defined and stays as written
 * otherwise; `$$` is a literal `$`; anything else is kept.
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = vars.get(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}
