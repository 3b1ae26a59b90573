import * as path from 'node:path';
import { SERVICE_NAMES } from '@webrana/registry';

/**
 * The kube-lab image table: the one place that says what a container image means on this machine.
 * There is no container runtime, so an "image" is a set of host executables plus the image's
 * ENTRYPOINT/CMD, and a container runs as a plain host process.
 *
 *   node, node:<tag>               (Docker Hub only) the host's Node (process.execPath), plus sh and bash;
 *                                  only-args containers behave like the official image's entrypoint
 *   <registry/>webrana/jobs:<tag>  node <repo>/jobs/bin/webrana-jobs.js  (needs jobs/dist built)
 *   <registry/>webrana/<service>   node <repo>/services/<service>/dist/src/main.js, for each service
 *                                  of @webrana/registry (needs that service built)
 *
 * Every other image fails its pod with reason ErrImagePull. Tags and digests are accepted and ignored:
 * a webrana image always runs this checkout's build.
 */
export interface LabImage {
  /** The image reference as the pod wrote it. */
  readonly reference: string;
  /** Which table row matched ("node", "webrana/jobs", ...). */
  readonly kind: string;
  /** ENTRYPOINT, as executable names of `binaries`. */
  readonly entrypoint: readonly string[];
  /** CMD. */
  readonly cmd: readonly string[];
  /**
   * When set, a container that gives only `args` runs them through this executable unless args[0] is
   * itself an executable of the image and not an option (what node's docker-entrypoint.sh does).
   */
  readonly argsShim?: string;
  /** Executable name -> host argv prefix. */
  readonly binaries: Readonly<Record<string, readonly string[]>>;
}

export interface ImageTableOptions {
  /** Root of this checkout (where jobs/ and services/ live). */
  readonly repoRoot: string;
  /** The Node binary containers run (process.execPath). */
  readonly nodePath: string;
  /** Whether a host file exists (injected so the table stays testable). */
  readonly fileExists: (file: string) => boolean;
}

export type ImageResolution =
  | { readonly ok: true; readonly image: LabImage }
  | { readonly ok: false; readonly reason: 'ErrImagePull' | 'InvalidImageName'; readonly message: string };

export interface ImageReference {
  /** Registry host, undefined for Docker Hub. */
  readonly registry?: string;
  /** Repository path without registry; Docker Hub official images without "library/". */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const REFERENCE =
  /^(?:([a-zA-Z0-9.-]+(?::[0-9]+)?)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@([A-Za-z0-9_+.-]+:[A-Fa-f0-9]+))?$/;

/** Splits an image reference the way container runtimes do (registry only when it looks like a host). */
export function parseImageReference(reference: string): ImageReference | undefined {
  const m = REFERENCE.exec(reference.trim());
  if (!m) return undefined;
  const [, first, path0, tag, digest] = m;
  let rest = path0;
  let registry: string | undefined;
  if (first !== undefined) {
    if (first.includes('.') || first.includes(':') || first === 'localhost') registry = first;
    else rest = `${first}/${rest}`;
  }
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') {
    registry = undefined;
  }
  let repository = rest ?? '';
  if (registry === undefined && repository.startsWith('library/')) repository = repository.slice('library/'.length);
  return { registry, repository, tag, digest };
}

const SHELLS = { sh: ['/bin/sh'], bash: ['/bin/bash'] } as const;

/** The table itself. Pure: file checks go through `opts.fileExists`. */
export function resolveImage(reference: string, opts: ImageTableOptions): ImageResolution {
  const ref = parseImageReference(reference);
  if (!ref) {
    return { ok: false, reason: 'InvalidImageName', message: `Failed to apply default image tag "${reference}"` };
  }
  const node = [opts.nodePath];
  const notAvailable = (message: string): ImageResolution => ({
    ok: false,
    reason: 'ErrImagePull',
    message: `kube-lab cannot run image "${reference}": ${message}`,
  });

  if (ref.registry === undefined && ref.repository === 'node') {
    return {
      ok: true,
      image: {
        reference,
        kind: 'node',
        entrypoint: [],
        cmd: ['node'],
        argsShim: 'node',
        binaries: { node, ...SHELLS },
      },
    };
  }

  const project = /^(?:.+\/)?webrana\/([a-z0-9-]+)$/.exec(ref.repository)?.[1];
  if (project === 'jobs') {
    const entry = path.join(opts.repoRoot, 'jobs', 'bin', 'webrana-jobs.js');
    const built = path.join(opts.repoRoot, 'jobs', 'dist', 'cli.js');
    if (!opts.fileExists(built))
      return notAvailable(`it maps to ${entry}, whose build ${built} is missing (run npx tsc -b)`);
    return {
      ok: true,
      image: {
        reference,
        kind: 'webrana/jobs',
        entrypoint: ['webrana-jobs'],
        cmd: [],
        binaries: { 'webrana-jobs': [opts.nodePath, entry], node, ...SHELLS },
      },
    };
  }
  const service = SERVICE_NAMES.find((s) => s === project);
  if (service !== undefined) {
    const entry = path.join(opts.repoRoot, 'services', service, 'dist', 'src', 'main.js');
    if (!opts.fileExists(entry)) return notAvailable(`it maps to ${entry}, which is not built (run npx tsc -b)`);
    return {
      ok: true,
      image: {
        reference,
        kind: `webrana/${service}`,
        entrypoint: [`webrana-${service}`],
        cmd: [],
        binaries: { [`webrana-${service}`]: [opts.nodePath, entry], node, ...SHELLS },
      },
    };
  }

  const known = ['node', 'node:<tag>', 'webrana/jobs', ...SERVICE_NAMES.map((s) => `webrana/${s}`)].join(', ');
  return notAvailable(
    `it is not in the kube-lab image table (known: ${known}); there is no container runtime to pull it`,
  );
}

/** Directories a container may name an executable by absolute path in (`/usr/local/bin/node`). */
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export type CommandResolution =
  | {
      readonly ok: true;
      readonly argv: readonly string[];
      /** How many leading argv entries are host paths from the image table (never rewritten). */
      readonly hostArgs: number;
    }
  | { readonly ok: false; readonly message: string };

/**
 * The host argv for a container, following Kubernetes' rules (command replaces ENTRYPOINT, args
 * replace CMD) and then the image's executable table for argv[0]. `command`/`args` are already
 * $(VAR)-expanded; path rewriting of the other arguments happens later.
 */
export function resolveCommand(
  image: LabImage,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): CommandResolution {
  let argv: string[];
  const hasCommand = command !== undefined && command.length > 0;
  const hasArgs = args !== undefined && args.length > 0;
  if (hasCommand) argv = [...command, ...(args ?? [])];
  else if (hasArgs && image.entrypoint.length > 0) argv = [...image.entrypoint, ...args];
  else if (hasArgs) {
    const first = args[0] ?? '';
    const runsItself = !first.startsWith('-') && executableOf(image, first) !== undefined;
    argv = image.argsShim !== undefined && !runsItself ? [image.argsShim, ...args] : [...args];
  } else argv = [...image.entrypoint, ...image.cmd];

  const [exe, ...rest] = argv;
  if (exe === undefined) return { ok: false, message: `image "${image.reference}" has no ENTRYPOINT or CMD` };
  const host = executableOf(image, exe);
  if (host === undefined) {
    return {
      ok: false,
      message:
        `exec: "${exe}": executable file not found in $PATH ` +
        `(kube-lab image ${image.kind} provides: ${Object.keys(image.binaries).join(', ')})`,
    };
  }
  return { ok: true, argv: [...host, ...rest], hostArgs: host.length };
}

function executableOf(image: LabImage, name: string): readonly string[] | undefined {
  const own = Object.prototype.hasOwnProperty.call(image.binaries, name) ? image.binaries[name] : undefined;
  if (own !== undefined) return own;
  if (path.isAbsolute(name) && BIN_DIRS.includes(path.dirname(name))) {
    const base = path.basename(name);
    return Object.prototype.hasOwnProperty.call(image.binaries, base) ? image.binaries[base] : undefined;
  }
  return undefined;
}
