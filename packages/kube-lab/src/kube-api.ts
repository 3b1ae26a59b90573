import * as os from 'node:os';
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  VersionApi,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Logger } from '@webrana/logger';
import type { EnvObjects, NodeFacts } from './env';
import type { PodRef } from './layout';
import type { PodApi } from './pod-worker';
import type { VolumeSources } from './volumes';

/**
 * The kube-lab kubelet's conversation with the apiserver, through @kubernetes/client-node 1.4. Every
 * update is a JSON merge patch built from plain JSON (timestamps as strings), which keeps the
 * client's model serializer out of the way.
 */
export interface Cluster {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly coordination: CoordinationV1Api;
  /** The apiserver URL pods are told about (KUBERNETES_SERVICE_HOST/PORT). */
  readonly server: URL;
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const NODE_LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

export function connect(kubeconfig: string): Cluster {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`kubeconfig ${kubeconfig} names no current cluster`);
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    server: new URL(server),
  };
}

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as { message?: string } | string | undefined;
    const detail = typeof body === 'string' ? body : body?.message;
    return `HTTP ${err.code}${detail ? `: ${detail}` : ''}`;
  }
  return err instanceof Error ? err.message : String(err);
}

async function orNull<T>(read: Promise<T>): Promise<T | null> {
  try {
    return await read;
  } catch (err) {
    if (statusCode(err) === 404) return null;
    throw err;
  }
}

/** RFC 3339 with microseconds, the only format a MicroTime (Lease renewTime) accepts. */
export function microTime(date = new Date()): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const time = (date = new Date()): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function podApi(cluster: Cluster, nodeName: string, log: Logger): PodApi {
  const { core } = cluster;
  return {
    async patchStatus(pod, status) {
      try {
        // metadata.uid makes the patch a precondition: a pod deleted and re-created under the same
        // name is not ours to write (the apiserver answers 409).
        await core.patchNamespacedPodStatus(
          { name: pod.name, namespace: pod.namespace, body: { metadata: { uid: pod.uid }, status } },
          MERGE_PATCH,
        );
        return 'ok';
      } catch (err) {
        const code = statusCode(err);
        if (code === 404 || code === 409) return 'gone';
        throw new Error(`patching status of pod ${pod.namespace}/${pod.name}: ${errorMessage(err)}`);
      }
    },

    async deletePod(pod) {
      for (let attempt = 1; ; attempt++) {
        try {
          await core.deleteNamespacedPod({
            name: pod.name,
            namespace: pod.namespace,
            gracePeriodSeconds: 0,
            body: { gracePeriodSeconds: 0, preconditions: { uid: pod.uid } },
          });
          return;
        } catch (err) {
          const code = statusCode(err);
          if (code === 404 || code === 409) return;
          if (attempt >= 10) throw new Error(`deleting pod ${pod.namespace}/${pod.name}: ${errorMessage(err)}`);
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    },

    event(pod, type, reason, message) {
      const at = time();
      core
        .createNamespacedEvent({
          namespace: pod.namespace,
          body: {
            metadata: { generateName: `${pod.name}.`, namespace: pod.namespace },
            involvedObject: { apiVersion: 'v1', kind: 'Pod', name: pod.name, namespace: pod.namespace, uid: pod.uid },
            type,
            reason,
            message,
            source: { component: 'kubelet', host: nodeName },
            reportingComponent: 'kubelet',
            reportingInstance: nodeName,
            firstTimestamp: at as unknown as Date,
            lastTimestamp: at as unknown as Date,
            count: 1,
          },
        })
        .catch((err: unknown) => log.debug({ err: errorMessage(err) }, 'event not recorded'));
    },

    volumeSources(pod: PodRef): VolumeSources {
      const namespace = pod.namespace;
      return {
        secret: async (name) => {
          const secret = await orNull(core.readNamespacedSecret({ name, namespace }));
          return secret === null ? null : (secret.data ?? {});
        },
        configMap: async (name) => {
          const cm = await orNull(core.readNamespacedConfigMap({ name, namespace }));
          return cm === null ? null : { data: cm.data ?? {}, binaryData: cm.binaryData ?? {} };
        },
        pvcExists: async (name) =>
          (await orNull(core.readNamespacedPersistentVolumeClaim({ name, namespace }))) !== null,
        serviceAccountToken: async (serviceAccount, audience, expirationSeconds) => {
          const tr = await core.createNamespacedServiceAccountToken({
            name: serviceAccount,
            namespace,
            body: {
              spec: {
                audiences: audience ? [audience] : [],
                expirationSeconds,
                boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid },
              },
            },
          });
          const token = tr.status?.token;
          if (!token)
            throw new Error(`TokenRequest for serviceaccount ${namespace}/${serviceAccount} returned no token`);
          return token;
        },
      };
    },

    async envObjects(namespace, refs): Promise<EnvObjects> {
      const secrets = new Map<string, Record<string, string> | null>();
      const configMaps = new Map<string, Record<string, string> | null>();
      for (const name of refs.secrets) {
        const s = await orNull(core.readNamespacedSecret({ name, namespace }));
        secrets.set(name, s === null ? null : (s.data ?? {}));
      }
      for (const name of refs.configMaps) {
        const cm = await orNull(core.readNamespacedConfigMap({ name, namespace }));
        configMaps.set(name, cm === null ? null : (cm.data ?? {}));
      }
      return { secrets, configMaps };
    },
  };
}

/** Binds an unscheduled pod to the node through the pods/binding subresource (what kube-scheduler does). */
export async function bindPod(cluster: Cluster, pod: V1Pod, nodeName: string): Promise<'bound' | 'gone'> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  try {
    await cluster.core.createNamespacedPodBinding({
      name,
      namespace,
      body: {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace, uid: pod.metadata?.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      },
    });
    return 'bound';
  } catch (err) {
    const code = statusCode(err);
    // 409: already bound (or re-created); 404: deleted meanwhile.
    if (code === 404 || code === 409) return 'gone';
    throw new Error(`binding pod ${namespace}/${name}: ${errorMessage(err)}`);
  }
}

export interface NodeRegistration {
  readonly nodeName: string;
  readonly facts: NodeFacts;
  /** The container log endpoint's port (the apiserver proxies `pods/log` there). */
  readonly kubeletPort: number;
}

function goArch(): string {
  const arch = os.arch();
  return arch === 'x64' ? 'amd64' : arch === 'ia32' ? '386' : arch;
}

/** Creates (or takes over) the Node object and returns its uid. */
export async function registerNode(cluster: Cluster, reg: NodeRegistration): Promise<string> {
  const { core } = cluster;
  const labels = {
    'kubernetes.io/hostname': reg.nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': goArch(),
    'node.kubernetes.io/instance-type': 'kube-lab',
  };
  try {
    const created = await core.createNode({
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name: reg.nodeName, labels } },
    });
    return created.metadata?.uid ?? '';
  } catch (err) {
    if (statusCode(err) !== 409) throw new Error(`registering node ${reg.nodeName}: ${errorMessage(err)}`);
    const node = await core.patchNode({ name: reg.nodeName, body: { metadata: { labels } } }, MERGE_PATCH);
    return node.metadata?.uid ?? '';
  }
}

/** Node status with a Ready condition (kept Ready while the kubelet runs) and the lab's capacity. */
export async function postNodeStatus(
  cluster: Cluster,
  reg: NodeRegistration,
  ready: boolean,
  since: Date,
  kubeletVersion: string,
): Promise<void> {
  const heartbeat = time();
  const transition = time(since);
  const capacity = {
    cpu: String(reg.facts.allocatable.cpu),
    memory: `${Math.floor(reg.facts.allocatable.memory / 1024)}Ki`,
    'ephemeral-storage': `${Math.floor(reg.facts.allocatable.ephemeralStorage / 1024)}Ki`,
    pods: '110',
  };
  const condition = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: transition,
  });
  const status = {
    capacity,
    allocatable: capacity,
    conditions: [
      condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      ready
        ? condition('Ready', 'True', 'KubeletReady', 'kube-lab kubelet is posting ready status')
        : condition('Ready', 'False', 'KubeletNotReady', 'kube-lab kubelet stopped'),
    ],
    addresses: [
      { type: 'InternalIP', address: reg.facts.hostIP },
      { type: 'Hostname', address: reg.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: reg.kubeletPort } },
    nodeInfo: {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: os.release(),
      osImage: 'kube-lab (containers are host processes)',
      containerRuntimeVersion: 'kube-lab://0.1.0',
      kubeletVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: goArch(),
    },
  };
  await cluster.core.patchNodeStatus({ name: reg.nodeName, body: { status } }, MERGE_PATCH);
}

/** The apiserver's gitVersion, reported as the kubelet's version (`kubectl get nodes`). */
export async function serverVersion(cluster: Cluster): Promise<string> {
  try {
    return (await cluster.kc.makeApiClient(VersionApi).getCode()).gitVersion;
  } catch {
    return 'v0.0.0-kube-lab';
  }
}

/** Renews (or creates) the node's Lease in kube-node-lease, as the kubelet's heartbeat. */
export async function renewLease(cluster: Cluster, nodeName: string, nodeUid: string): Promise<void> {
  const { coordination } = cluster;
  const spec = { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime() };
  try {
    await coordination.patchNamespacedLease(
      { name: nodeName, namespace: NODE_LEASE_NAMESPACE, body: { spec } },
      MERGE_PATCH,
    );
  } catch (err) {
    if (statusCode(err) !== 404) throw err;
    await coordination.createNamespacedLease({
      namespace: NODE_LEASE_NAMESPACE,
      body: {
        metadata: {
          name: nodeName,
          namespace: NODE_LEASE_NAMESPACE,
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }],
        },
        spec: spec as never,
      },
    });
  }
}
