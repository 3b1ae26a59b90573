import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@webrana/registry';
import { freePort, migratedTestDatabase, serverUrl, type TestDatabase, withClient } from '@webrana/testing';

const run = promisify(execFile);
const STUDIO = path.join(REPO_ROOT, 'scripts', 'studio.js');
const JOBS_CLI = path.join(REPO_ROOT, 'jobs', 'dist', 'cli.js');
const ARTIFACT = path.join(REPO_ROOT, 'test-artifacts', 'studio-users.png');
const CHROMIUM = process.env.CHROMIUM ?? 'chromium';

/** Debian's chromium, headless, in a profile of its own that is thrown away afterwards. */
async function chromium(...args: string[]): Promise<string> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-chromium-'));
  try {
    const { stdout } = await run(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        `--user-data-dir=${profile}`,
        '--window-size=1400,800',
        '--hide-scrollbars',
        // Lets the single-page app fetch its rows before the DOM is dumped or the screenshot taken.
        '--virtual-time-budget=15000',
        ...args,
      ],
      { timeout: 45_000, maxBuffer: 32 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();

/** Studio's data grid as header cells and rows of cell texts. */
function grid(dom: string): { header: string[]; rows: string[][] } {
  const header = [...dom.matchAll(/<th\b[^>]*>([\s\S]*?)<\/th>/g)].map((m) => text(m[1]!));
  const rows = [...dom.matchAll(/<tr\b[^>]*>([\s\S]*?)<\/tr>/g)]
    .map((tr) => [...tr[1]!.matchAll(/<td\b[^>]*>([\s\S]*?)<\/td>/g)].map((td) => text(td[1]!)))
    .filter((cells) => cells.length > 0);
  return { header, rows };
}

/** Commands lines of every process on the machine (Linux /proc), to look for a leaked password. */
function allCommandLines(): string[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    });
}

let db: TestDatabase;
let role: string;
let password: string;
let studioUrl: string;
let studio: ChildProcess;
let output = '';
let seededEmails: string[];

beforeAll(async () => {
  const version = await run(CHROMIUM, ['--version']).catch(() => null);
  if (!version) throw new Error(`${CHROMIUM} not found: apt-get update && apt-get install -y chromium`);

  db = await migratedTestDatabase('auth-service');
  await run(process.execPath, [JOBS_CLI, 'seed', '--service=auth-service', `--database-url=${db.url}`], {
    env: { PATH: process.env.PATH, BCRYPT_COST: '4' },
  });
  seededEmails = await withClient(db.url, (c) =>
    c.query<{ email: string }>('SELECT email FROM users ORDER BY email').then((r) => r.rows.map((row) => row.email)),
  );

  // A role with a password found nowhere else, so any leak of it is unambiguous.
  role = `studio_${randomBytes(4).toString('hex')}`;
  password = `pw-${randomBytes(12).toString('hex')}`;
  await withClient(serverUrl(), (c) => c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`));
  await withClient(db.url, async (c) => {
    await c.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
  });
  const url = new URL(db.url);
  url.username = role;
  url.password = password;

  const port = await freePort();
  studioUrl = `http://127.0.0.1:${port}`;
  studio = spawn(process.execPath, [STUDIO, '--service=auth-service', `--port=${port}`], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AUTH_DATABASE_URL: url.toString() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  studio.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  studio.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const deadline = Date.now() + 45_000;
  for (;;) {
    if (studio.exitCode !== null) throw new Error(`studio exited with code ${studio.exitCode}:\n${output}`);
    const status = await fetch(`${studioUrl}/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`studio did not serve ${studioUrl} within 45 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}, 90_000);

afterAll(async () => {
  if (studio && studio.exitCode === null && studio.signalCode === null) {
    studio.kill('SIGTERM');
    await new Promise((resolve) => studio.once('exit', resolve));
  }
  await db?.drop();
  if (role) await withClient(serverUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${role}`));
});

test('studio for auth-service shows the seeded users in the users table view, in headless Chromium', async () => {
  expect(seededEmails).toContain('superadmin@webrana.cloud');
  const page = `${studioUrl}/#schema=public&table=users&view=table`;

  // Studio is a single-page app: wait (up to three loads) for the grid to have every seeded row.
  let shown = grid('');
  for (let attempt = 0; attempt < 3; attempt++) {
    shown = grid(await chromium('--dump-dom', page));
    if (shown.rows.length >= seededEmails.length) break;
  }
  const emailColumn = shown.header.findIndex((h) => h.split(' ')[0] === 'email');
  expect(emailColumn).toBeGreaterThan(-1);
  expect(shown.header.map((h) => h.split(' ')[0])).toEqual(expect.arrayContaining(['id', 'full_name', 'role']));
  expect(shown.rows.map((cells) => cells[emailColumn]).sort()).toEqual(seededEmails);

  fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
  fs.rmSync(ARTIFACT, { force: true });
  await chromium(`--screenshot=${ARTIFACT}`, page);
  const png = fs.readFileSync(ARTIFACT);
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1400, 800]); // IHDR width, height
}, 120_000);

test('the launcher never shows the database password: not in its output, not on any command line', () => {
  expect(output).toContain(`Prisma Studio for auth-service on postgresql://${role}:***@`);
  expect(output).toContain('(from AUTH_DATABASE_URL)');
  expect(output).not.toContain(password);
  expect(allCommandLines().filter((line) => line.includes(password))).toEqual([]);
});

test('stopping the launcher stops Studio and removes its temporary Prisma config', async () => {
  const configPath = allCommandLines()
    .find((line) => line.includes('prisma/build/index.js studio') && line.includes(studioUrl.split(':').pop()!))
    ?.match(/--config (\S+)/)?.[1];
  expect(configPath).toBeDefined();
  expect(fs.readFileSync(configPath!, 'utf8')).not.toContain(password);

  const exited = new Promise<number | null>((resolve) => studio.once('exit', resolve));
  studio.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(fs.existsSync(configPath!)).toBe(false);
  await expect(fetch(`${studioUrl}/`)).rejects.toThrow();
}, 30_000);

test('without any URL variable it targets the `npm start` stack and says so without the password', async () => {
  const closed = await freePort();
  const result = await run(process.execPath, [STUDIO, '--service=catalog-service'], {
    env: { PATH: process.env.PATH, LOCAL_PG_PORT: String(closed) },
  }).catch((error: { code: number; stdout: string; stderr: string }) => error);
  expect('code' in result ? result.code : 0).toBe(1);
  expect(result.stderr).toContain(
    `cannot reach postgresql://postgres:***@127.0.0.1:${closed}/webrana_catalog (from the \`npm start\` local stack)`,
  );
  expect(result.stderr).toContain('is `npm start` running?');
  expect(result.stderr).not.toContain('postgres:postgres');
});
