// The backup job to an S3-compatible bucket (versitygw on loopback, see jobs/test/s3-server.ts) against
// the same job to a volume, on one generated database: time ratio, upload throughput, and peak RSS of
// the job (it must stream: well under the dump's size). Writes bench/results/backup-s3.json.
import { generate } from '@webrana/datagen';
import { migratedTestDatabase, withClient } from '@webrana/testing';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ObjectStore, parseS3Url, s3Settings } from '../jobs/src/backup/s3';
import { startS3Server } from '../jobs/test/s3-server';
import {
  loadAverage,
  log,
  machine,
  median,
  parseOptions,
  REPO_ROOT,
  requireBuilt,
  runMain,
  writeResult,
} from './common';

const USAGE = `usage: node bench/dist/bench/backup-s3.js [--orders=N] [--rounds=N] [--smoke]

Generates an order database (default 360000 orders, about 550 MB), then in each round runs
webrana-jobs backup once to a volume (--dir) and once to a bucket only (--s3-url; versitygw on
127.0.0.1, same disk), first one alternating, under /usr/bin/time for the peak RSS; and uploads the
volume's dump once more through the job's own upload code for the throughput. Medians over rounds.
`;

/** Runs the backup CLI under GNU time; returns seconds and the largest resident set in its process tree. */
function timedJob(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMB: number }> {
  const cli = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'TIME %e %M', process.execPath, cli, ...args], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => {
      const m = /TIME ([\d.]+) (\d+)/.exec(stderr);
      if (code !== 0 || !m) return reject(new Error(`backup ${args.join(' ')}: exit ${code}: ${stderr}`));
      resolve({ seconds: Number(m[1]), peakRssMB: Number(m[2]) / 1024 });
    });
  });
}

export type BackupS3Result = Awaited<ReturnType<typeof benchBackupS3>>;

export async function benchBackupS3(orders: number, rounds: number) {
  requireBuilt('jobs/dist/cli.js');
  const say = log('bench/backup-s3');
  const loadAtStart = loadAverage();
  const s3 = await startS3Server();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-backup-s3-'));
  const db = await migratedTestDatabase('order-service');
  try {
    await s3.createBucket('bench');
    const t0 = Date.now();
    await generate('order', db.url, orders);
    const dbBytes = await withClient(db.url, async (c) => {
      await c.query('CHECKPOINT');
      return Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b')).rows[0]!.b);
    });
    say(`generated ${orders} orders in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${(dbBytes / 1e6).toFixed(0)} MB`);
    const env = { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...s3.env() };
    const base = ['backup', '--service=order-service', `--database-url=${db.url}`];
    const volume = path.join(work, 'volume');
    const toVolume = () => {
      fs.rmSync(volume, { recursive: true, force: true });
      return timedJob([...base, `--dir=${volume}`], env);
    };
    const toBucket = (round: number) => timedJob([...base, `--s3-url=s3://bench/r${round}`], env);
    const results: {
      volume: { seconds: number; peakRssMB: number };
      bucket: { seconds: number; peakRssMB: number };
      uploadMBps: number;
    }[] = [];
    let dumpBytes = 0;
    for (let round = 0; round < rounds; round++) {
      const first = round % 2 === 0 ? 'volume' : 'bucket';
      const a = first === 'volume' ? await toVolume() : await toBucket(round);
      const b = first === 'volume' ? await toBucket(round) : await toVolume();
      const [v, bk] = first === 'volume' ? [a, b] : [b, a];
      const dump = fs.readdirSync(path.join(volume, 'order-service')).find((f) => f.endsWith('.tar.zst'))!;
      const file = path.join(volume, 'order-service', dump);
      dumpBytes = fs.statSync(file).size;
      const store = new ObjectStore(parseS3Url('s3://bench/upload'), s3Settings(s3.env()));
      const u0 = Date.now();
      await store.upload(`upload/${round}/${dump}`, fs.createReadStream(file));
      const uploadMBps = dumpBytes / 1e6 / ((Date.now() - u0) / 1000);
      store.destroy();
      results.push({ volume: v, bucket: bk, uploadMBps });
      say(
        `round ${round + 1}: volume ${v.seconds} s (${v.peakRssMB.toFixed(0)} MB RSS), bucket ${bk.seconds} s (${bk.peakRssMB.toFixed(0)} MB RSS), upload ${uploadMBps.toFixed(0)} MB/s`,
      );
    }
    const result = {
      machine: machine(),
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAverage(),
      orders,
      databaseMB: Math.round(dbBytes / 1e6),
      dumpMB: Math.round(dumpBytes / 1e6),
      store: 'versitygw v1.8.0 (posix backend) on 127.0.0.1, same disk',
      rounds: results,
      median: {
        volumeSeconds: median(results.map((r) => r.volume.seconds)),
        bucketSeconds: median(results.map((r) => r.bucket.seconds)),
        bucketOverVolume: median(results.map((r) => r.bucket.seconds / r.volume.seconds)),
        uploadMBps: Math.round(median(results.map((r) => r.uploadMBps))),
        bucketPeakRssMB: Math.round(median(results.map((r) => r.bucket.peakRssMB))),
        volumePeakRssMB: Math.round(median(results.map((r) => r.volume.peakRssMB))),
      },
    };
    writeResult('backup-s3', result);
    return result;
  } finally {
    await db.drop().catch(() => undefined);
    await s3.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runMain(
    'bench/backup-s3',
    () => parseOptions(process.argv.slice(2), USAGE, { orders: 360_000, rounds: 3 }, { orders: 200, rounds: 1 }),
    async (opts) => {
      console.log(JSON.stringify(await benchBackupS3(opts.orders, opts.rounds), null, 2));
    },
  );
}
