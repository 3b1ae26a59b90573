import { diffSnapshots, type SchemaSnapshot } from './introspect';

function snapshot(entries: [string, string][]): SchemaSnapshot {
  return new Map(entries);
}

describe('diffSnapshots', () => {
  test('equal snapshots give no differences', () => {
    const a = snapshot([
      ['table users', 'exists'],
      ['column users.email type', 'text'],
      ['column users.email nullability', 'NOT NULL'],
    ]);
    const b = snapshot([
      ['column users.email nullability', 'NOT NULL'],
      ['table users', 'exists'],
      ['column users.email type', 'text'],
    ]);
    expect(diffSnapshots(a, b)).toEqual([]);
  });

  test('two empty snapshots give no differences', () => {
    expect(diffSnapshots(new Map(), new Map())).toEqual([]);
  });

  test('a key only built by the migrations gives one line naming the migrations side', () => {
    expect(diffSnapshots(snapshot([['table audit_log', 'exists']]), snapshot([]))).toEqual([
      'table audit_log: built by the migrations (exists) but not in schema.prisma',
    ]);
  });

  test('a key only in schema.prisma gives one line naming the schema side', () => {
    expect(
      diffSnapshots(
        snapshot([]),
        snapshot([
          ['index users_email_key', 'CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)'],
        ]),
      ),
    ).toEqual([
      'index users_email_key: in schema.prisma (CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)) but not built by the migrations',
    ]);
  });

  test('a key with different values gives one line with both values', () => {
    expect(
      diffSnapshots(
        snapshot([['column users.email type', 'character varying(255)']]),
        snapshot([['column users.email type', 'text']]),
      ),
    ).toEqual(['column users.email type: migrations give character varying(255); schema.prisma says text']);
  });

  test('an empty-string value differs from a missing key', () => {
    expect(diffSnapshots(snapshot([['enum Role', '']]), snapshot([]))).toEqual([
      'enum Role: built by the migrations () but not in schema.prisma',
    ]);
  });

  test('matching keys produce nothing while differing ones produce exactly one line each, sorted by key', () => {
    const fromMigrations = snapshot([
      ['table users', 'exists'],
      ['table zebra', 'exists'],
      ['column users.role default', '\'USER\'::"Role"'],
      ['enum Role', 'USER, ADMIN'],
    ]);
    const fromSchema = snapshot([
      ['table users', 'exists'],
      ['column users.role default', '(none)'],
      ['enum Role', 'USER, ADMIN, OWNER'],
      ['constraint users.users_pkey', 'PRIMARY KEY (id)'],
    ]);
    expect(diffSnapshots(fromMigrations, fromSchema)).toEqual([
      'column users.role default: migrations give \'USER\'::"Role"; schema.prisma says (none)',
      'constraint users.users_pkey: in schema.prisma (PRIMARY KEY (id)) but not built by the migrations',
      'enum Role: migrations give USER, ADMIN; schema.prisma says USER, ADMIN, OWNER',
      'table zebra: built by the migrations (exists) but not in schema.prisma',
    ]);
  });

  test('output is sorted by key regardless of which side a key comes from or insertion order', () => {
    const lines = diffSnapshots(
      snapshot([
        ['table c', 'exists'],
        ['table a', 'exists'],
      ]),
      snapshot([
        ['table d', 'exists'],
        ['table b', 'exists'],
      ]),
    );
    expect(lines.map((l) => l.split(':')[0])).toEqual(['table a', 'table b', 'table c', 'table d']);
  });

  test('does not modify its inputs', () => {
    const a = snapshot([['table a', 'exists']]);
    const b = snapshot([['table b', 'exists']]);
    diffSnapshots(a, b);
    expect([...a]).toEqual([['table a', 'exists']]);
    expect([...b]).toEqual([['table b', 'exists']]);
  });
});
