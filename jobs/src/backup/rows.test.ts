import { copyRowCounter, rowCountProblems, tableDataEntries } from './rows';

const LISTING = `;
; Archive created at 2026-11-30 10:00:00 UTC
3380; 0 16390 TABLE DATA public orders webrana
3381; 0 16401 TABLE DATA public order_items webrana
3200; 1259 16389 TABLE public orders webrana
3382; 0 16420 TABLE DATA public _prisma_migrations webrana
`;

test('tableDataEntries reads the dump id and schema.table of every TABLE DATA line, and nothing else', () => {
  expect(tableDataEntries(LISTING)).toEqual([
    { id: 3380, table: 'public.orders' },
    { id: 3381, table: 'public.order_items' },
    { id: 3382, table: 'public._prisma_migrations' },
  ]);
});

const rows = (chunks: string[]) => {
  const counter = copyRowCounter();
  for (const c of chunks) counter.add(Buffer.from(c, 'latin1'));
  return counter.rows();
};

test("a COPY data file's rows are its lines before the \\. terminator, however the chunks split", () => {
  const text = '1\tone\n2\ttwo\\nstill two\n3\tthree\n\\.\n\n\n';
  expect(rows([text])).toBe(3);
  for (let cut = 1; cut < text.length; cut++) expect(rows([text.slice(0, cut), text.slice(cut)])).toBe(3);
  expect(rows(['\\.\n\n\n'])).toBe(0);
  expect(rows([''])).toBe(0);
  expect(rows(['1\n2\n'])).toBe(2); // no terminator: every line is a row
});

test('a value ending in an escaped backslash and a dot is a row, not the terminator', () => {
  expect(rows(['a\\\\.\n\\.\n\n'])).toBe(1);
});

test('rowCountProblems names each table whose count differs or that is missing', () => {
  expect(rowCountProblems({ 'public.a': 3, 'public.b': 0 }, { 'public.a': 3, 'public.b': 0 })).toEqual([]);
  expect(rowCountProblems({ 'public.a': 3, 'public.b': 1 }, { 'public.a': 2, 'public.b': null })).toEqual([
    'table public.a has 2 rows, the manifest says 3',
    'table public.b is missing after the restore',
  ]);
});
