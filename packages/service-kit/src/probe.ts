/** The outcome of one database probe, shared by every request that waited for it. */
export interface ProbeResult {
  ok: boolean;
  /** From the start of the probe to its answer (or to the deadline, for a timeout). */
  latencyMs: number;
  /** Why the database counts as down; short and free of connection details (it is served over HTTP). */
  error?: string;
  /** The error itself, for logs only (never served). */
  cause?: unknown;
}

export interface DatabaseProbe {
  /**
   * Joins the probe in flight or starts one. Answers within `timeoutMs` of the probe's start, so
   * never later than `timeoutMs` after the call.
   */
  check(): Promise<ProbeResult>;
}

export interface ProbeOptions {
  /** One round trip to the database (e.g. `SELECT 1`); rejects when it is down. */
  ping: () => Promise<unknown>;
  timeoutMs: number;
  /**
   * How long an answer is reused after its probe settled (0: never). Bounds the database's health
   * traffic to one probe per period however many requests come, at the price of that much staleness.
   */
  reuseMs?: number;
  /** Called once per probe with the answer every waiting request got (e.g. to set gauges, log changes). */
  onResult?: (result: ProbeResult) => void;
  clock?: () => number;
}

/**
 * A single-flight database probe: however many requests ask at once, one ping is in flight, and its
 * answer is reused for `reuseMs` after it settles.
 *
 * A ping that outlives the timeout stays the one in flight until it settles (its own query and pool
 * timeouts end it), and requests arriving meanwhile are told "down" at once: a hanging database is
 * never sent a second probe, and a flood of health checks never becomes a flood of queries.
 */
export function createSingleFlightProbe(options: ProbeOptions): DatabaseProbe {
  const clock = options.clock ?? (() => performance.now());
  const reuseMs = options.reuseMs ?? 0;
  let inFlight: Promise<ProbeResult> | undefined;
  let recent: { answer: Promise<ProbeResult>; until: number } | undefined;

  function startProbe(): Promise<ProbeResult> {
    const startedAt = clock();
    const elapsed = () => clock() - startedAt;
    let timer: NodeJS.Timeout | undefined;
    const settled = options.ping().then(
      (): ProbeResult => ({ ok: true, latencyMs: elapsed() }),
      (error: unknown): ProbeResult => ({
        ok: false,
        latencyMs: elapsed(),
        error: describeProbeFailure(error),
        cause: error,
      }),
    );
    const deadline = new Promise<ProbeResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ ok: false, latencyMs: elapsed(), error: `no answer within ${options.timeoutMs} ms` }),
        options.timeoutMs,
      );
      timer.unref();
    });
    const answer = Promise.race([settled, deadline]);
    // The slot frees only when the ping itself settles, not at the deadline; what the waiting requests
    // were told is what later ones reuse.
    void settled.then(() => {
      clearTimeout(timer);
      inFlight = undefined;
      if (reuseMs > 0) recent = { answer, until: clock() + reuseMs };
    });
    void answer.then((result) => options.onResult?.(result));
    return answer;
  }

  return {
    check() {
      if (inFlight) return inFlight;
      if (recent && clock() < recent.until) return recent.answer;
      inFlight = startProbe();
      return inFlight;
    },
  };
}

const POSTGRES_ERROR_CODE = /^[0-9A-Z]{5}$/;

/**
 * A short reason for a failed probe, safe to serve: the error code when there is one (ECONNREFUSED,
 * or PostgreSQL's SQLSTATE such as 57P03 "cannot connect now"), else pg's message without details.
 */
export function describeProbeFailure(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && POSTGRES_ERROR_CODE.test(code)) return `postgres error ${code}`;
  if (typeof code === 'string' && code) return code;
  if (typeof message === 'string' && message) return message.split('\n')[0]!.slice(0, 120);
  return 'unknown error';
}
