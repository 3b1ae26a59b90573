import { databaseHealth, healthFormatFor } from './health';
import { parseMediaType, preferredOffer } from './negotiate';

describe('databaseHealth', () => {
  test('a successful probe is exactly the spec body, latency rounded to whole milliseconds', () => {
    const { statusCode, body } = databaseHealth({ ok: true, latencyMs: 4.6 });
    expect(statusCode).toBe(200);
    expect(JSON.stringify(body)).toBe('{"status":"healthy","database":"connected","latency_ms":5}');
  });

  test('a failed probe is 503 unhealthy/disconnected with the short reason', () => {
    const { statusCode, body } = databaseHealth({
      ok: false,
      latencyMs: 2000.4,
      error: 'no answer within 2000 ms',
      cause: new Error('detail for logs only'),
    });
    expect(statusCode).toBe(503);
    expect(JSON.stringify(body)).toBe(
      '{"status":"unhealthy","database":"disconnected","latency_ms":2000,"error":"no answer within 2000 ms"}',
    );
  });
});

describe('healthFormatFor', () => {
  test.each([
    [
      "Prometheus 2.42's scrape header",
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      'openmetrics',
    ],
    ['Prometheus text only', 'text/plain;version=0.0.4', 'prometheus'],
    ['plain text', 'text/plain', 'prometheus'],
    ['OpenMetrics without a version', 'application/openmetrics-text', 'openmetrics'],
    ['an OpenMetrics version we do not write', 'application/openmetrics-text;version=0.0.1', 'json'],
    ['no header', undefined, 'json'],
    ['curl', '*/*', 'json'],
    ['a browser', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'json'],
    ['JSON preferred over text', 'text/plain;q=0.5, application/json', 'json'],
    ['text preferred over JSON', 'application/json;q=0.2, text/plain', 'prometheus'],
    ['nothing we write', 'image/png', 'json'],
  ])('%s -> %s', (_label, accept, format) => {
    expect(healthFormatFor(accept)).toBe(format);
  });
});

describe('preferredOffer', () => {
  const offers = ['application/json', 'text/plain;version=0.0.4'].map(parseMediaType);

  test('the most specific range sets the quality: text/* low but text/plain high', () => {
    expect(preferredOffer('application/json;q=0.6, text/*;q=0.1, text/plain;q=0.9', offers)).toBe(1);
  });

  test('q=0 refuses an offer', () => {
    expect(preferredOffer('application/json;q=0, text/plain;q=0', offers)).toBe(-1);
  });

  test('ties go to the first offer; media types are case-insensitive', () => {
    expect(preferredOffer('TEXT/PLAIN, Application/JSON', offers)).toBe(0);
  });
});
