import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Jest: a temporary BENCH_RESULTS_DIR for the file's tests (removed after them), so benchmarks run by
 * tests never write over bench/results. Returns where a result `name` lands.
 */
export function useBenchResultsDir(): (name: string) => string {
  let dir = '';
  const before = process.env.BENCH_RESULTS_DIR;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-test-'));
    process.env.BENCH_RESULTS_DIR = dir;
  });
  afterAll(() => {
    if (before === undefined) delete process.env.BENCH_RESULTS_DIR;
    else process.env.BENCH_RESULTS_DIR = before;
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return (name) => path.join(dir, `${name}.json`);
}
