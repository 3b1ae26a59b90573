import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { startTool, type RunningTool } from './tools';

/**
 * Full dumps are pg_dump's directory format (written by parallel jobs, uncompressed) packed into one
 * file: a tar stream compressed by zstd at level 1 on every core. Measured on the generated 625 MB
 * order database (issue 22, bench/results.md): the whole backup job 0.58x of `pg_dump -Fc`'s time at
 * 0.88x its size on an idle 2-core machine; pg_dump 15 itself compresses with gzip in one process per job.
 */
// Threads named, not -T0: zstd 1.5 counts physical cores there and ran one thread on this 2-vCPU VM
// (1.41-1.50 s for the 366 MB dump vs 1.05-1.13 s with -T2).
const COMPRESS = ['-1', `-T${os.availableParallelism()}`, '-q', '-c'];

export class ArchiveError extends Error {}

async function finished(tool: RunningTool, what: string): Promise<string> {
  const result = await tool.done;
  if (result.code !== 0) throw new ArchiveError(`${what} failed (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** The member names a tar listing holds, without the archive root itself. */
export const listedMembers = (listing: string): string[] =>
  listing
    .split('\n')
    .map((line) => line.replace(/^\.\//, ''))
    .filter((name) => name !== '' && name !== '.' && name !== './')
    .sort();

/**
 * Packs the files of `dir` into `file` (which must exist; its mode is kept) and returns the sha256 and
 * size of what was written. Verified while writing, not by reading the file again: the compressed
 * bytes also go through `zstd -d | tar -t`, so the archive decompresses (zstd's frame checksums) and
 * lists exactly the directory's files, or this throws.
 */
export function packDirectory(dir: string, file: string): Promise<{ sha256: string; bytes: number }> {
  return packDirectoryTo(dir, fs.createWriteStream(file, { flags: 'r+' }), file);
}

/**
 * packDirectory into any writable (an object store upload streams from here); `what` names it in errors.
 * The sink has every byte when this resolves.
 */
export async function packDirectoryTo(
  dir: string,
  sink: NodeJS.WritableStream,
  what: string,
): Promise<{ sha256: string; bytes: number }> {
  // Only the compressed bytes pass through this process (hashed, written, fed to the check): tar's
  // output goes to zstd and zstd -d's to tar -t by pipes between them, not through JavaScript.
  const tar = startTool('tar', ['-C', dir, '-cf', '-', '.'], {});
  const zstd = startTool('zstd', COMPRESS, {}, { stdin: tar.child.stdout });
  const unzstd = startTool('zstd', ['-d', '-q', '-c'], {});
  const list = startTool('tar', ['-tf', '-'], {}, { keepStdout: true, stdin: unzstd.child.stdout });
  const tools = [tar, zstd, unzstd, list];
  const hash = createHash('sha256');
  let bytes = 0;
  zstd.child.stdout.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  try {
    tar.child.stdin?.end();
    zstd.child.stdout.pipe(unzstd.child.stdin!);
    await Promise.all([
      pipeline(zstd.child.stdout, sink),
      finished(tar, `tar of ${dir}`),
      finished(zstd, 'zstd'),
      finished(unzstd, `checking ${what} (zstd -d)`),
    ]);
    const listed = listedMembers(await finished(list, `checking ${what} (tar -t)`));
    const expected = fs.readdirSync(dir).sort();
    if (listed.join('\n') !== expected.join('\n')) {
      throw new ArchiveError(
        `${what} does not hold the dump's files: it lists ${listed.length}, the dump has ${expected.length}`,
      );
    }
    return { sha256: hash.digest('hex'), bytes };
  } catch (error) {
    for (const tool of tools) tool.child.kill('SIGKILL');
    await Promise.allSettled(tools.map((t) => t.done));
    throw error;
  }
}

/**
 * Unpacks an archive packDirectory wrote into `dir` (which must exist and be empty) and returns the
 * sha256 of the file as read, so the caller checks it against the manifest without a second read.
 */
export function unpackArchive(file: string, dir: string): Promise<{ sha256: string }> {
  return unpackStream(fs.createReadStream(file), dir, file);
}

/** unpackArchive from any readable (an object store download); `what` names it in errors. */
export async function unpackStream(
  input: NodeJS.ReadableStream,
  dir: string,
  what: string,
): Promise<{ sha256: string }> {
  const unzstd = startTool('zstd', ['-d', '-q', '-c'], {});
  const untar = startTool(
    'tar',
    ['-C', dir, '-xf', '-', '--no-same-owner', '--no-same-permissions'],
    {},
    {
      stdin: unzstd.child.stdout,
    },
  );
  untar.child.stdout.resume();
  const hash = createHash('sha256');
  input.on('data', (chunk: Buffer) => hash.update(chunk));
  try {
    await Promise.all([
      pipeline(input, unzstd.child.stdin!),
      finished(unzstd, `reading ${what} (zstd -d)`),
      finished(untar, `unpacking ${what} (tar -x)`),
    ]);
    return { sha256: hash.digest('hex') };
  } catch (error) {
    unzstd.child.kill('SIGKILL');
    untar.child.kill('SIGKILL');
    await Promise.allSettled([unzstd.done, untar.done]);
    throw error;
  }
}
