/**
 * Whether the process is on its way out. Shared by the app (readiness answers "not ready" from the
 * first moment of a shutdown) and the server helper that starts the shutdown.
 */
export interface Lifecycle {
  readonly shuttingDown: boolean;
  beginShutdown(): void;
}

export function createLifecycle(): Lifecycle {
  let shuttingDown = false;
  return {
    get shuttingDown() {
      return shuttingDown;
    },
    beginShutdown() {
      shuttingDown = true;
    },
  };
}

/** How long, at most, open keep-alive connections are served as usual after a shutdown begins. */
export const DEFAULT_DRAIN_MS = 1000;

/**
 * The drain period of a shutdown: `wanted` (SHUTDOWN_DRAIN_MS, default 1 s), but never more than half
 * the shutdown timeout, so the requests that arrive in it still have time to finish before the deadline.
 */
export function drainPeriodMs(shutdownTimeoutMs: number, wanted: number = DEFAULT_DRAIN_MS): number {
  return Math.max(0, Math.min(wanted, Math.floor(shutdownTimeoutMs / 2)));
}

/**
 * Closing an idle keep-alive connection races a request its client may be sending right now. A client
 * with more to send sends it within a moment of its previous answer (and then gets `Connection: close`),
 * so a connection idle this long during a shutdown is taken as done.
 */
export const IDLE_GRACE_MS = 250;

/** What a shutdown knows about one open connection. */
export interface ConnectionState {
  /** Requests being answered on it. */
  active: number;
  /** When its last answer ended (or it was opened), in performance.now() ms. */
  idleSince: number;
  /** Bytes read from it by then: more since means a request is arriving. */
  bytesReadWhenIdle: number;
}

/** Whether a shutdown may close a connection now: nothing in flight, nothing arriving, idle long enough. */
export function mayCloseConnection(
  state: ConnectionState,
  bytesRead: number,
  now: number,
  graceMs: number = IDLE_GRACE_MS,
): boolean {
  return state.active === 0 && bytesRead === state.bytesReadWhenIdle && now - state.idleSince >= graceMs;
}
