import { changedFields, isProduction } from './index';

describe('changedFields', () => {
  test('lists only the fields whose stored value differs', () => {
    expect(changedFields({ a: 1, b: 'x', c: null }, { a: 1, b: 'y', c: null })).toEqual({ b: 'y' });
  });

  test('compares dates by instant, not by object identity', () => {
    const stored = { at: new Date('2026-01-01T00:00:00Z') };
    expect(changedFields(stored, { at: new Date('2026-01-01T00:00:00Z') })).toEqual({});
    expect(changedFields(stored, { at: new Date('2026-01-02T00:00:00Z') })).toEqual({
      at: new Date('2026-01-02T00:00:00Z'),
    });
  });

  test('a field the row lacks counts as changed; fields not wanted are ignored', () => {
    expect(changedFields({ a: 1, extra: 5 }, { a: 1, b: 2 })).toEqual({ b: 2 });
  });
});

test('NODE_ENV or WEBRANA_ENV set to production marks a production run', () => {
  expect([
    isProduction({}),
    isProduction({ NODE_ENV: 'production' }),
    isProduction({ WEBRANA_ENV: 'production' }),
    isProduction({ NODE_ENV: 'development' }),
  ]).toEqual([false, true, true, false]);
});
