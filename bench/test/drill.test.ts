import * as fs from 'node:fs';
import { benchDrill } from '../drill';
import { render } from '../report';
import { useBenchResultsDir } from './results-dir';

// The drill benchmark at a tiny scale, end to end, so it cannot rot; the figures mean nothing here.
const resultFile = useBenchResultsDir();

test('the drill benchmark on 200 orders times a backup and a passing drill of its dump per round and records drill.json', async () => {
  const result = await benchDrill(200, 1);
  const [round] = result.rounds;
  expect(round!.backupSeconds).toBeGreaterThan(0);
  expect(round!.drillSeconds).toBeGreaterThan(0);
  expect(result.ratio.perRound).toEqual([round!.drillSeconds / round!.backupSeconds]);
  expect(result.rowsChecked).toBeGreaterThan(200);
  expect(JSON.parse(fs.readFileSync(resultFile('drill'), 'utf8'))).toEqual(result);
  // The report's section states the median of the per-round ratios and the rounds.
  const report = render();
  expect(report).toContain("## Restore drill vs the backup job's own time");
  const ratio = `${result.ratio.median.toFixed(2)}x`;
  expect(report).toContain(`- Drill / backup: **${ratio}** (median of the per-round ratios ${ratio})`);
}, 300_000);
