import { drillTerminationMessage, withoutUrls } from './backup-verify';

const BASE = {
  service: 'order-service',
  startedAt: '2026-11-30T03:00:00.000Z',
  finishedAt: '2026-11-30T03:01:00.000Z',
};

test('the termination message of a drill that could not run carries the error without any URL', () => {
  const text = drillTerminationMessage({
    ...BASE,
    passed: false,
    error: 'cannot connect to postgresql://drill:***@10.0.0.5:5432/orders: connect ECONNREFUSED',
  });
  expect(JSON.parse(text)).toEqual({ ...BASE, passed: false, error: 'cannot connect to <url> connect ECONNREFUSED' });
  expect(withoutUrls('see s3://bucket/key and https://x.example/a')).toBe('see <url> and <url>');
});

test('a drill with very many problems still fits the kubelet limit of 4096 bytes, as valid JSON saying how many were left out', () => {
  const problems = Array.from({ length: 200 }, (_, i) => `table public.t${i} has 1 rows, the manifest says 2`);
  const text = drillTerminationMessage({
    ...BASE,
    file: 'order-service-20261130T020000Z.tar.zst',
    dumpCreatedAt: '2026-11-30T02:00:00.000Z',
    passed: false,
    recorded: true,
    migrationHead: '20261125000100_rules',
    tables: 200,
    rows: 400,
    problems,
    durationSeconds: 60,
  });
  expect(Buffer.byteLength(text)).toBeLessThanOrEqual(4096);
  const parsed = JSON.parse(text);
  expect(parsed.problems[0]).toBe(problems[0]);
  expect(parsed.problems.at(-1)).toMatch(/^\.\.\. and \d+ more$/);
});
