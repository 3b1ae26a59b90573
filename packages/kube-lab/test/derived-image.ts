// Images a real-node test derives from the ones under test: exported from the node's containerd (never
// from containers-storage, whose tags other runs and skaffold's image pruning may move or drop while
// this file runs), files copied in with buildah, imported back into the node under a new tag.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, type ImageName, type RealNodeNamespace } from '../src';

async function sh(args: string[]): Promise<string> {
  const r = await run(args[0]!, args.slice(1), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * docker.io/webrana/<image>:<tag>: the node's `from` (a reference in its containerd) with `files`
 * (host path -> image path, owned by the images' uid 10001) copied in.
 */
export async function derivedImage(
  lab: RealNodeNamespace,
  image: ImageName,
  from: string,
  tag: string,
  files: Record<string, string>,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `webrana-${image}-`));
  const local = `localhost/webrana/${image}:${tag}`;
  const ctr = ['ctr', '--address', lab.containerdSocket, '-n', 'k8s.io', 'images'];
  try {
    const base = path.join(dir, 'base.tar');
    await sh([...ctr, 'export', base, from]);
    const working = await sh(['buildah', 'from', '--pull-never', `oci-archive:${base}`]);
    try {
      for (const [source, target] of Object.entries(files)) {
        await sh(['buildah', 'copy', '--chown', '10001:10001', working, source, target]);
      }
      await sh(['buildah', 'commit', '--quiet', working, local]);
    } finally {
      await run('buildah', ['rm', working]);
    }
    const archive = path.join(dir, 'image.tar');
    await sh([
      'skopeo',
      'copy',
      '--quiet',
      `containers-storage:${local}`,
      `oci-archive:${archive}:docker.io/webrana/${image}:${tag}`,
    ]);
    await sh([...ctr, 'import', archive]);
  } finally {
    await run('buildah', ['rmi', local]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
