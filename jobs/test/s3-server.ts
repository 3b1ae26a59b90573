import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';
import { freePort } from '@webrana/testing';

/**
 * A real S3-compatible server for the tests: versitygw (posix backend: buckets are folders, objects
 * files, metadata in xattrs), built by scripts/s3-server/build from the Go module proxy and cached
 * outside the clone, listening on 127.0.0.1. Its data folder outlives a kill, so a test can stop it
 * mid-upload and start it again on the same port and data.
 */
export interface S3Server {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  root: string;
  /** The variables webrana-jobs reads to reach this server. */
  env(): NodeJS.ProcessEnv;
  /** An SDK client with the server's credentials, for the tests' own looks into the bucket. */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** SIGKILL: the store goes away mid-request, as a crashed or unreachable one does. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function serverBinary(): string {
  const build = path.join(REPO_ROOT, 'scripts', 's3-server', 'build');
  const bin = execFileSync(build, ['--print-bin'], { encoding: 'utf8' }).trim();
  if (fs.existsSync(bin)) return bin;
  // Cold: a few minutes once per machine (see scripts/s3-server/build --help).
  return execFileSync(build, [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim()
    .split('\n')
    .at(-1)!;
}

// The SDK's Node 22 notice (see ObjectStore) would otherwise end up in every test's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/** `host`: the address it listens on (default loopback; the real-node tests give the node IP, which pods reach). */
export async function startS3Server({ host = '127.0.0.1' }: { host?: string } = {}): Promise<S3Server> {
  const bin = serverBinary();
  const port = await freePort();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 's3-data-'));
  const accessKey = 'WEBRANATESTACCESSKEY';
  const secretKey = `secret-${Math.random().toString(36).slice(2)}-never-logged`;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const endpoint = `http://${host}:${port}`;
  const server: S3Server = {
    endpoint,
    accessKey,
    secretKey,
    root,
    env: () => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: secretKey,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    }),
    client: new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    createBucket: async (name) => {
      await server.client.send(new CreateBucketCommand({ Bucket: name }));
    },
    start: async () => {
      output = '';
      const proc = spawn(
        bin,
        ['--access', accessKey, '--secret', secretKey, '--port', `${host}:${port}`, '--quiet', 'posix', root],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child = proc;
      proc.stdout!.on('data', (c: Buffer) => (output += c.toString()));
      proc.stderr!.on('data', (c: Buffer) => (output += c.toString()));
      exited = new Promise((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 15_000;
      while (!(await listening(host, port))) {
        if (proc.exitCode !== null || Date.now() > deadline)
          throw new Error(`versitygw did not start on ${endpoint}: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    kill: async () => {
      child?.kill('SIGKILL');
      await exited;
      child = null;
    },
    stop: async () => {
      child?.kill('SIGTERM');
      await exited;
      child = null;
      server.client.destroy();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
