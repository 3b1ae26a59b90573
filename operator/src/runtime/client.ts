import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeAccess } from './kubeconfig';

/**
 * A small JSON REST client for the apiserver: credentials from a KubeAccess (kubeconfig.ts: kubeconfig
 * file or in-cluster service account, token re-read on every request), one keep-alive
 * connection pool, plain JSON in and out (timestamps stay strings), and every request reported to
 * `onRequest` so /metrics can count what the operator asks of the apiserver.
 */

class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.statusCode === code;
}

interface RequestOptions {
  readonly query?: Record<string, string | number | boolean | undefined>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

type RequestObserver = (info: { verb: string; resource: string; code: number; seconds: number }) => void;

export const CONTENT = {
  json: 'application/json',
  merge: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** The resource a path names (jobs, webranadatabases/status, leases, ...), for metrics labels. */
function resourceOf(path: string): string {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1/... or /apis/group/version/...
  let rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  if (rest[0] === 'namespaces' && rest.length > 2) rest = rest.slice(2);
  const [resource = 'unknown', , sub] = rest;
  return sub ? `${resource}/${sub}` : resource;
}

/** Kubernetes' verb for a request (list/watch/get on GET, create on POST, ...). */
function verbOf(method: string, path: string, query: RequestOptions['query']): string {
  if (method === 'GET') {
    if (query?.watch) return 'watch';
    const rest = resourceOf(path);
    const segments = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
    const base = segments[0] === 'api' ? 2 : 3;
    const tail = segments.slice(base);
    const named = tail[0] === 'namespaces' ? tail.length >= 4 : tail.length >= 2;
    return named || rest.includes('/') ? 'get' : 'list';
  }
  return { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method.toLowerCase();
}

export class KubeClient {
  private readonly server: URL;
  private agent: https.Agent | http.Agent | undefined;

  constructor(
    readonly kc: KubeAccess,
    private readonly onRequest: RequestObserver = () => {},
    private readonly userAgent = 'webrana-operator',
  ) {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('the kubeconfig names no current cluster');
    this.server = new URL(server);
  }

  private async options(): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    if (!this.agent) {
      this.agent =
        this.server.protocol === 'https:'
          ? new https.Agent({
              keepAlive: true,
              maxSockets: 16,
              ca: opts.ca,
              cert: opts.cert,
              key: opts.key,
              ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
              ...(opts.servername ? { servername: opts.servername } : {}),
            })
          : new http.Agent({ keepAlive: true, maxSockets: 16 });
    }
    return { headers: opts.headers ?? {}, auth: opts.auth, agent: this.agent };
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const base = await this.options();
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string | number> = {
      ...(base.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
      ...(payload ? { 'Content-Type': options.contentType ?? CONTENT.json, 'Content-Length': payload.length } : {}),
    };
    const started = process.hrtime.bigint();
    const verb = verbOf(method, path, options.query);
    const resource = resourceOf(path);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(
        url,
        { method, headers, agent: base.agent, ...(base.auth ? { auth: base.auth } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const code = res.statusCode ?? 0;
            this.onRequest({ verb, resource, code, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = undefined;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = text;
            }
            if (code >= 200 && code < 300) {
              resolve(body as T);
              return;
            }
            const status = (body ?? {}) as { message?: string; reason?: string };
            reject(
              new ApiError(
                code,
                status.reason ?? '',
                `${method} ${url.pathname}: HTTP ${code}${status.message ? `: ${status.message}` : ''}`,
              ),
            );
          });
        },
      );
      req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on('error', (err) => {
        this.onRequest({ verb, resource, code: 0, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
        reject(err);
      });
      if (payload) req.write(payload);
      req.end();
    });
  }

  /**
   * A streaming GET (a watch): each non-empty line goes to `onLine`; `onEnd` is called once, when the
   * server ends the stream (no arguments), the connection fails (the error) or the server refuses
   * (the error and its HTTP status). Resolves once the response began, to a function that aborts it
   * (after which `onEnd` is not called). Not reported to `onRequest`: the informers count watches.
   */
  async stream(
    path: string,
    query: RequestOptions['query'],
    onLine: (line: string) => void,
    onEnd: (err?: Error, status?: number) => void,
  ): Promise<() => void> {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const base = await this.options();
    const headers = {
      ...(base.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<() => void>((resolve, reject) => {
      let ended = false;
      let started = false;
      const end = (err?: Error, status?: number) => {
        if (ended) return;
        ended = true;
        onEnd(err, status);
      };
      const req = transport.request(
        url,
        { method: 'GET', headers, agent: base.agent, ...(base.auth ? { auth: base.auth } : {}) },
        (res) => {
          started = true;
          const abort = () => {
            ended = true;
            req.destroy();
          };
          const code = res.statusCode ?? 0;
          if (code !== 200) {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => {
              resolve(abort);
              end(new ApiError(code, '', `GET ${url.pathname} (watch): HTTP ${code}: ${body.slice(0, 300)}`), code);
            });
            return;
          }
          resolve(abort);
          res.setEncoding('utf8');
          let buffer = '';
          res.on('data', (chunk: string) => {
            buffer += chunk;
            let i: number;
            while ((i = buffer.indexOf('\n')) >= 0) {
              const line = buffer.slice(0, i).trim();
              buffer = buffer.slice(i + 1);
              if (line && !ended) onLine(line);
            }
          });
          res.on('end', () => end());
          res.on('error', (err) => end(err));
          res.on('close', () => end(res.complete ? undefined : new Error(`watch ${url.pathname}: connection closed`)));
        },
      );
      req.on('error', (err) => {
        if (!started) reject(err);
        else end(err);
      });
      req.end();
    });
  }

  /** Every item of a list, page by page, and the list's resourceVersion. */
  async listAll<T>(
    path: string,
    query: Record<string, string | undefined> = {},
  ): Promise<{ items: T[]; metadata: { resourceVersion?: string } }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string; continue?: string } }>(
        'GET',
        path,
        { query: { ...query, limit: 500, continue: cont } },
      );
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: { resourceVersion } };
  }

  close(): void {
    this.agent?.destroy();
  }
}
