// GraphQL over WebSocket (graphql-transport-ws) on the same port and path as HTTP: auth on
// connection_init, live subscriptions, and the policies that keep one client from hurting others.
//
// Close codes a client can see:
//   1001 Going Away        the server is shutting down (SIGTERM): reconnect elsewhere, resume with `after`
//   1013 Try Again Later   too slow: its queued events or unsent bytes passed the limits below;
//                          graphql-ws clients retry, and resume with `after` loses nothing
//   4401 Unauthorized      its session was signed out or its access token expired (not retried)
//   4403 Forbidden         connection_init carried a bad token
//   4408, 4429, 4400 ...   graphql-ws protocol errors
// Too many connections from one address are refused at the upgrade with HTTP 429.
import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  type DocumentNode,
  type GraphQLFormattedError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CredentialOperation } from '../auth/rate-limit.js';
import type { Viewer } from '../auth/types.js';
import type { GraphQLContext } from '../graphql/context.js';
import { ErrorCode } from '../graphql/errors.js';
import { newRequestState, type RequestState } from '../graphql/request-state.js';
import { createOperationPreparation, type OperationPreparation } from '../graphql/prepare.js';
import type { Logger } from '../observability/logger.js';
import { createLiveRoot, encodeEventId, type LiveServices } from '../pubsub/live.js';
import type { Topic } from '../pubsub/topics.js';
import { clientIp } from './limits.js';

export interface WebSocketLimits {
  /** Open connections per client address on this instance; more are refused with HTTP 429. Default 1,000. */
  maxConnectionsPerIp: number;
  /** Operations open at once on one connection; more get a RATE_LIMITED error. Default 100. */
  maxSubscriptionsPerConnection: number;
  /** Events waiting for one subscription; past it the connection is closed with 1013. Default 1,000. */
  maxQueuedEvents: number;
  /** Bytes written but not yet sent on one socket; past it the connection is closed with 1013. Default 4 MiB. */
  maxBufferedBytes: number;
  /** A ping every this many ms; a client that has not answered the ping when the next is due is dropped. Default 12,000. */
  keepAliveMs: number;
  /** Every connection's token is verified again this often (expiry; a revocation whose broadcast was lost). Default 60,000. */
  reauthenticateMs: number;
  /** On shutdown, clients get this long to answer the 1001 close frame before their sockets are cut. Default 1,000. */
  closeGraceMs: number;
}

export const DEFAULT_WS_LIMITS: WebSocketLimits = Object.freeze({
  maxConnectionsPerIp: 1000,
  maxSubscriptionsPerConnection: 100,
  maxQueuedEvents: 1000,
  maxBufferedBytes: 4 * 1024 * 1024,
  keepAliveMs: 12_000,
  reauthenticateMs: 60_000,
  closeGraceMs: 1000,
});

export const CLOSE_SLOW_CONSUMER = 1013;

/** Distinct subscription documents kept parsed (see `documents` in attachWebSocket), and the longest text kept. */
const MAX_SHARED_DOCUMENTS = 500;
const MAX_SHARED_DOCUMENT_CHARS = 20_000;
export const CLOSE_SESSION_ENDED = CloseCode.Unauthorized;

export interface WebSocketOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  /** Parse, validation, limits and their error codes, shared with HTTP (graphql/prepare.ts). Default: built from `schema`. */
  preparation?: OperationPreparation;
  /** Gives every error in a result a code, masking unexpected ones (graphql/format-error.ts), as over HTTP. */
  formatError?: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** Verifies connectionParams.authorization; throws to refuse the connection. */
  authenticate(authorization: string | undefined): Promise<Viewer | null>;
  /** A fresh context (and loaders) per operation, as over HTTP; `request` carries the client's address. */
  context(viewer: Viewer | null, request?: RequestState): GraphQLContext;
  /** The sign-in and sign-up limits HTTP applies (auth/rate-limit.ts CredentialLimiter.check); unset = none. */
  checkCredentials?: (operation: CredentialOperation) => Promise<void>;
  /** The pub/sub engine and snapshot feeds subscriptions read from. */
  live: LiveServices;
  limits?: Partial<WebSocketLimits>;
  /** Proxies in front whose X-Forwarded-For entries are trusted (as for HTTP, http/limits.ts). Default 0. */
  trustedProxies?: number;
  /** Whether a browser page on this Origin may open a socket (the CORS list); unset = any. */
  originAllowed?: (origin: string | undefined, host: string | undefined) => boolean;
  logger: Logger;
}

export interface WebSocketStats {
  connections: number;
  /** Operations open over all connections (subscriptions, mostly). */
  operations: number;
  /** Connections this instance closed because the client could not keep up (1013). */
  closedTooSlow: number;
  /** Subscription `next` payloads serialized: once per event per shared execution, not per subscriber. */
  framesSerialized: number;
  /** Subscription `next` frames written to sockets (one per subscriber per event). */
  framesSent: number;
}

export interface WebSocketTransport {
  stats(): WebSocketStats;
  /** Closes every socket with 1001 (cutting those that do not answer within closeGraceMs). */
  close(): Promise<void>;
}

type ConnectionState = { viewer: Viewer | null };

interface Connection {
  socket: WebSocket;
  viewer: Viewer;
  authorization: string;
  operations(): number;
}

/** Where a subscription's frames go: its socket, and `{"id":<its id>` already encoded. */
interface Delivery {
  socket: WebSocket;
  head: Buffer;
}

/** What graphql-ws executes per event: an Envelope (pubsub) or a Snapshot (feeds). */
interface LiveEvent {
  id: string;
  topic: Topic;
}

export function attachWebSocket(options: WebSocketOptions): WebSocketTransport {
  const { schema, logger, live } = options;
  const preparation = options.preparation ?? createOperationPreparation(schema);
  const limits: WebSocketLimits = { ...DEFAULT_WS_LIMITS, ...definedOnly(options.limits ?? {}) };
  const connections = new Map<WebSocket, Connection>();
  const perIp = new Map<string, number>();
  let operationCount = 0;

  const wss = new WebSocketServer({
    server: options.httpServer,
    path: '/graphql',
    // Counted at the upgrade, so an address over its limit costs us no WebSocket at all.
    verifyClient: (info, accept) => {
      // Browsers send Origin on every WebSocket and do not preflight it: a page on an origin
      // CORS_ORIGINS does not name must not get a socket that carries its user's token.
      if (options.originAllowed && !options.originAllowed(info.req.headers.origin, info.req.headers.host)) {
        accept(false, 403, 'Origin not allowed (CORS_ORIGINS)');
        return;
      }
      const ip = clientIp(info.req, options.trustedProxies);
      const open = perIp.get(ip) ?? 0;
      if (open >= limits.maxConnectionsPerIp) {
        accept(false, 429, 'Too many WebSocket connections from this address', { 'retry-after': '10' });
        return;
      }
      perIp.set(ip, open + 1);
      // The TCP socket closes however the WebSocket ends (or if the upgrade never completes).
      info.req.socket.once('close', () => {
        const n = (perIp.get(ip) ?? 1) - 1;
        if (n > 0) perIp.set(ip, n);
        else perIp.delete(ip);
      });
      accept(true);
    },
  });

  /** Every error a client sees carries extensions.code; unexpected ones are masked and logged as over HTTP. */
  const formatErrors = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => {
      let formatted: GraphQLFormattedError = error.toJSON();
      if (!formatted.extensions?.code) formatted = { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.INTERNAL_SERVER_ERROR } };
      return options.formatError ? options.formatError(formatted, error) : formatted;
    });

  const closeConnection = (socket: WebSocket, code: number, reason: string) => {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };
  let closedTooSlow = 0;
  const tooSlow = (socket: WebSocket) => {
    if (socket.readyState === socket.OPEN) closedTooSlow++;
    logger.info({ code: CLOSE_SLOW_CONSUMER }, 'websocket closed: client too slow');
    closeConnection(socket, CLOSE_SLOW_CONSUMER, 'Too slow: events piled up. Reconnect and resubscribe with after.');
  };
  const endSession = (socket: WebSocket, why: string) => {
    logger.info({ why }, 'websocket closed: session ended');
    closeConnection(socket, CLOSE_SESSION_ENDED, `Session ended (${why}): sign in again.`);
  };

  // ---- per-event execution ---------------------------------------------------------------
  // graphql's own subscribe() executes every event with the operation's context, whose
  // DataLoaders would then cache rows for the subscription's whole life. Each event instead
  // gets a context of its own, SHARED by every subscriber of this instance that receives that
  // event (loaders hold rows, never viewer-specific data; PRIVATE fields are decided by the
  // field resolvers from each subscriber's own viewer): a nested relation costs one batched
  // load per event per instance, not one per subscriber.
  //
  // And the execution itself is shared: subscribers with the same document (see `documents`),
  // operation, variables and viewer (user, role, donor profile: all a resolver decides PRIVATE
  // fields by) get the same result for the same event, so it is computed once per event and
  // group, not once per subscriber. A fan-out to a thousand dashboards is then one execute()
  // and a thousand socket writes: profiling the fanout bench showed execute() and the garbage
  // it makes at about a third of the server's CPU per event.
  //
  // Serializing is shared the same way. graphql-ws would stringify the result once per
  // subscriber (and `ws` encode that string once more per socket); instead a subscription's
  // events bypass graphql-ws's send: the payload is turned into bytes once per event and group,
  // `,"type":"next","payload":<json>}`, and each socket gets its own `{"id":"<its id>"` in front
  // (encoded once per subscription): a well-formed graphql-ws `next` message for each client's
  // own id, with the same payload bytes for everyone in the group.
  type Shared = { context: GraphQLContext; eventId: string; frames: Map<string, Promise<Buffer>> };
  const perEvent = new WeakMap<LiveEvent, Shared>();
  const sharedFor = (event: LiveEvent): Shared => {
    let shared = perEvent.get(event);
    if (!shared) {
      shared = { context: options.context(null), eventId: encodeEventId(event.topic, event.id), frames: new Map() };
      perEvent.set(event, shared);
    }
    return shared;
  };
  let framesSerialized = 0;
  let framesSent = 0;
  /** The bytes after a subscription's id in its `next` message (errors get their codes first, as in onNext). */
  const frameTail = (result: ExecutionResult): Buffer => {
    const payload = result.errors?.length ? { ...result, errors: formatErrors(result.errors) } : result;
    framesSerialized++;
    return Buffer.from(`,"type":"next","payload":${JSON.stringify(payload)}}`);
  };

  /** Subscriptions' delivery, by their operation context (one object per operation: see onSubscribe). */
  const deliveries = new WeakMap<object, Delivery>();
  const send = (delivery: Delivery, tail: Buffer): Promise<void> => {
    const { socket } = delivery;
    // A closed socket ends the operation (graphql-ws calls return() on the stream): nothing to write.
    if (socket.readyState !== socket.OPEN) return Promise.resolve();
    // The same check onNext makes for what graphql-ws sends: many subscriptions together flooding one socket.
    if (socket.bufferedAmount > limits.maxBufferedBytes) {
      tooSlow(socket);
      return Promise.resolve();
    }
    framesSent++;
    // Resolved once the kernel took the bytes, as graphql-ws's own send: a subscriber's next event
    // waits for that, so one that does not read piles events up in its bounded stream (1013).
    // A write error destroys the socket, whose close ends the operation.
    return new Promise((resolve) => socket.send(Buffer.concat([delivery.head, tail]), { binary: false }, () => resolve()));
  };

  const subscribe = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!isAsyncIterable(source)) return source; // errors (bad arguments, `after` out of the window...)
    const { viewer } = args.contextValue as GraphQLContext;
    const text = documentText.get(args.document);
    // Without a known document text (never, as onSubscribe parses through `documents`) nothing is shared.
    const group =
      text === undefined
        ? null
        : JSON.stringify([text, args.operationName ?? null, args.variableValues ?? null, viewer ? [viewer.userId, viewer.role, viewer.donorId] : null]);
    const tailFor = (event: LiveEvent): Promise<Buffer> => {
      const shared = sharedFor(event);
      const run = async (): Promise<Buffer> => {
        const result = await execute({ ...args, rootValue: event, contextValue: { ...shared.context, viewer } });
        // The id a client passes back as `after` to resume right after this event.
        return frameTail({ ...result, extensions: { ...result.extensions, eventId: shared.eventId } });
      };
      if (group === null) return run();
      let tail = shared.frames.get(group);
      // The same bytes go to every subscriber of the group.
      if (!tail) shared.frames.set(group, (tail = run()));
      return tail;
    };
    const delivery = deliveries.get(args.contextValue as object);
    if (!delivery) throw new Error('subscription without a socket to deliver to');
    return deliverEvents(source as AsyncIterable<LiveEvent>, async (event, wanted) => {
      const tail = await tailFor(event);
      // Completed by the client (or its socket closed) while the event was executing.
      if (wanted()) await send(delivery, tail);
    });
  };

  // Parsed and validated documents by query text, shared by the subscriptions that send the same
  // text (typically every open dashboard): parsing and validating once, and one DocumentNode in
  // memory rather than one per subscription. Bounded in entries and in the text kept.
  const documents = new Map<string, DocumentNode>();
  const documentText = new WeakMap<DocumentNode, string>();
  const parseAndValidate = (query: string): DocumentNode | readonly GraphQLError[] => {
    const known = documents.get(query);
    if (known) {
      // Most recently used last: the first key is the one to drop.
      documents.delete(query);
      documents.set(query, known);
      return known;
    }
    // The same preparation as over HTTP (graphql/prepare.ts): limits, and a code on every error.
    const document = preparation.parseAndValidate(query);
    if (Array.isArray(document)) return document;
    if (query.length <= MAX_SHARED_DOCUMENT_CHARS) {
      documents.set(query, document as DocumentNode);
      documentText.set(document as DocumentNode, query);
      if (documents.size > MAX_SHARED_DOCUMENTS) documents.delete(documents.keys().next().value!);
    }
    return document as DocumentNode;
  };

  // A subscription's operation context: its subscribe() resolvers read only the root (the live
  // services) and their arguments, and events run with a per-event context (above), so the
  // loaders of a full context would sit unused for the subscription's whole life. They are made
  // only if something asks for them.
  const lazyContext = (viewer: Viewer | null): GraphQLContext => {
    let full: GraphQLContext | undefined;
    const get = () => (full ??= options.context(viewer));
    return {
      viewer,
      get requestId() {
        return get().requestId;
      },
      get loaders() {
        return get().loaders;
      },
      get cache() {
        return get().cache;
      },
      get request() {
        return get().request;
      },
      get services() {
        return get().services;
      },
    };
  };

  const server = useServer<Record<string, unknown>, ConnectionState>(
    {
      schema,
      subscribe,
      onConnect: async (ctx) => {
        const auth = ctx.connectionParams?.authorization;
        try {
          ctx.extra.viewer = await options.authenticate(typeof auth === 'string' ? auth : undefined);
        } catch (err) {
          options.logger.info({ err: (err as Error).message }, 'websocket connection refused');
          // graphql-ws closes with 4403 Forbidden when onConnect returns false.
          return false;
        }
        const { socket } = ctx.extra;
        if (ctx.extra.viewer && typeof auth === 'string') {
          connections.set(socket, { socket, viewer: ctx.extra.viewer, authorization: auth, operations: () => Object.keys(ctx.subscriptions).length });
          socket.once('close', () => connections.delete(socket));
        }
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        // ctx.subscriptions already holds this operation.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.maxSubscriptionsPerConnection} operations may be open on one connection.`, {
              extensions: { code: ErrorCode.RATE_LIMITED },
            }),
          ];
        }
        const parsed = parseAndValidate(payload.query);
        if (!('kind' in parsed)) return [...parsed];
        const prepared = preparation.prepare(payload, parsed);
        if (prepared.errors) return prepared.errors;
        const { document, operation } = prepared;
        const { socket } = ctx.extra;
        // Who sent it, as for HTTP (TRUST_PROXY): sign-in and sign-up over the socket draw from the same budgets.
        const request = newRequestState({ ip: clientIp(ctx.extra.request, options.trustedProxies) });
        try {
          await options.checkCredentials?.({ schema, document, operation, variables: payload.variables, client: request.client });
        } catch (err) {
          if (err instanceof GraphQLError) return [err];
          throw err;
        }
        let contextValue: GraphQLContext;
        if (operation?.operation === 'subscription') {
          contextValue = lazyContext(ctx.extra.viewer ?? null);
          // Its events are written by deliverEvents, not by graphql-ws: see `subscribe`.
          deliveries.set(contextValue, { socket, head: Buffer.from(`{"id":${JSON.stringify(id)}`) });
        } else {
          contextValue = options.context(ctx.extra.viewer ?? null, request);
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue,
          // Subscriptions reach the engine through their root value (see pubsub/live.ts).
          rootValue:
            operation?.operation === 'subscription'
              ? createLiveRoot(live, { maxQueued: limits.maxQueuedEvents, onOverflow: () => tooSlow(socket) })
              : undefined,
        };
      },
      onOperation: () => {
        operationCount++;
      },
      onComplete: () => {
        operationCount--;
      },
      // What graphql-ws still sends itself: queries and mutations over the socket, and a
      // subscription's own errors result (bad arguments...). Subscription events go through `send`.
      onNext: (ctx, _id, _payload, _args, result) => {
        // graphql-ws awaits each send, so events queue in our streams (bounded) rather than
        // here; this catches a connection whose many operations together flood the socket.
        if (ctx.extra.socket.bufferedAmount > limits.maxBufferedBytes) tooSlow(ctx.extra.socket);
        if (result.errors?.length) return { ...result, errors: formatErrors(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        options.logger.debug({ errors: errors.map((e: GraphQLError) => e.message) }, 'websocket operation error');
        return formatErrors(errors);
      },
    },
    wss,
    limits.keepAliveMs,
  );

  // A signed-out session's sockets close at once, on every instance (logout publishes it).
  const stopListening = live.pubsub.listen('sessionRevoked', ({ payload }) => {
    for (const c of connections.values()) if (c.viewer.sessionId === payload.sessionId) endSession(c.socket, 'signed out');
  });
  // And every connection is re-verified periodically: expired tokens, revocations whose
  // broadcast was lost (Redis blip) or that did not come from logout (refresh token reuse).
  const reauth = setInterval(() => {
    for (const c of connections.values()) {
      options.authenticate(c.authorization).catch((err: unknown) => {
        // Only a verdict on the token ends the session; an unreachable session store does not.
        if (err instanceof GraphQLError && err.extensions.code === ErrorCode.UNAUTHENTICATED) endSession(c.socket, err.message);
      });
    }
  }, limits.reauthenticateMs);
  reauth.unref();

  return {
    stats: () => ({ connections: wss.clients.size, operations: operationCount, closedTooSlow, framesSerialized, framesSent }),
    close: async () => {
      clearInterval(reauth);
      stopListening();
      // dispose() sends 1001 Going Away to every client and resolves once all have closed; a
      // client that does not answer (frozen, or not reading) is cut after the grace period.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, limits.closeGraceMs);
      try {
        await server.dispose();
      } finally {
        clearTimeout(cut);
      }
    },
  };
}


function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Consumes a subscription's events, handing each to `deliver` (which writes it to the socket)
 * before taking the next, and yields nothing: graphql-ws sees an operation that ends when the
 * source does (then sends `complete`) or fails (then sends `error`). A hand-written iterator
 * rather than an async generator: return() must reach the source at once (an async generator's
 * return() waits for the pending next(), i.e. for the next event, which may never come), or
 * closed sockets would leak subscriptions.
 */
function deliverEvents<T>(source: AsyncIterable<T>, deliver: (value: T, wanted: () => boolean) => Promise<void>): AsyncIterableIterator<never> {
  const it = source[Symbol.asyncIterator]();
  let ended = false;
  const wanted = () => !ended;
  const end = async () => {
    ended = true;
    await it.return?.();
  };
  return {
    async next() {
      for (;;) {
        const r = await it.next();
        if (r.done || ended) return { value: undefined, done: true };
        try {
          await deliver(r.value, wanted);
        } catch (err) {
          // for-await does not call return() when next() rejects: release the source here.
          await end();
          throw err;
        }
      }
    },
    async return() {
      await end();
      return { value: undefined, done: true };
    },
    async throw(err: unknown) {
      await end();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
