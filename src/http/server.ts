// GraphQL over HTTP on Node's own http server: Apollo's executeHTTPGraphQLRequest
// behind a thin adapter (body limit, JSON parsing, routing). Chosen over express
// and fastify by measurement (README, Development).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Logger } from '../observability/logger.js';
import type { GraphQLContext } from '../graphql/context.js';
import { BodyTooLarge, readBody } from './body.js';
import { checkReadiness, type DependencyCheck } from './health.js';

export interface HttpHandlerOptions {
  apollo: ApolloServer<GraphQLContext>;
  /** Builds the per-request context; may throw a GraphQLError (e.g. UNAUTHENTICATED). */
  context(req: IncomingMessage, requestId: string): Promise<GraphQLContext>;
  readiness: DependencyCheck[];
  maxBodyBytes: number;
  logger: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createHttpHandler(options: HttpHandlerOptions): Handler {
  const { apollo, logger } = options;

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const payload = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload), ...headers });
    res.end(payload);
  };
  const graphqlError = (res: ServerResponse, status: number, message: string, code: string) =>
    sendJson(res, status, { errors: [{ message, extensions: { code } }] });

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
    const method = (req.method ?? 'GET').toUpperCase();
    let body: unknown = undefined;
    if (method === 'POST') {
      let raw: string;
      try {
        raw = await readBody(req, options.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          res.setHeader('connection', 'close');
          return graphqlError(res, 413, `Request body is larger than ${options.maxBodyBytes} bytes.`, 'PAYLOAD_TOO_LARGE');
        }
        throw err;
      }
      const type = req.headers['content-type'] ?? '';
      if (/^application\/(graphql-response\+)?json\b/i.test(type) || /^application\/json/i.test(type)) {
        try {
          body = raw.length ? JSON.parse(raw) : undefined;
        } catch {
          return graphqlError(res, 400, 'The request body is not valid JSON.', 'BAD_REQUEST');
        }
      } else {
        // Apollo answers unsupported content types (and its CSRF rules) itself.
        body = raw;
      }
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method, headers, search: url.search, body },
      context: () => options.context(req, requestId),
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.setHeader('content-length', Buffer.byteLength(response.body.string));
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return (req, res) => {
    const requestId = (req.headers['x-request-id'] as string | undefined)?.slice(0, 64) || randomUUID();
    res.setHeader('x-request-id', requestId);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const run = async () => {
      switch (url.pathname) {
        case '/graphql':
          return handleGraphQL(req, res, url, requestId);
        case '/health':
          return sendJson(res, 200, { status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
        case '/ready': {
          const report = await checkReadiness(options.readiness);
          return sendJson(res, report.status === 'ready' ? 200 : 503, report, { 'cache-control': 'no-store' });
        }
        default:
          return sendJson(res, 404, { error: `No route for ${url.pathname}. GraphQL lives at /graphql.` });
      }
    };
    run().catch((err: unknown) => {
      logger.error({ err, requestId }, 'unhandled error in http handler');
      if (!res.headersSent) graphqlError(res, 500, 'Internal server error.', 'INTERNAL_SERVER_ERROR');
      else res.destroy();
    });
  };
}
