import type { Logger } from '@webrana/logger';
import { decide, nextLeaseSpec, observe, releasedLeaseSpec, type LeaseSpec, type Observation } from './lease';
import { isStatus, type KubeClient } from './client';
import { paths } from './writer';

/**
 * Leader election on a Lease (see lease.ts for the rules). The candidate polls the Lease every
 * `retryPeriodMs` until it can take it; the leader renews every `renewPeriodMs`, and if it cannot
 * renew within `renewDeadlineMs` it calls `onLost` (the process then exits, as client-go's
 * controllers do, so it never acts on a stale belief). `release` hands the Lease over at shutdown.
 */

interface LeaderOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationSeconds: number;
  readonly renewPeriodMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  readonly log: Logger;
  readonly onStarted: () => void;
  readonly onLost: () => void;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export class LeaderElector {
  private observation: Observation | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  /** The Lease as last written by this process, so a renewal needs no read first. */
  private lastLease: Lease | undefined;

  constructor(private readonly opts: LeaderOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const { log } = this.opts;
    try {
      const ok = await this.tryAcquireOrRenew();
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          log.info(
            { lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity },
            'became leader',
          );
          this.opts.onStarted();
        }
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'leader election request failed');
    }
    if (this.leading && Date.now() - this.lastRenew > this.opts.renewDeadlineMs) {
      this.leading = false;
      log.error({ lease: this.opts.name }, 'leadership lost: the Lease could not be renewed in time');
      this.opts.onLost();
      return;
    }
    this.schedule(this.leading ? this.opts.renewPeriodMs : this.opts.retryPeriodMs);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, leaseDurationSeconds } = this.opts;
    if (this.leading && this.lastLease) {
      // Renew from what this process wrote last; a conflict means someone else wrote: read and decide.
      try {
        const renewed = nextLeaseSpec(this.lastLease.spec, 'renew', identity, leaseDurationSeconds, new Date());
        this.lastLease = await client.request<Lease>('PUT', paths.lease(namespace, name), {
          body: { ...this.lastLease, spec: renewed },
        });
        return true;
      } catch (err) {
        this.lastLease = undefined;
        if (!isStatus(err, 409)) throw err;
      }
    }
    let lease: Lease | undefined;
    try {
      lease = await client.request<Lease>('GET', paths.lease(namespace, name));
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    const now = Date.now();
    if (!lease) {
      try {
        this.lastLease = await client.request<Lease>('POST', paths.lease(namespace), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: nextLeaseSpec(undefined, 'acquire', identity, leaseDurationSeconds, new Date(now)),
          },
        });
        return true;
      } catch (err) {
        if (isStatus(err, 409)) return false;
        throw err;
      }
    }
    this.observation = observe(this.observation, lease.spec, now);
    const decision = decide(lease.spec, this.observation, identity, now, leaseDurationSeconds);
    if (decision === 'wait') return false;
    const spec = nextLeaseSpec(lease.spec, decision, identity, leaseDurationSeconds, new Date(now));
    try {
      const updated = await client.request<Lease>('PUT', paths.lease(namespace, name), {
        body: { ...lease, spec },
      });
      this.observation = observe(undefined, updated.spec, Date.now());
      this.lastLease = updated;
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote first
      throw err;
    }
  }

  /** Stop campaigning; when leading, hand the Lease over so a standby takes it at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.opts.client.request<Lease>('GET', paths.lease(this.opts.namespace, this.opts.name));
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      await this.opts.client.request('PUT', paths.lease(this.opts.namespace, this.opts.name), {
        body: { ...lease, spec: releasedLeaseSpec(lease.spec, new Date()) },
      });
      this.opts.log.info({ lease: this.opts.name }, 'leadership released');
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'could not release the Lease');
    }
  }
}
