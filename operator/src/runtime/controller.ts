import type { Logger } from '@webrana/logger';
import { WorkQueue } from './queue';
import type { OperatorMetrics } from './metrics';
import type { Reconciler } from '../reconcile';

/**
 * Workers draining the work queue into reconcile(key): at most `workers` reconciles at once, never
 * two of the same key (the queue guarantees it), failures re-queued with per-key exponential
 * backoff, successes forgetting the key's failure count. No client-node here: unit-testable.
 */
interface ControllerOptions {
  readonly queue: WorkQueue;
  readonly reconciler: Pick<Reconciler, 'reconcile'>;
  readonly workers: number;
  readonly log: Logger;
  readonly metrics?: OperatorMetrics;
}

export class Controller {
  private running: Promise<void>[] = [];
  private readonly active = new Set<string>();

  constructor(private readonly opts: ControllerOptions) {}

  start(): void {
    for (let i = 0; i < this.opts.workers; i++) this.running.push(this.worker());
  }

  private async worker(): Promise<void> {
    const { queue, reconciler, log, metrics } = this.opts;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      if (queue.isShuttingDown) {
        queue.done(key);
        return;
      }
      this.active.add(key);
      const end = metrics?.reconcileDuration.startTimer();
      try {
        const result = await reconciler.reconcile(key);
        if (result.conflict) {
          // The resource moved on since the cache read it: look again, with backoff, from fresh state.
          queue.addRateLimited(key);
          metrics?.statusWrites.inc({ result: 'conflict' });
        } else {
          queue.forget(key);
          if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
          metrics?.statusWrites.inc({ result: result.statusWritten ? 'written' : 'unchanged' });
        }
        metrics?.reconciles.inc({ result: 'success' });
        if (result.actions.length > 0) log.debug({ database: key, actions: result.actions }, 'reconciled');
      } catch (err) {
        const delay = queue.addRateLimited(key);
        metrics?.reconciles.inc({ result: 'error' });
        metrics?.reconcileErrors.inc();
        log.warn({ database: key, err: (err as Error).message, retryInMs: delay }, 'reconcile failed; will retry');
      } finally {
        end?.();
        this.active.delete(key);
        queue.done(key);
      }
    }
  }

  /** Stops handing out keys and waits (up to timeoutMs) for the reconciles in progress. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.opts.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const finished = Promise.all(this.running).then(() => true);
    const ok = await Promise.race([finished, timeout]);
    if (timer) clearTimeout(timer);
    return ok;
  }

  get inProgress(): readonly string[] {
    return [...this.active];
  }
}
