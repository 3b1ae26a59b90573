import * as path from 'node:path';
import { REPO_ROOT } from '@webrana/registry';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { byRank } = require('../jest-sequencer.js') as {
  byRank(tests: { path: string }[], read?: (file: string) => string): { path: string }[];
};

const sources: Record<string, string> = {
  'unit.test.ts': "test('x', () => {});",
  'shared-a.k8s.test.ts': "const lab = useRealNode('a');",
  'stop.k8s.test.ts': "const lab = useRealNode('stop', { exclusive: true });",
  'helm-render.test.ts': "const out = template('charts/webrana-service');",
  'shared-b.k8s.test.ts': "const lab = useRealNode('b', {});",
  'operator.k8s.test.ts': "const env = useOperatorEnv('operator');",
  'longest.k8s.test.ts': "// jest-sequencer: start first\nconst lab = useRealNode('longest');",
};
const order = (names: string[]) =>
  byRank(
    names.map((name) => ({ path: name })),
    (file) => sources[file]!,
  ).map((t) => t.path);

test('the file marked to start first runs first, then real-node files, those that need the node alone last, the rest in the order given', () => {
  expect(order(Object.keys(sources))).toEqual([
    'longest.k8s.test.ts',
    'shared-a.k8s.test.ts',
    'shared-b.k8s.test.ts',
    'operator.k8s.test.ts',
    'unit.test.ts',
    'helm-render.test.ts',
    'stop.k8s.test.ts',
  ]);
});

test("the repository's skaffold test starts first and its real-node stop test is the one file that needs the node alone", () => {
  const files = [
    'packages/kube-lab/test/real-node-stop.k8s.test.ts',
    'packages/kube-lab/test/real-node.k8s.test.ts',
    'scripts/test/skaffold.k8s.test.ts',
  ].map((f) => ({ path: path.join(REPO_ROOT, f) }));
  expect(byRank(files).map((t) => path.relative(REPO_ROOT, t.path))).toEqual([
    'scripts/test/skaffold.k8s.test.ts',
    'packages/kube-lab/test/real-node.k8s.test.ts',
    'packages/kube-lab/test/real-node-stop.k8s.test.ts',
  ]);
});
