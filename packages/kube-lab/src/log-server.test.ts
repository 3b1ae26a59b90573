import { BadLogRequest, parseLogRequest, tailOffset } from './log-server';

const parse = (pathAndQuery: string) => parseLogRequest(new URL(pathAndQuery, 'https://kubelet'));

test('a log request names namespace, pod and container, with follow, previous, tailLines and limitBytes', () => {
  expect(parse('/containerLogs/ns-1/pod-a/migrate?follow=true&tailLines=5&limitBytes=100')).toEqual({
    namespace: 'ns-1',
    pod: 'pod-a',
    container: 'migrate',
    follow: true,
    previous: false,
    tailLines: 5,
    limitBytes: 100,
  });
  expect(parse('/containerLogs/ns/p/c?previous=true&timestamps=false')).toMatchObject({
    previous: true,
    follow: false,
    tailLines: undefined,
  });
});

test('a log request for something else, a bad count or timestamps is refused with the reason', () => {
  const refusal = (url: string): BadLogRequest => {
    try {
      parse(url);
    } catch (err) {
      if (err instanceof BadLogRequest) return err;
    }
    throw new Error(`${url} was accepted`);
  };
  expect(refusal('/exec/ns/p/c')).toMatchObject({ status: 404, message: expect.stringContaining('/containerLogs/') });
  expect(refusal('/containerLogs/ns/p')).toMatchObject({ status: 404 });
  expect(refusal('/containerLogs/ns/p/c?tailLines=-1')).toMatchObject({
    status: 400,
    message: 'tailLines must be a whole number >= 0, got "-1"',
  });
  expect(refusal('/containerLogs/ns/p/c?limitBytes=1.5')).toMatchObject({ status: 400 });
  expect(refusal('/containerLogs/ns/p/c?timestamps=true')).toMatchObject({
    status: 400,
    message: expect.stringContaining('timestamps is not supported'),
  });
  expect(refusal('/containerLogs/ns/p/c?sinceSeconds=10')).toMatchObject({ status: 400 });
});

test('tailOffset finds where the last N lines start, with or without a final newline', () => {
  const text = Buffer.from('one\ntwo\nthree\n');
  const tail = (buf: Buffer, n: number): string => buf.subarray(tailOffset(buf, n)).toString();
  expect(tail(text, 1)).toBe('three\n');
  expect(tail(text, 2)).toBe('two\nthree\n');
  expect(tail(text, 3)).toBe('one\ntwo\nthree\n');
  expect(tail(text, 10)).toBe('one\ntwo\nthree\n');
  expect(tail(text, 0)).toBe('');
  expect(tail(Buffer.from('one\ntwo'), 1)).toBe('two');
  expect(tail(Buffer.from(''), 3)).toBe('');
});
