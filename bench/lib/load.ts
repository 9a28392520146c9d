// Load generation with autocannon in THIS process (the servers run in child processes), plus
// a tally of response status codes and `x-cache` header values taken from every response.
import autocannon from 'autocannon';
import { HOST } from './services.js';

export interface LoadOptions {
  port: number;
  path?: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** Per-request timeout in seconds. Default 10. */
  timeoutSeconds?: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  latencyMs: { p50: number; p90: number; p99: number; average: number; max: number };
  requests: number;
  /** Completed responses seen by the header hook (should equal requests, give or take in-flight ones). */
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  throughputBytesPerSecond: number;
  statusCodes: Record<string, number>;
  /** x-cache header values (HIT, MISS, BYPASS; "none" when absent). */
  xCache: Record<string, number>;
  wallSeconds: number;
}

type HeadersInfo = { headers?: string[]; statusCode?: number };

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const statusCodes: Record<string, number> = {};
  const xCache: Record<string, number> = {};
  let responses = 0;
  const started = process.hrtime.bigint();
  const result = await autocannon({
    url: `http://${HOST}:${options.port}${options.path ?? '/graphql'}`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
    connections: options.connections,
    duration: options.durationSeconds,
    timeout: options.timeoutSeconds ?? 10,
    setupClient: (client) => {
      // http-parser-js hands over { statusCode, headers: [name, value, name, value, ...] }.
      (client as unknown as NodeJS.EventEmitter).on('headers', (info: HeadersInfo) => {
        responses++;
        const status = String(info.statusCode ?? 'unknown');
        statusCodes[status] = (statusCodes[status] ?? 0) + 1;
        const raw = info.headers ?? [];
        let value = 'none';
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i]!;
          if (name.length === 7 && name.toLowerCase() === 'x-cache') {
            value = raw[i + 1]!;
            break;
          }
        }
        xCache[value] = (xCache[value] ?? 0) + 1;
      });
    },
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      average: result.latency.average,
      max: result.latency.max,
    },
    requests: result.requests.total,
    responses,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    throughputBytesPerSecond: result.throughput.average,
    statusCodes,
    xCache,
    wallSeconds,
  };
}

export interface Probe {
  status: number;
  body: string;
  headers: Record<string, string>;
}

/** One request with fetch (not autocannon), to check the answer and capture its bytes. */
export async function probe(port: number, body: string, headers: Record<string, string> = {}): Promise<Probe> {
  const res = await fetch(`http://${HOST}:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const out: Record<string, string> = {};
  res.headers.forEach((value, key) => (out[key] = value));
  return { status: res.status, body: await res.text(), headers: out };
}
