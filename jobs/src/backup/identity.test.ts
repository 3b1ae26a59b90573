import { migrationsDir, SERVICES } from '@webrana/registry';
import { readLocalMigrations } from '@webrana/migrate';
import { identityProblem, ownerOf, parseLedgerCopy, type RestoreIdentity } from './identity';

const folders = Object.fromEntries(
  SERVICES.map((s) => [
    s.name,
    readLocalMigrations(migrationsDir(s.name)).map(({ name, checksum }) => ({ name, checksum })),
  ]),
);
const specDatabases = Object.fromEntries(SERVICES.map((s) => [s.name, s.database]));
const ledger = (service: string) => folders[service]!;
const base: RestoreIdentity = {
  dumpService: 'order-service',
  targetService: 'order-service',
  dumpLedger: ledger('order-service'),
  targetLedger: ledger('order-service'),
  targetDatabase: 'webrana_order',
  folders,
  specDatabases,
};

describe('parseLedgerCopy', () => {
  const copy = [
    "SET client_encoding = 'UTF8';",
    'COPY public._prisma_migrations (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count) FROM stdin;',
    'a1\tc1\t2026-01-01 00:00:00+00\t20261125000000_init\t\\N\t\\N\t2026-01-01 00:00:00+00\t1',
    'a2\tc2\t\\N\t20261125000100_rules\tboom\t2026-01-02 00:00:00+00\t2026-01-01 00:00:00+00\t0',
    '\\.',
    '',
  ].join('\n');
  test('reads name and checksum by column name and leaves rolled-back rows out', () => {
    expect(parseLedgerCopy(copy)).toEqual([{ name: '20261125000000_init', checksum: 'c1' }]);
  });
  test('text without a ledger block has no entries', () => {
    expect(parseLedgerCopy('COPY public.orders (id) FROM stdin;\n1\n\\.\n')).toEqual([]);
  });
});

describe('which service a ledger is', () => {
  test('every service has the same migration names, yet its checksums tell it apart', () => {
    for (const s of SERVICES) expect(ownerOf(ledger(s.name), folders)).toBe(s.name);
    expect(ownerOf([], folders)).toBeNull();
  });
  test('a ledger one migration ahead of the folder is still that service', () => {
    expect(ownerOf([...ledger('auth-service'), { name: '20991231000000_new', checksum: 'x' }], folders)).toBe(
      'auth-service',
    );
  });
});

describe('restore target identity', () => {
  test('an order dump into an order database (or a fresh, ledgerless scratch database) is fine', () => {
    expect(identityProblem(base)).toBeNull();
    expect(identityProblem({ ...base, targetLedger: [], targetDatabase: 'restore_drill' })).toBeNull();
  });
  test('an order dump into the auth database is refused, naming both services', () => {
    expect(identityProblem({ ...base, targetLedger: ledger('auth-service'), targetDatabase: 'webrana_auth' })).toBe(
      "the target database webrana_auth holds auth-service's migrations ledger, not order-service's",
    );
  });
  test("a dump whose own ledger is another service's is refused even when the manifest agrees", () => {
    expect(
      identityProblem({ ...base, dumpService: 'auth-service', targetService: 'auth-service', targetLedger: [] }),
    ).toBe("the manifest says auth-service, but the migrations ledger inside the dump is order-service's");
  });
  test("a ledgerless database named like another service's in the spec is refused", () => {
    expect(identityProblem({ ...base, targetLedger: [], targetDatabase: 'webrana_billing' })).toBe(
      "the target database webrana_billing is billing-service's database",
    );
  });
  test('a ledger with the same names but unknown checksums is refused as another history', () => {
    const other = ledger('order-service').map((e) => ({ ...e, checksum: `x${e.checksum.slice(1)}` }));
    expect(identityProblem({ ...base, targetLedger: other, targetDatabase: 'db' })).toMatch(
      /applied 20261125000000_init, 20261125000100_rules with other checksums than this order-service dump/,
    );
  });
  test('manifest and --service disagreeing is refused', () => {
    expect(identityProblem({ ...base, targetService: 'auth-service' })).toBe(
      "the dump is order-service's (manifest), but --service says auth-service",
    );
  });
});
