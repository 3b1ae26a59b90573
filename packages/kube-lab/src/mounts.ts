import * as path from 'node:path';

/**
 * How a container sees its volumes without mount namespaces.
 *
 * Each container gets a directory standing in for its "/" (its root, see layout.ts), and each
 * volumeMount appears in it as a symlink `<root><mountPath>` -> the volume's directory (or its
 * subPath). The process runs with that root as its working directory (or `<root><workingDir>`) and
 * with `KUBE_LAB_ROOT=<root>` in its environment.
 *
 * Paths the pod spec itself names are rewritten, and nothing else: a command argument or an env
 * value that is a path under one of the container's mountPaths (or `name=<such a path>`, as in
 * `--dir=/backups`) gets the root prepended. A path built inside a program (a `-e` script, a
 * hard-coded /var/run/... default) is not rewritten: pass it in by argument or env var, or prefix it
 * with `$KUBE_LAB_ROOT` (unset in a real cluster, so the same code works there).
 */
export interface MountLink {
  /** The mountPath, normalized (absolute, no trailing slash). */
  readonly mountPath: string;
  /** The host directory it stands for. */
  readonly target: string;
}

export function normalizeMountPath(mountPath: string): string {
  const p = path.posix.normalize(mountPath.startsWith('/') ? mountPath : `/${mountPath}`);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

/** `<root><mountPath>`: where the symlink for a mount lives. */
export function hostPathOf(root: string, containerPath: string): string {
  return path.join(root, normalizeMountPath(containerPath));
}

/** A path inside the container, rewritten to the host when it lies under one of the mounts. */
export function rewritePath(token: string, mountPaths: readonly string[], root: string): string {
  const under = (p: string): boolean =>
    mountPaths.some((mp) => mp !== '/' && (p === mp || p.startsWith(`${mp}/`) || p === `${mp}/`));
  if (under(token)) return root + token;
  const eq = token.indexOf('=');
  if (eq > 0) {
    const value = token.slice(eq + 1);
    if (under(value)) return `${token.slice(0, eq + 1)}${root}${value}`;
  }
  return token;
}

/**
 * The symlinks for a container's volumeMounts, parents first (so `/data` exists before `/data/sub`).
 * `volumeDirs` maps volume names to host directories; a mount naming no known volume is an error of
 * the pod spec (the apiserver normally rejects it).
 */
export function mountLinks(
  mounts: readonly { name: string; mountPath: string; subPath?: string }[],
  volumeDirs: ReadonlyMap<string, string>,
): MountLink[] {
  const links = mounts.map((m) => {
    const dir = volumeDirs.get(m.name);
    if (dir === undefined) throw new Error(`volumeMount "${m.name}" names no volume of the pod`);
    const sub = m.subPath ? path.posix.normalize(m.subPath) : '';
    if (sub.startsWith('..') || path.posix.isAbsolute(sub)) {
      throw new Error(`volumeMount "${m.name}": subPath "${m.subPath}" must be a relative path inside the volume`);
    }
    return { mountPath: normalizeMountPath(m.mountPath), target: sub ? path.join(dir, sub) : dir };
  });
  return links.sort((a, b) => a.mountPath.length - b.mountPath.length);
}
