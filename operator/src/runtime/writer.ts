import { GROUP, PLURAL, VERSION, type WebranaDatabaseStatus } from '../api/types';
import type { Job, Pod } from '../k8s';
import { RESTORE_PLURAL } from '../restore/api';
import type { Deployment } from '../restore/machine';
import type { RestoreWriter } from '../restore/reconcile';
import { MANAGED_BY } from '../names';
import type { ClusterWriter } from '../reconcile';
import { CONTENT, isStatus, type KubeClient } from './client';

/**
 * The operator's writes (and the one uncached read, pods of a failed Job), as plain REST requests:
 * no @kubernetes/client-node import here, so tests load it as they load the reconciler.
 */

const FIELD_MANAGER = MANAGED_BY;

function nsPath(prefix: string, resource: string, namespace?: string): string {
  return namespace ? `${prefix}/namespaces/${namespace}/${resource}` : `${prefix}/${resource}`;
}

export const paths = {
  databases: (ns?: string) => nsPath(`/apis/${GROUP}/${VERSION}`, PLURAL, ns),
  database: (ns: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}/${name}`,
  jobs: (ns?: string) => nsPath('/apis/batch/v1', 'jobs', ns),
  cronJobs: (ns?: string) => nsPath('/apis/batch/v1', 'cronjobs', ns),
  pods: (ns: string) => `/api/v1/namespaces/${ns}/pods`,
  allPods: (ns?: string) => nsPath('/api/v1', 'pods', ns),
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
  restores: (ns?: string) => nsPath(`/apis/${GROUP}/${VERSION}`, RESTORE_PLURAL, ns),
  restore: (ns: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${RESTORE_PLURAL}/${name}`,
  deployment: (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
  deployments: (ns?: string) => nsPath('/apis/apps/v1', 'deployments', ns),
  lease: (ns: string, name?: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases${name ? `/${name}` : ''}`,
};

export function clusterWriter(client: KubeClient): ClusterWriter {
  return {
    async createJob(job) {
      try {
        await client.request('POST', paths.jobs(job.metadata.namespace), { body: job });
        return 'created';
      } catch (err) {
        if (isStatus(err, 409)) return 'exists';
        throw err;
      }
    },
    async deleteJob(ns, name) {
      try {
        await client.request('DELETE', `${paths.jobs(ns)}/${name}`, { body: { propagationPolicy: 'Background' } });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    },
    async applyCronJob(cj) {
      await client.request('PATCH', `${paths.cronJobs(cj.metadata.namespace)}/${cj.metadata.name}`, {
        query: { fieldManager: FIELD_MANAGER, force: true },
        body: cj,
        contentType: CONTENT.apply,
      });
    },
    async deleteCronJob(ns, name) {
      try {
        await client.request('DELETE', `${paths.cronJobs(ns)}/${name}`, { body: { propagationPolicy: 'Background' } });
      } catch (err) {
        if (!isStatus(err, 404)) throw err;
      }
    },
    async updateStatus(ns, name, resourceVersion, status: WebranaDatabaseStatus) {
      // resourceVersion in the patched object is a precondition: the apiserver answers 409 Conflict
      // when the stored object has moved on, so a stale writer never overwrites a newer status.
      try {
        await client.request('PATCH', `${paths.database(ns, name)}/status`, {
          body: [
            { op: 'replace', path: '/metadata/resourceVersion', value: resourceVersion },
            { op: 'add', path: '/status', value: status },
          ],
          contentType: CONTENT.jsonPatch,
          query: { fieldManager: FIELD_MANAGER },
        });
        return 'written';
      } catch (err) {
        if (isStatus(err, 409)) return 'conflict';
        throw err;
      }
    },
    async listPods(ns, labelSelector) {
      const list = await client.request<{ items?: Pod[] }>('GET', paths.pods(ns), { query: { labelSelector } });
      return list.items ?? [];
    },
    async createEvent(event) {
      const ns = (event.metadata as { namespace: string }).namespace;
      try {
        await client.request('POST', paths.events(ns), { body: event });
        return 'created';
      } catch (err) {
        if (isStatus(err, 409)) return 'exists';
        throw err;
      }
    },
  };
}

/**
 * The restore reconciler's writes and uncached reads. Deployments: get (labels, replicas, selector)
 * and the scale subresource only; the Deployment itself is never written.
 */
export function restoreWriter(client: KubeClient, cluster: ClusterWriter): RestoreWriter {
  return {
    createJob: (job) => cluster.createJob(job),
    listPods: (ns, selector) => cluster.listPods(ns, selector),
    createEvent: (event) => cluster.createEvent(event),
    async listJobs(ns, labelSelector) {
      const list = await client.request<{ items?: Job[] }>('GET', paths.jobs(ns), { query: { labelSelector } });
      return list.items ?? [];
    },
    async getDeployment(ns, name) {
      try {
        return await client.request<Deployment>('GET', paths.deployment(ns, name));
      } catch (err) {
        if (isStatus(err, 404)) return undefined;
        throw err;
      }
    },
    async scaleDeployment(ns, name, replicas) {
      await client.request('PATCH', `${paths.deployment(ns, name)}/scale`, {
        body: { spec: { replicas } },
        contentType: CONTENT.merge,
        query: { fieldManager: FIELD_MANAGER },
      });
    },
    async annotateRestore(ns, name, key, value) {
      await client.request('PATCH', paths.restore(ns, name), {
        body: { metadata: { annotations: { [key]: value } } },
        contentType: CONTENT.merge,
        query: { fieldManager: FIELD_MANAGER },
      });
    },
    async patchRestoreStatus(ns, name, status) {
      await client.request('PATCH', `${paths.restore(ns, name)}/status`, {
        body: { status },
        contentType: CONTENT.merge,
        query: { fieldManager: FIELD_MANAGER },
      });
    },
  };
}
