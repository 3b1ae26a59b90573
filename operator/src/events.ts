import { API_VERSION, KIND, type WebranaDatabaseStatus } from './api/types';
import type { Owner } from './builders';
import { shortHash } from './names';
import { conditionOf } from './status';

/**
 * Events for what changed between the status the resource had and the one being written: a
 * service's migration started, succeeded, failed or was blocked; the resource became Ready or
 * InvalidSpec; a backup finished. Each has a key, and the Event's name is derived from it, so an
 * Event re-sent after a crash is refused as already existing instead of appearing twice.
 */
export interface OperatorEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
  /** Identifies the occurrence (reason + what it is about). */
  readonly key: string;
}

export function statusEvents(
  previous: WebranaDatabaseStatus | undefined,
  next: WebranaDatabaseStatus,
  started: readonly { service: string; job: string }[],
): OperatorEvent[] {
  const events: OperatorEvent[] = [];
  const gen = next.observedGeneration ?? 0;
  const prevServices = new Map((previous?.services ?? []).map((s) => [s.name, s]));

  for (const s of started) {
    events.push({
      type: 'Normal',
      reason: 'MigrationStarted',
      message: `${s.service}: started migration Job ${s.job} (generation ${gen})`,
      key: `MigrationStarted/${s.job}`,
    });
  }
  for (const s of next.services ?? []) {
    const prev = prevServices.get(s.name);
    const changed = prev?.phase !== s.phase || prev?.job !== s.job;
    if (changed && s.phase === 'Succeeded') {
      events.push({
        type: 'Normal',
        reason: 'MigrationSucceeded',
        message: `${s.name}: migration Job ${s.job} succeeded`,
        key: `MigrationSucceeded/${s.job}`,
      });
    } else if (changed && s.phase === 'Failed') {
      events.push({
        type: 'Warning',
        reason: 'MigrationFailed',
        message: `${s.name}: migration Job ${s.job} failed: ${s.message ?? ''}`,
        key: `MigrationFailed/${s.job}`,
      });
    } else if (changed && s.phase === 'Blocked') {
      events.push({
        type: 'Warning',
        reason: 'MigrationBlocked',
        message: `${s.name}: ${s.message ?? 'a dependency failed'}`,
        key: `MigrationBlocked/${s.job}`,
      });
    }
    const b = s.backup;
    const pb = prev?.backup;
    if (b?.lastJob && (b.lastResult === 'Succeeded' || b.lastResult === 'Failed')) {
      if (pb?.lastJob !== b.lastJob || pb?.lastResult !== b.lastResult) {
        events.push({
          type: b.lastResult === 'Succeeded' ? 'Normal' : 'Warning',
          reason: b.lastResult === 'Succeeded' ? 'BackupSucceeded' : 'BackupFailed',
          message:
            b.lastResult === 'Succeeded'
              ? `${s.name}: backup Job ${b.lastJob} succeeded`
              : `${s.name}: backup Job ${b.lastJob} failed${b.lastMessage ? `: ${b.lastMessage}` : ''}`,
          key: `Backup${b.lastResult}/${b.lastJob}`,
        });
      }
    }
  }

  const became = (type: string): boolean =>
    conditionOf(next, type)?.status === 'True' && conditionOf(previous, type)?.status !== 'True';
  if (became('Ready')) {
    events.push({
      type: 'Normal',
      reason: 'Ready',
      message: conditionOf(next, 'Ready')?.message ?? 'ready',
      key: `Ready/${gen}`,
    });
  }
  if (became('InvalidSpec')) {
    events.push({
      type: 'Warning',
      reason: 'InvalidSpec',
      message: conditionOf(next, 'InvalidSpec')?.message ?? 'invalid spec',
      key: `InvalidSpec/${gen}`,
    });
  }
  return events;
}

/** A core/v1 Event about the resource. */
export function eventObject(
  owner: Owner,
  event: OperatorEvent,
  now: string,
  instance: string,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${owner.name}.${shortHash(`${owner.uid}/${event.key}`, 16)}`,
      namespace: owner.namespace,
    },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: KIND,
      name: owner.name,
      namespace: owner.namespace,
      uid: owner.uid,
    },
    type: event.type,
    reason: event.reason,
    message: event.message.slice(0, 1024),
    firstTimestamp: now,
    lastTimestamp: now,
    count: 1,
    source: { component: 'webrana-operator' },
    reportingComponent: 'webrana.cloud/operator',
    reportingInstance: instance,
  };
}
