// A GraphQL client that goes through real HTTP (fetch), so transport behaviour is under test too.
import type { GraphQLFormattedError } from 'graphql';

export interface GqlOptions {
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  method?: 'POST' | 'GET';
  /** Abort the request after this long. Default 15 s. */
  timeoutMs?: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface GqlBody<TData = any> {
  data?: TData | null;
  errors?: GraphQLFormattedError[];
  extensions?: Record<string, unknown>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface GqlResponse<TData = any> {
  status: number;
  headers: Headers;
  /** Parsed JSON; null when the response was not JSON (see `text`). */
  body: GqlBody<TData>;
  text: string;
}

/** `url` is the instance base URL (a trailing `/graphql` is accepted too). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function gql<TData = any>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  opts: GqlOptions = {},
): Promise<GqlResponse<TData>> {
  const endpoint = `${url.replace(/\/graphql\/?$/, '').replace(/\/$/, '')}/graphql`;
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let response: Response;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 15_000);
  if (opts.method === 'GET') {
    const params = new URLSearchParams({ query });
    if (variables) params.set('variables', JSON.stringify(variables));
    // Apollo's CSRF prevention rejects simple GETs without a preflight-forcing header.
    response = await fetch(`${endpoint}?${params}`, {
      headers: { 'apollo-require-preflight': 'true', ...headers },
      signal,
    });
  } else {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
      signal,
    });
  }
  const text = await response.text();
  let body: GqlBody<TData>;
  try {
    body = JSON.parse(text) as GqlBody<TData>;
  } catch {
    body = null as unknown as GqlBody<TData>;
  }
  return { status: response.status, headers: response.headers, body, text };
}

/** Throws (printing the errors) unless the response carries data and no errors; returns the data. */
export function expectNoErrors<TData>(res: GqlResponse<TData>): TData {
  if (!res.body) throw new Error(`Expected a GraphQL JSON response, got HTTP ${res.status}: ${res.text.slice(0, 500)}`);
  if (res.body.errors?.length) {
    throw new Error(`GraphQL errors (HTTP ${res.status}):\n${JSON.stringify(res.body.errors, null, 2)}`);
  }
  if (res.body.data == null) throw new Error(`No data in response (HTTP ${res.status}): ${res.text.slice(0, 500)}`);
  return res.body.data;
}
