// A minimal GraphQL-over-HTTP client on node:http with a keep-alive Agent, for the load loops
// autocannon cannot express (each request chosen at run time, each answer checked): the mixed
// scenario's load client, the fanout writer, the cache-memory fill. Loopback only.
import http from 'node:http';
import { HOST } from './services.js';

export interface GqlResponse {
  status: number;
  xCache: string;
  /** The raw `Cache-Status` and `Server-Timing` headers (null when absent): where the answer came from. */
  cacheStatus: string | null;
  serverTiming: string | null;
  /** Parsed body; null when it was not JSON. */
  json: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] } | null;
  bytes: number;
}

export class GqlClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly port: number,
    maxSockets: number,
    private readonly timeoutMs = 10_000,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
  }

  post(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResponse> {
    const body = JSON.stringify(variables ? { query, variables } : { query });
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: HOST,
          port: this.port,
          path: '/graphql',
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: GqlResponse['json'] = null;
            try {
              json = JSON.parse(text) as GqlResponse['json'];
            } catch {
              // not JSON: the caller counts it as an error
            }
            const xc = res.headers['x-cache'];
            // Repeated headers arrive joined with ", ", which is how both fields list members anyway.
            const cs = res.headers['cache-status'];
            const st = res.headers['server-timing'];
            resolve({
              status: res.statusCode ?? 0,
              xCache: typeof xc === 'string' ? xc : 'none',
              cacheStatus: typeof cs === 'string' ? cs : null,
              serverTiming: typeof st === 'string' ? st : Array.isArray(st) ? st.join(', ') : null,
              json,
              bytes: Buffer.byteLength(text),
            });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** data of a successful answer; throws on HTTP or GraphQL errors. */
  async data(query: string, variables?: Record<string, unknown>, token?: string): Promise<Record<string, unknown>> {
    const r = await this.post(query, variables, token);
    if (r.status !== 200 || !r.json?.data || r.json.errors?.length) {
      throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.json?.errors ?? r.json).slice(0, 300)}`);
    }
    return r.json.data;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Signs in as a seeded demo account (src/db/seed.ts DEMO_ACCOUNTS) and returns the access token. */
export async function login(client: GqlClient, email: string, password: string): Promise<string> {
  const data = await client.data('mutation ($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', { e: email, p: password });
  return (data.login as { accessToken: string }).accessToken;
}

/** Nearest-rank percentile of a sorted array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(values: ArrayLike<number>): Summary {
  const s = Float64Array.from(values).sort();
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p90: r(percentile(s, 90)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s.length ? s[s.length - 1]! : NaN) };
}
