import * as path from 'node:path';

/**
 * Where the kube-lab kubelet keeps things under its state directory (`--state-dir`). Tests and people
 * debugging a pod use these to find a pod's files; nothing else should guess the layout.
 *
 *   pods/<pod uid>/volumes/<volume>/   emptyDir, secret, configMap, projected and downwardAPI volumes
 *   pods/<pod uid>/root/<container>/   the container's "/" : each volumeMount is a symlink at <root><mountPath>
 *   pvc/<namespace>/<claim>/           a PersistentVolumeClaim's data (outlives pods, like a real volume)
 *   logs/<namespace>_<pod>_<uid>/<container>/<restartCount>.log   stdout+stderr (kept after the pod is gone)
 */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export function podDir(stateDir: string, uid: string): string {
  return path.join(stateDir, 'pods', uid);
}

export function volumeDir(stateDir: string, uid: string, volume: string): string {
  return path.join(podDir(stateDir, uid), 'volumes', volume);
}

export function containerRoot(stateDir: string, uid: string, container: string): string {
  return path.join(podDir(stateDir, uid), 'root', container);
}

/** The pid file of a container's process group, so a restarted kubelet can reap what its predecessor left. */
export function containerPidFile(stateDir: string, uid: string, container: string): string {
  return path.join(podDir(stateDir, uid), 'pids', container);
}

export function pvcDir(stateDir: string, namespace: string, claim: string): string {
  return path.join(stateDir, 'pvc', namespace, claim);
}

export function podLogDir(stateDir: string, pod: PodRef): string {
  return path.join(stateDir, 'logs', `${pod.namespace}_${pod.name}_${pod.uid}`);
}

export function containerLogPath(stateDir: string, pod: PodRef, container: string, restartCount = 0): string {
  return path.join(podLogDir(stateDir, pod), container, `${restartCount}.log`);
}
