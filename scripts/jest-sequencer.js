// Orders the test files: the one marked to start first, then those on the real node (the slowest; they
// share one node, each in its own namespace, and their waits overlap with the other files), the ones that
// need the node alone (`useRealNode(..., { exclusive: true })`, e.g. its stop test) last; otherwise
// jest's own order.
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

/**
 * -1: marked `// jest-sequencer: start first` (the longest file: on a clean clone jest has no timings and
 * orders by size, which started it last and made it the run's tail), 0: shares the real node, 1: no real
 * node, 2: needs the real node alone.
 */
function rank(source) {
  if (/^\/\/ jest-sequencer: start first$/m.test(source)) return -1;
  // useOperatorEnv: operator/test/harness.ts, on the real node.
  if (!/\buse(RealNode|OperatorEnv)\(/.test(source)) return 1;
  return /\buseRealNode\([^)]*exclusive:\s*true/.test(source) ? 2 : 0;
}

/** `tests` (each with a path) by rank, keeping the given order within a rank. */
function byRank(tests, read = (file) => fs.readFileSync(file, 'utf8')) {
  const ranked = tests.map((test) => ({ test, rank: rank(read(test.path)) }));
  return ranked.sort((a, b) => a.rank - b.rank).map(({ test }) => test);
}

class RealNodeFirstSequencer extends Sequencer {
  sort(tests) {
    return byRank(super.sort(tests));
  }
}
module.exports = RealNodeFirstSequencer;
module.exports.byRank = byRank;
