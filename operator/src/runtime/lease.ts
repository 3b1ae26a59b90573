/**
 * Leader election on a coordination.k8s.io Lease, the decision part (client-go's rules): a
 * candidate may take the Lease when nobody holds it, or when its record has not changed for a full
 * lease duration as measured by the candidate's own clock since it last saw the record change (no
 * clock comparison between machines). The holder renews it. Writes are conditional on the
 * resourceVersion read, so two candidates never both win.
 */

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Observation {
  /** The record last read, serialized, to notice changes. */
  readonly record: string;
  /** Local time (ms) at which that record was first seen. */
  readonly since: number;
}

type LeaseDecision = 'renew' | 'acquire' | 'wait';

export function observe(prev: Observation | undefined, spec: LeaseSpec | undefined, now: number): Observation {
  const record = JSON.stringify(spec ?? null);
  return prev && prev.record === record ? prev : { record, since: now };
}

export function decide(
  spec: LeaseSpec | undefined,
  observation: Observation,
  identity: string,
  now: number,
  defaultDurationSeconds: number,
): LeaseDecision {
  const holder = spec?.holderIdentity ?? '';
  if (holder === identity) return 'renew';
  if (!holder) return 'acquire';
  const durationMs = (spec?.leaseDurationSeconds ?? defaultDurationSeconds) * 1000;
  return now - observation.since >= durationMs ? 'acquire' : 'wait';
}

/** RFC 3339 with microseconds: a Lease's times are MicroTime. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The Lease spec to write when acquiring or renewing. */
export function nextLeaseSpec(
  spec: LeaseSpec | undefined,
  decision: 'renew' | 'acquire',
  identity: string,
  durationSeconds: number,
  now: Date,
): LeaseSpec {
  const time = microTime(now);
  if (decision === 'renew' && spec) {
    return { ...spec, holderIdentity: identity, leaseDurationSeconds: durationSeconds, renewTime: time };
  }
  const changedHands = Boolean(spec?.holderIdentity) && spec?.holderIdentity !== identity;
  return {
    holderIdentity: identity,
    leaseDurationSeconds: durationSeconds,
    acquireTime: time,
    renewTime: time,
    leaseTransitions: (spec?.leaseTransitions ?? 0) + (changedHands ? 1 : 0),
  };
}

/** What a holder writes when it steps down: an expired, unheld Lease the standby takes at once. */
export function releasedLeaseSpec(spec: LeaseSpec | undefined, now: Date): LeaseSpec {
  return { ...(spec ?? {}), holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(now) };
}
