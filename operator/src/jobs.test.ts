import { errorFromTerminationMessage, jobFailureMessage, jobOutcome } from './jobs';
import type { Job } from './k8s';

const failedJob: Job = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'j' },
  spec: { template: { spec: {} } },
  status: {
    conditions: [
      { type: 'FailureTarget', status: 'True' },
      {
        type: 'Failed',
        status: 'True',
        reason: 'BackoffLimitExceeded',
        message: 'Job has reached the specified backoff limit',
      },
    ],
  },
};

describe('Job outcomes and failure messages', () => {
  test('terminal conditions decide the outcome', () => {
    expect(jobOutcome(failedJob)).toBe('Failed');
    expect(jobOutcome({ ...failedJob, status: { active: 1 } })).toBe('Running');
    expect(jobOutcome({ ...failedJob, status: { conditions: [{ type: 'Complete', status: 'True' }] } })).toBe(
      'Succeeded',
    );
  });

  test("the CLI's closing `webrana-jobs: <error>` line is the message, with the lines after it", () => {
    const tail = [
      '{"level":30,"msg":"applying 20250101000000_init"}',
      '{"level":50,"msg":"migration failed"}',
      'webrana-jobs: migration 20250101000000_init failed: relation "plans" already exists',
      '  (SQLSTATE 42P07)',
    ].join('\n');
    expect(errorFromTerminationMessage(tail)).toBe(
      'migration 20250101000000_init failed: relation "plans" already exists (SQLSTATE 42P07)',
    );
  });

  test('without that line, the last error-level JSON log line, then the last line', () => {
    expect(
      errorFromTerminationMessage('{"level":30,"msg":"a"}\n{"level":50,"msg":"boom","err":{"message":"deep"}}\n'),
    ).toBe('deep');
    expect(errorFromTerminationMessage('some\nplain output\n')).toBe('plain output');
    expect(errorFromTerminationMessage('\n \n')).toBeUndefined();
  });

  test("the failure message puts the pod's error before the Job controller's reason, and survives missing pods", () => {
    const pod = {
      metadata: { name: 'p' },
      status: {
        containerStatuses: [{ name: 'migrate', state: { terminated: { exitCode: 1, message: 'webrana-jobs: boom' } } }],
      },
    };
    expect(jobFailureMessage(failedJob, [pod])).toBe(
      'boom (BackoffLimitExceeded: Job has reached the specified backoff limit)',
    );
    expect(jobFailureMessage(failedJob, [])).toBe('BackoffLimitExceeded: Job has reached the specified backoff limit');
    expect(jobFailureMessage(failedJob, [pod]).length).toBeLessThanOrEqual(1024);
  });
});
