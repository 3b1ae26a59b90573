import * as fs from 'node:fs';
import type * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

/**
 * Where the apiserver is and how to authenticate, from a kubeconfig file (KUBECONFIG, first path,
 * else ~/.kube/config) or the in-cluster ServiceAccount: what KubeClient needs and nothing more.
 * @kubernetes/client-node's KubeConfig does the same, but loading it loads the whole generated API
 * (about 30 MiB of heap the operator never uses), so the operator reads credentials itself.
 * Supported: server, certificate-authority(-data), insecure-skip-tls-verify, tls-server-name; user
 * token, tokenFile (re-read on every request, as the kubelet rotates it), client-certificate(-data)
 * and client-key(-data). Exec plugins and auth providers are refused with a message naming them.
 */
export interface KubeAccess {
  getCurrentCluster(): { server: string } | null | undefined;
  /** TLS material and the Authorization header for one request (a token file is read again each time). */
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface RawConfig {
  'current-context'?: string;
  contexts?: (Named<unknown> & { context?: { cluster?: string; user?: string } })[];
  clusters?: (Named<unknown> & {
    cluster?: {
      server?: string;
      'certificate-authority'?: string;
      'certificate-authority-data'?: string;
      'insecure-skip-tls-verify'?: boolean;
      'tls-server-name'?: string;
    };
  })[];
  users?: (Named<unknown> & {
    user?: {
      token?: string;
      tokenFile?: string;
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
      username?: string;
    };
  })[];
}

function fileOrData(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return fs.readFileSync(path.isAbsolute(file) ? file : path.join(dir, file));
  return undefined;
}

interface Access {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  servername?: string;
  token?: string;
  tokenFile?: string;
}

function accessOf(a: Access): KubeAccess {
  return {
    getCurrentCluster: () => ({ server: a.server }),
    async applyToHTTPSOptions(opts) {
      if (a.ca) opts.ca = a.ca;
      if (a.cert) opts.cert = a.cert;
      if (a.key) opts.key = a.key;
      if (a.insecure) opts.rejectUnauthorized = false;
      if (a.servername) opts.servername = a.servername;
      const token = a.tokenFile ? fs.readFileSync(a.tokenFile, 'utf8').trim() : a.token;
      if (token) opts.headers = { ...(opts.headers as Record<string, string>), Authorization: `Bearer ${token}` };
    },
  };
}

/** A kubeconfig file's current context. */
export function kubeAccessFromFile(file: string): KubeAccess {
  const raw = (yaml.load(fs.readFileSync(file, 'utf8')) ?? {}) as RawConfig;
  const dir = path.dirname(file);
  const contextName = raw['current-context'];
  const context = raw.contexts?.find((c) => c.name === contextName)?.context ?? raw.contexts?.[0]?.context;
  const cluster = raw.clusters?.find((c) => c.name === context?.cluster)?.cluster ?? raw.clusters?.[0]?.cluster;
  const user = raw.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${file}: the current context names no cluster with a server`);
  if (user.exec || user['auth-provider'] || user.username) {
    throw new Error(
      `${file}: exec plugins, auth providers and basic auth are not supported; use a token or a client certificate`,
    );
  }
  const tokenFile = user.tokenFile
    ? path.isAbsolute(user.tokenFile)
      ? user.tokenFile
      : path.join(dir, user.tokenFile)
    : undefined;
  return accessOf({
    server: cluster.server,
    ca: fileOrData(dir, cluster['certificate-authority'], cluster['certificate-authority-data']),
    cert: fileOrData(dir, user['client-certificate'], user['client-certificate-data']),
    key: fileOrData(dir, user['client-key'], user['client-key-data']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    ...(cluster['tls-server-name'] ? { servername: cluster['tls-server-name'] } : {}),
    ...(user.token ? { token: user.token } : {}),
    ...(tokenFile ? { tokenFile } : {}),
  });
}

/**
 * As client-node's loadFromDefault: KUBECONFIG (its first file), else ~/.kube/config, else the
 * in-cluster ServiceAccount. Undefined when none is there.
 */
export function loadKubeAccess(env: NodeJS.ProcessEnv): KubeAccess | undefined {
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find((p) => p.length > 0);
  if (first) return kubeAccessFromFile(first);
  const home = path.join(env.HOME ?? os.homedir(), '.kube', 'config');
  if (fs.existsSync(home)) return kubeAccessFromFile(home);
  const host = env.KUBERNETES_SERVICE_HOST;
  if (host && fs.existsSync(path.join(SA_DIR, 'token'))) {
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    return accessOf({
      server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
      ca: fs.readFileSync(path.join(SA_DIR, 'ca.crt')),
      tokenFile: path.join(SA_DIR, 'token'),
    });
  }
  return undefined;
}
