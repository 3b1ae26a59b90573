import type { LocalMigration } from './local';
import { migrationPhase, phaseBlockers, selectForPhase } from './phase';

const POST = '-- webrana:phase post-deploy\nALTER TABLE "t" DROP COLUMN "c";\n';
const PRE = 'ALTER TABLE "t" ADD COLUMN "c" TEXT;\n';
const m = (name: string, sql: string): LocalMigration => ({ name, file: `${name}/migration.sql`, sql, checksum: '' });

test('a migration is pre-deploy unless the comment lines at its top say -- webrana:phase post-deploy', () => {
  expect(migrationPhase(PRE)).toEqual({ phase: 'pre-deploy' });
  expect(migrationPhase(POST)).toEqual({ phase: 'post-deploy' });
  expect(migrationPhase(`-- why\n\n--   webrana:phase   post-deploy\n-- more\n${PRE}`)).toEqual({
    phase: 'post-deploy',
  });
  expect(migrationPhase(`-- webrana:phase pre-deploy\n${PRE}`)).toEqual({ phase: 'pre-deploy' });
});

test('a phase directive below the first statement or with an unknown value is an error naming its line', () => {
  expect(migrationPhase(`${PRE}-- webrana:phase post-deploy\n`).error).toBe(
    '-- webrana:phase at line 2 comes after the first statement: put it in the comment lines at the top of the file',
  );
  expect(migrationPhase(`\n-- webrana:phase later\n${PRE}`).error).toBe(
    '-- webrana:phase later at line 2: use pre-deploy or post-deploy',
  );
});

test('pre-deploy takes the pending migrations before the first post-deploy one; post-deploy and all take every one', () => {
  const pending = [m('1_a', PRE), m('2_b', POST), m('3_c', POST)];
  expect(selectForPhase(pending, 'pre-deploy')).toEqual({
    apply: [pending[0]],
    waiting: [pending[1], pending[2]],
    outOfOrder: [],
  });
  expect(phaseBlockers(selectForPhase(pending, 'pre-deploy'))).toEqual([]);
  for (const phase of ['post-deploy', 'all'] as const)
    expect(selectForPhase(pending, phase)).toEqual({ apply: pending, waiting: [], outOfOrder: [] });
});

test('a pre-deploy migration after a pending post-deploy one blocks a pre-deploy run, naming both', () => {
  const pending = [m('1_a', PRE), m('2_b', POST), m('3_c', PRE)];
  const plan = selectForPhase(pending, 'pre-deploy');
  expect(plan.outOfOrder).toEqual([pending[2]]);
  const [blocker] = phaseBlockers(plan);
  expect(blocker).toContain('pre-deploy migration 3_c must run before the rollout');
  expect(blocker).toContain('post-deploy migration 2_b');
});
