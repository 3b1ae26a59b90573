import * as fs from 'node:fs';
import { benchBackup } from '../backup';
import { benchMigrations } from '../migrations';
import { render } from '../report';
import { useBenchResultsDir } from './results-dir';

// The cheap benchmarks at a tiny scale, end to end (the code `npm run bench` runs), so they cannot rot.
// The figures mean nothing here; what is checked is that each runs and records what the report reads.
const resultFile = useBenchResultsDir();

const written = (name: string): unknown => JSON.parse(fs.readFileSync(resultFile(name), 'utf8'));

test('the migrations benchmark at one round migrates four databases with the runner and with psql, seeds twice, and records migrations.json for the report', async () => {
  const result = await benchMigrations(1);
  expect(result.rounds).toBe(1);
  expect(result.migrateAllFourSeconds.runner).toBeGreaterThan(0);
  expect(result.migrateAllFourSeconds.psqlOneTransactionPerFile).toBeGreaterThan(0);
  expect(result.seedSeconds.secondRunNoWrites).toBeGreaterThan(0);
  expect(result.loadAverageAtStart).toHaveLength(3);
  const m = result.migrateAllFourSeconds;
  expect(m.perRound).toHaveLength(1);
  expect(m.ratios.perRound).toEqual([m.perRound[0]!.runner / m.perRound[0]!.psqlOneTransactionPerFile]);
  expect(m.ratio).toBe(m.ratios.median);
  expect(written('migrations')).toEqual(result);
  const report = render();
  expect(report).toContain('## Migrations and seed');
  expect(report).toContain(`load average ${result.loadAverageAtStart.join(' ')} at its start`);
  expect(report).toContain('(median of the per-round ratios ');
}, 120_000);

test('the backup benchmark on 200 generated orders dumps with pg_dump and the backup job, restores with pg_restore and the restore job, and records backup.json for the report', async () => {
  const result = await benchBackup(200, 1);
  expect(result.backupJob.bytes).toBeGreaterThan(0);
  expect(result.plainPgDumpFc.bytes).toBeGreaterThan(0);
  const [restored] = result.restore.rounds;
  expect(restored!.pgRestoreJobs1).toBeGreaterThan(0);
  expect(restored!.jobJobs2).toBeGreaterThan(0);
  expect(restored!.jobJobs1).toBeGreaterThan(0);
  expect(restored!.directoryJobs2).toBeGreaterThan(0);
  expect(written('backup')).toEqual(result);
  expect(render()).toContain('## Backup and restore');
}, 120_000);
