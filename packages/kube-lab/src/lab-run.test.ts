import { run } from './lab';

test('run of a command that exits without reading its input resolves with its exit code instead of failing with EPIPE', async () => {
  // 4 MiB cannot fit in a pipe's buffer: the write fails once `sh` has exited.
  const r = await run('sh', ['-c', 'exit 3'], { input: 'x'.repeat(4 << 20) });
  expect(r.code).toBe(3);
});

test('run passes the working directory to the command', async () => {
  expect((await run('pwd', [], { cwd: '/tmp' })).stdout.trim()).toBe('/tmp');
});
