import * as fc from 'fast-check';
import * as yaml from 'js-yaml';
import { toYaml } from './yaml';

const parse = (text: string): unknown => yaml.load(text);

describe('toYaml', () => {
  test('writes block style with sequences at their key indentation', () => {
    expect(toYaml({ a: 1, b: ['x', { c: true, d: [] }], e: {}, f: 'needs: quoting', g: 'true' })).toBe(
      ['a: 1', 'b:', '- x', '- c: true', '  d: []', 'e: {}', 'f: "needs: quoting"', 'g: "true"', ''].join('\n'),
    );
  });

  test('strings YAML would read as something else are quoted', () => {
    for (const s of [
      'yes',
      'No',
      'on',
      'null',
      '~',
      '1',
      '0x1f',
      '1e3',
      '-',
      '- a',
      '#x',
      '@daily',
      '*',
      ' x',
      'x ',
      '',
    ]) {
      expect(parse(toYaml({ s }))).toEqual({ s });
    }
  });

  test('any JSON value survives a round trip through a YAML parser', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 5 }), (doc) => {
        expect(parse(toYaml(doc))).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });
});
