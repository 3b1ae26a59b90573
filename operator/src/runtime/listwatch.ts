import type { KubeClient } from './client';

/**
 * A list-then-watch cache of one resource (what client-node's ListWatch does, without loading
 * client-node): list, then watch from the list's resourceVersion; a watch the server closes is
 * resumed from the last resourceVersion seen (bookmarks keep it fresh); 410 Gone lists again. Any
 * other failure emits 'error' and stops: informers.ts restarts it after a backoff. Every object
 * passes through `transform` before it is stored, so the cache keeps only what the operator reads.
 */

interface Obj {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

type Verb = 'add' | 'update' | 'delete';
type Listener<T> = (obj: T) => void;

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Obj & { code?: number; message?: string };
}

const key = (o: Obj) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class ListWatchCache<T extends Obj> {
  private store = new Map<string, T>();
  private readonly listeners: Record<Verb, Listener<T>[]> & {
    connect: (() => void)[];
    error: ((e: unknown) => void)[];
  } = { add: [], update: [], delete: [], connect: [], error: [] };
  private resourceVersion: string | undefined;
  private abort: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly path: string,
    private readonly labelSelector: string | undefined,
    private readonly transform: (obj: unknown) => unknown,
  ) {}

  on(event: Verb, fn: Listener<T>): void;
  on(event: 'connect', fn: () => void): void;
  on(event: 'error', fn: (err: unknown) => void): void;
  on(event: string, fn: (x: never) => void): void {
    (this.listeners as unknown as Record<string, ((x: never) => void)[]>)[event]!.push(fn);
  }

  off(event: 'error', fn: (err: unknown) => void): void {
    this.listeners.error = this.listeners.error.filter((f) => f !== fn);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.store.get(`${namespace ?? ''}/${name}`);
  }

  /** Lists, then starts watching; resolves once the list is in the cache (or 'error' was emitted). */
  async start(): Promise<void> {
    this.stopped = false;
    try {
      await this.relist();
      await this.watch();
    } catch (err) {
      this.fail(err);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.();
    this.abort = undefined;
  }

  private fail(err: unknown): void {
    this.abort?.();
    this.abort = undefined;
    if (this.stopped) return;
    this.stopped = true;
    for (const f of this.listeners.error) f(err);
  }

  private emit(verb: Verb, obj: T): void {
    for (const f of this.listeners[verb]) f(obj);
  }

  private async relist(): Promise<void> {
    const list = await this.client.listAll<unknown>(
      this.path,
      this.labelSelector ? { labelSelector: this.labelSelector } : {},
    );
    const next = new Map<string, T>();
    for (const item of list.items) {
      const obj = this.transform(item) as T;
      next.set(key(obj), obj);
    }
    const previous = this.store;
    this.store = next;
    this.resourceVersion = list.metadata.resourceVersion;
    for (const [k, obj] of next) {
      const old = previous.get(k);
      if (!old) this.emit('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit('update', obj);
    }
    for (const [k, old] of previous) if (!next.has(k)) this.emit('delete', old);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const query: Record<string, string | number | boolean | undefined> = {
      watch: true,
      allowWatchBookmarks: true,
      resourceVersion: this.resourceVersion,
      labelSelector: this.labelSelector,
      // The apiserver ends a watch after this long; it is then resumed from the last resourceVersion.
      timeoutSeconds: 300 + Math.floor(Math.random() * 300),
    };
    this.abort = await this.client.stream(
      this.path,
      query,
      (line) => this.onLine(line),
      (err, status) => {
        this.abort = undefined;
        if (this.stopped) return;
        if (status === 410) void this.restart();
        else if (err) this.fail(err);
        else void this.watch().catch((e: unknown) => this.fail(e));
      },
    );
    for (const f of this.listeners.connect) f();
  }

  private async restart(): Promise<void> {
    this.abort?.();
    this.abort = undefined;
    try {
      await this.relist();
      await this.watch();
    } catch (err) {
      this.fail(err);
    }
  }

  private onLine(line: string): void {
    if (this.stopped) return;
    let event: WatchEvent;
    try {
      event = JSON.parse(line) as WatchEvent;
    } catch {
      this.fail(new Error(`watch ${this.path}: not JSON: ${line.slice(0, 200)}`));
      return;
    }
    const raw = event.object;
    if (event.type === 'ERROR') {
      if (raw?.code === 410) void this.restart();
      else this.fail(new Error(`watch ${this.path}: ${raw?.code ?? '?'} ${raw?.message ?? ''}`));
      return;
    }
    if (raw?.metadata?.resourceVersion) this.resourceVersion = raw.metadata.resourceVersion;
    if (event.type === 'BOOKMARK') return;
    const obj = this.transform(raw) as T;
    const k = key(obj);
    if (event.type === 'DELETED') {
      this.store.delete(k);
      this.emit('delete', obj);
      return;
    }
    const existed = this.store.has(k);
    this.store.set(k, obj);
    this.emit(existed ? 'update' : 'add', obj);
  }
}
