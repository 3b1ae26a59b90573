import { listedMembers } from './archive';

test('a tar listing gives the member names without the archive root, in sorted order', () => {
  expect(listedMembers('./\n./toc.dat\n./3301.dat\n./3300.dat\n')).toEqual(['3300.dat', '3301.dat', 'toc.dat']);
  expect(listedMembers('toc.dat\n')).toEqual(['toc.dat']); // tars that do not prefix ./
});
