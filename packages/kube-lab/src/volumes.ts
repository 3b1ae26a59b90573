import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import { fieldValue, resourceValue, type NodeFacts } from './env';
import { pvcDir, volumeDir } from './layout';

/**
 * Pod volumes as local directories (see layout.ts for where). Supported: emptyDir,
 * persistentVolumeClaim, secret, configMap, downwardAPI and projected (serviceAccountToken, secret,
 * configMap, downwardAPI sources), which covers the service-account token volume the apiserver
 * injects. Contents are written once, when the pod starts (no live updates), and readOnly is not
 * enforced. Anything else fails the pod with a message naming the volume type.
 */

/** Reads the volumes need from the cluster; null means "not found". */
export interface VolumeSources {
  secret(name: string): Promise<Readonly<Record<string, string>> | null>;
  configMap(
    name: string,
  ): Promise<{ data: Readonly<Record<string, string>>; binaryData: Readonly<Record<string, string>> } | null>;
  pvcExists(name: string): Promise<boolean>;
  serviceAccountToken(serviceAccount: string, audience: string | undefined, expirationSeconds: number): Promise<string>;
}

/** Something to wait for (a Secret not created yet): the kubelet retries, as it does after FailedMount. */
export class VolumeNotReady extends Error {
  override readonly name = 'VolumeNotReady';
}

/** A pod this kubelet can never run as written. */
export class UnsupportedVolume extends Error {
  override readonly name = 'UnsupportedVolume';
}

interface FileToWrite {
  readonly path: string;
  readonly content: Buffer;
  readonly mode: number;
}

/** Creates every volume of the pod; returns volume name -> host directory. */
export async function prepareVolumes(
  pod: V1Pod,
  stateDir: string,
  sources: VolumeSources,
  facts: NodeFacts,
): Promise<Map<string, string>> {
  const uid = pod.metadata?.uid ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  const dirs = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    if (volume.persistentVolumeClaim) {
      const claim = volume.persistentVolumeClaim.claimName;
      if (!(await sources.pvcExists(claim))) {
        throw new VolumeNotReady(`persistentvolumeclaim "${claim}" not found`);
      }
      const dir = pvcDir(stateDir, namespace, claim);
      await fs.mkdir(dir, { recursive: true });
      dirs.set(volume.name, dir);
      continue;
    }
    const dir = volumeDir(stateDir, uid, volume.name);
    if (volume.emptyDir) {
      // Kept when the kubelet restarts and adopts the pod; removed with the pod.
      await fs.mkdir(dir, { recursive: true });
    } else {
      const files = await volumeFiles(pod, volume, sources, facts);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { recursive: true });
      for (const f of files) {
        const target = path.join(dir, f.path);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, f.content, { mode: f.mode });
        await fs.chmod(target, f.mode);
      }
    }
    dirs.set(volume.name, dir);
  }
  return dirs;
}

async function volumeFiles(
  pod: V1Pod,
  volume: V1Volume,
  sources: VolumeSources,
  facts: NodeFacts,
): Promise<FileToWrite[]> {
  if (volume.secret) {
    const s = volume.secret;
    return objectFiles('Secret', s.secretName ?? '', s.items, s.defaultMode ?? 0o644, s.optional ?? false, sources);
  }
  if (volume.configMap) {
    const c = volume.configMap;
    return objectFiles('ConfigMap', c.name ?? '', c.items, c.defaultMode ?? 0o644, c.optional ?? false, sources);
  }
  if (volume.downwardAPI) {
    return downwardFiles(pod, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode ?? 0o644, facts);
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode ?? 0o644;
    const files: FileToWrite[] = [];
    for (const source of volume.projected.sources ?? []) {
      if (source.secret) {
        const s = source.secret;
        files.push(...(await objectFiles('Secret', s.name ?? '', s.items, mode, s.optional ?? false, sources)));
      } else if (source.configMap) {
        const c = source.configMap;
        files.push(...(await objectFiles('ConfigMap', c.name ?? '', c.items, mode, c.optional ?? false, sources)));
      } else if (source.downwardAPI) {
        files.push(...downwardFiles(pod, source.downwardAPI.items ?? [], mode, facts));
      } else if (source.serviceAccountToken) {
        const t = source.serviceAccountToken;
        const token = await sources.serviceAccountToken(
          pod.spec?.serviceAccountName ?? 'default',
          t.audience,
          t.expirationSeconds ?? 3600,
        );
        files.push({ path: safeRelative(t.path), content: Buffer.from(token), mode });
      } else {
        throw new UnsupportedVolume(
          `volume "${volume.name}": kube-lab does not support this projected source (${Object.keys(source).join(', ')})`,
        );
      }
    }
    return files;
  }
  const type = Object.keys(volume).find((k) => k !== 'name') ?? 'unknown';
  throw new UnsupportedVolume(
    `volume "${volume.name}": kube-lab does not support volume type ${type} ` +
      '(supported: emptyDir, persistentVolumeClaim, secret, configMap, downwardAPI, projected)',
  );
}

type KeyToPath = { key: string; path: string; mode?: number };

/** A Secret's or ConfigMap's keys as bytes; null when the object does not exist. */
async function objectData(kind: 'Secret' | 'ConfigMap', name: string, sources: VolumeSources) {
  const decode = (entries: Readonly<Record<string, string>>, encoding: BufferEncoding) =>
    Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Buffer.from(v, encoding)]));
  if (kind === 'Secret') {
    const data = await sources.secret(name);
    return data && decode(data, 'base64');
  }
  const cm = await sources.configMap(name);
  return cm && { ...decode(cm.data, 'utf8'), ...decode(cm.binaryData, 'base64') };
}

async function objectFiles(
  kind: 'Secret' | 'ConfigMap',
  name: string,
  items: readonly KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
  sources: VolumeSources,
): Promise<FileToWrite[]> {
  const data = await objectData(kind, name, sources);
  if (data === null) {
    if (optional) return [];
    throw new VolumeNotReady(`${kind.toLowerCase()} "${name}" not found`);
  }
  return keyFiles(`${kind} "${name}"`, data, items, mode, optional);
}

function keyFiles(
  what: string,
  data: Readonly<Record<string, Buffer>>,
  items: readonly KeyToPath[] | undefined,
  mode: number,
  optional: boolean,
): FileToWrite[] {
  if (items === undefined || items.length === 0) {
    return Object.entries(data).map(([key, content]) => ({ path: safeRelative(key), content, mode }));
  }
  const files: FileToWrite[] = [];
  for (const item of items) {
    const content = data[item.key];
    if (content === undefined) {
      if (optional) continue;
      throw new VolumeNotReady(`configured key "${item.key}" not found in ${what}`);
    }
    files.push({ path: safeRelative(item.path), content, mode: item.mode ?? mode });
  }
  return files;
}

function downwardFiles(
  pod: V1Pod,
  items: readonly {
    path: string;
    mode?: number;
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: { containerName?: string; resource: string; divisor?: unknown };
  }[],
  mode: number,
  facts: NodeFacts,
): FileToWrite[] {
  return items.map((item) => {
    let value = '';
    if (item.fieldRef) value = fieldValue(pod, item.fieldRef.fieldPath, facts);
    else if (item.resourceFieldRef) {
      const ref = item.resourceFieldRef;
      const container = (pod.spec?.containers ?? []).find((c: V1Container) => c.name === ref.containerName);
      if (!container)
        throw new UnsupportedVolume(`downwardAPI item "${item.path}": no container "${ref.containerName ?? ''}"`);
      value = resourceValue(container, ref.resource, ref.divisor as string | undefined, facts);
    }
    return { path: safeRelative(item.path), content: Buffer.from(value), mode: item.mode ?? mode };
  });
}

function safeRelative(p: string): string {
  const n = path.posix.normalize(p);
  if (n.startsWith('..') || path.posix.isAbsolute(n))
    throw new UnsupportedVolume(`volume file path "${p}" leaves the volume`);
  return n;
}
