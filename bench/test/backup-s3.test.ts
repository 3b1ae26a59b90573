import * as fs from 'node:fs';
import { benchBackupS3 } from '../backup-s3';
import { useBenchResultsDir } from './results-dir';

// The bucket benchmark at a tiny scale, end to end, so it cannot rot; the figures mean nothing here.
const resultFile = useBenchResultsDir();

test('the bucket backup benchmark on 200 orders times the job to a volume and to versitygw, measures the upload and peak RSS, and records backup-s3.json', async () => {
  const result = await benchBackupS3(200, 1);
  const [round] = result.rounds;
  expect(round!.volume.seconds).toBeGreaterThan(0);
  expect(round!.bucket.seconds).toBeGreaterThan(0);
  expect(round!.bucket.peakRssMB).toBeGreaterThan(10);
  expect(round!.uploadMBps).toBeGreaterThan(0);
  expect(JSON.parse(fs.readFileSync(resultFile('backup-s3'), 'utf8'))).toEqual(result);
}, 600_000);
