import type { WebranaDatabaseStatus } from './api/types';
import { eventObject, statusEvents } from './events';

const cond = (type: string, status: 'True' | 'False', message = '') => ({
  type,
  status,
  observedGeneration: 1,
  lastTransitionTime: 'T',
  reason: 'R',
  message,
});

describe('events', () => {
  test('one Event per transition, none when nothing changed', () => {
    const before: WebranaDatabaseStatus = {
      observedGeneration: 1,
      services: [{ name: 'auth-service', phase: 'Running', job: 'j-auth' }],
      conditions: [cond('Ready', 'False')],
    };
    const after: WebranaDatabaseStatus = {
      observedGeneration: 1,
      services: [
        { name: 'auth-service', phase: 'Succeeded', job: 'j-auth' },
        { name: 'catalog-service', phase: 'Failed', job: 'j-cat', message: 'boom' },
      ],
      conditions: [cond('Ready', 'True', 'all migrated')],
    };
    expect(
      statusEvents(before, after, [{ service: 'order-service', job: 'j-order' }]).map((e) => [e.type, e.reason]),
    ).toEqual([
      ['Normal', 'MigrationStarted'],
      ['Normal', 'MigrationSucceeded'],
      ['Warning', 'MigrationFailed'],
      ['Normal', 'Ready'],
    ]);
    expect(statusEvents(after, after, [])).toEqual([]);
  });

  test("an Event's name is derived from what it is about, so re-sending it after a crash is a no-op", () => {
    const owner = { name: 'webrana', namespace: 'ns', uid: 'u1' };
    const e = { type: 'Normal' as const, reason: 'MigrationStarted', message: 'm', key: 'MigrationStarted/j' };
    const a = eventObject(owner, e, 'T1', 'pod-a');
    const b = eventObject(owner, e, 'T2', 'pod-b');
    expect((a.metadata as { name: string }).name).toBe((b.metadata as { name: string }).name);
    expect(a.involvedObject).toEqual({
      apiVersion: 'webrana.cloud/v1alpha1',
      kind: 'WebranaDatabase',
      name: 'webrana',
      namespace: 'ns',
      uid: 'u1',
    });
  });
});
