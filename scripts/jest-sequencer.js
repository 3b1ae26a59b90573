// Orders the test files: those on the real node first (the slowest; they share one node, each in its
// own namespace, and their waits overlap with the other files), the ones that need the node alone
// (`useRealNode(..., { exclusive: true })`, e.g. its stop test) last; otherwise jest's own order.
const fs = require('node:fs');
const Sequencer = require('@jest/test-sequencer').default;

/** 0: shares the real node, 1: no real node, 2: needs the real node alone. */
function rank(source) {
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
