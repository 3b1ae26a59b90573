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
