// GraphQL over WebSocket (graphql-transport-ws) on the same port and path as HTTP.
import type { Server } from 'node:http';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Viewer } from '../auth/types.js';
import type { GraphQLContext } from '../graphql/context.js';
import type { Logger } from '../observability/logger.js';

export interface WebSocketOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  /** Verifies connectionParams.authorization; throws to refuse the connection. */
  authenticate(authorization: string | undefined): Promise<Viewer | null>;
  /** A fresh context (and loaders) per operation, as over HTTP. */
  context(viewer: Viewer | null): GraphQLContext;
  logger: Logger;
}

type ConnectionState = { viewer: Viewer | null };

export function attachWebSocket(options: WebSocketOptions): { close(): Promise<void> } {
  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql' });
  const server = useServer<Record<string, unknown>, ConnectionState>(
    {
      schema: options.schema,
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization;
        try {
          ctx.extra.viewer = await options.authenticate(typeof auth === 'string' ? auth : undefined);
          return true;
        } catch (err) {
          options.logger.info({ err: (err as Error).message }, 'websocket connection refused');
          // graphql-ws closes with 4403 Forbidden when onConnect returns false.
          return false;
        }
      },
      context: (ctx) => options.context(ctx.extra.viewer ?? null),
      onError: (_ctx, _id, _payload, errors) => {
        options.logger.debug({ errors: errors.map((e: GraphQLError) => e.message) }, 'websocket operation error');
      },
    },
    wss,
  );
  return {
    close: async () => {
      // dispose() closes every socket with 1001 Going Away, so clients reconnect elsewhere instead of hanging.
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
