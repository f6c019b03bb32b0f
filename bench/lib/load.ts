import { performance } from 'node:perf_hooks';

/**
 * One closed-loop client: `request` makes one request and resolves to undefined when the
 * answer was the expected one, or to a short description of what was wrong. `prepare`
 * (optional) runs before each request, outside the timed part (e.g. getting a new refresh
 * token after a failure broke a chain).
 */
export interface Worker {
  prepare?(): Promise<void>;
  request(): Promise<string | undefined>;
}

export interface MeasureOptions {
  workers: Worker[];
  warmupMs: number;
  durationMs: number;
  /** The window closes early once this many requests completed in it. */
  maxRequests: number;
  /** Called when the measured window opens and closes (CPU probes hang here). */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Measurement {
  /** Requests that completed inside the window. */
  requests: number;
  errors: number;
  errorSamples: string[];
  seconds: number;
  perSecond: number;
  /** Milliseconds, over the successful requests of the window. */
  latency: Latency;
}

/**
 * Runs every worker in a loop (one request in flight per worker), first for the warm-up,
 * then for the measured window. A request counts when it completes inside the window, as
 * wrk and autocannon count: after the warm-up the loop is in its steady state, so this is the
 * steady-state rate even when one request takes a good part of the window (counting only
 * requests that also started inside it would undercount slow ones, such as sign-ins).
 * Requests still in flight when the window closes do not count.
 */
export async function measure(options: MeasureOptions): Promise<Measurement> {
  const startAt = performance.now() + options.warmupMs;
  let endAt = startAt + options.durationMs;
  let windowOpen = false;
  let windowClosed = false;
  let requests = 0;
  let errors = 0;
  const errorSamples: string[] = [];
  let latencies = new Float64Array(1 << 16);

  const openWindow = () => {
    windowOpen = true;
    options.onWindowStart?.();
  };
  const closeWindow = (at: number) => {
    if (windowClosed) return;
    windowClosed = true;
    endAt = at;
    options.onWindowEnd?.();
  };
  // Timers open and close the window even when requests are slow to come back.
  const opener = setTimeout(openWindow, Math.max(0, options.warmupMs));
  const closer = setTimeout(() => closeWindow(performance.now()), options.warmupMs + options.durationMs);

  const loop = async (worker: Worker) => {
    while (!windowClosed) {
      if (worker.prepare) await worker.prepare();
      const started = performance.now();
      let problem: string | undefined;
      try {
        problem = await worker.request();
      } catch (error) {
        problem = `exception: ${(error as Error).message}`;
      }
      const finished = performance.now();
      if (!windowOpen || windowClosed || finished < startAt || finished > endAt) continue;
      if (problem !== undefined) {
        errors++;
        if (errorSamples.length < 5 && !errorSamples.includes(problem)) errorSamples.push(problem);
        continue;
      }
      if (requests === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[requests++] = finished - started;
      if (requests + errors >= options.maxRequests) closeWindow(finished);
    }
  };

  await Promise.all(options.workers.map(loop));
  clearTimeout(opener);
  clearTimeout(closer);
  const seconds = (endAt - startAt) / 1000;
  return {
    requests,
    errors,
    errorSamples,
    seconds,
    perSecond: requests / seconds,
    latency: summarize(latencies.subarray(0, requests)),
  };
}

function summarize(values: Float64Array): Latency {
  if (values.length === 0) return { p50: NaN, p90: NaN, p99: NaN, max: NaN, mean: NaN };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1]!, mean: sum / sorted.length };
}
