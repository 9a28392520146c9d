// Live updates over graphql-ws that survive server restarts.
//
// The graphql-ws client reconnects forever (with capped, jittered backoff) but would resubscribe
// with the original variables. We want each subscription to resume after the last event it
// delivered (`after: <eventId>`, replayed by the server from its event log), so we own the
// subscriptions' lifetime instead: they are dropped when the socket closes and started afresh,
// with their latest `after`, every time a connection is acknowledged. When resuming is not
// possible (a feed had no event yet, or the server no longer knows the id) the caller re-runs
// its query: events are snapshots and state.ts merges them in any order, so overlap is harmless.
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface Feed<TData> {
  /** A subscription document declaring `$after: String` and passing it to its field. */
  query: string;
  onData(data: TData): void;
}

export interface LiveOptions {
  url: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  feeds: Feed<any>[];
  /** Reload the whole state (the page query): events may have been missed. */
  resync(): void;
  onState(state: ConnectionState, detail?: string): void;
  /** Delay before reconnect attempt `retries` (0-based). Default: 0.5 s doubling to 8 s, ±25% jitter. */
  retryDelayMs?: (retries: number) => number;
}

export interface Live {
  client: Client;
  dispose(): void;
}

const defaultDelay = (retries: number) => Math.min(500 * 2 ** retries, 8000) * (0.75 + Math.random() * 0.5);
/** A client ping unanswered this long means the connection is dead (e.g. a dropped network path). */
const PING_EVERY_MS = 10_000;
const PONG_TIMEOUT_MS = 5_000;
/** After a feed fails for a reason other than its cursor, try it again this much later. */
const FEED_RETRY_MS = 5_000;

type Errors = readonly { message: string; extensions?: Record<string, unknown> }[];

export function startLive(options: LiveOptions): Live {
  const cursors = new Map<Feed<unknown>, string>();
  const running = new Map<Feed<unknown>, () => void>();
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  let connectedBefore = false;
  let socket: WebSocket | null = null;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  // Several feeds refused at once (their server restarted) make one reload, not one each.
  let resyncTimer: ReturnType<typeof setTimeout> | undefined;
  const resyncSoon = () => {
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(options.resync, 50);
  };

  const stop = (feed: Feed<unknown>) => {
    running.get(feed)?.();
    running.delete(feed);
  };
  const stopAll = () => {
    for (const feed of [...running.keys()]) stop(feed);
    for (const t of retryTimers) clearTimeout(t);
    retryTimers.clear();
  };

  const start = (feed: Feed<unknown>) => {
    stop(feed);
    const after = cursors.get(feed);
    let ended = false;
    const failed = (errors: Errors) => {
      if (ended) return;
      ended = true;
      running.delete(feed);
      dispose(); // a no-op when the server already ended it
      const cursorRefused = after !== undefined && errors.some((e) => e.extensions?.code === 'BAD_USER_INPUT');
      if (cursorRefused) {
        // The server cannot replay from our id (expired, or a server without a shared event log
        // restarted): start over live and reload the state instead.
        cursors.delete(feed);
        start(feed);
        resyncSoon();
        return;
      }
      console.warn('subscription failed', errors);
      const timer = setTimeout(() => {
        retryTimers.delete(timer);
        if (socket?.readyState === WebSocket.OPEN && !running.has(feed)) start(feed);
      }, FEED_RETRY_MS);
      retryTimers.add(timer);
    };
    const dispose = client.subscribe<unknown, { eventId?: unknown }>(
      { query: feed.query, variables: after ? { after } : {} },
      {
        next: (result: FormattedExecutionResult<unknown, { eventId?: unknown }>) => {
          if (ended) return;
          // A subscription the server refuses at its start (e.g. an `after` it cannot replay
          // from) arrives as one result with errors and no data, then `complete`.
          if (!result.data) return failed(result.errors ?? [{ message: 'an event without data' }]);
          if (result.errors?.length) console.warn('subscription event with errors', result.errors);
          if (typeof result.extensions?.eventId === 'string') cursors.set(feed, result.extensions.eventId);
          feed.onData(result.data);
        },
        // Refused before it started (validation) or a transport failure the client gave up on.
        error: (err: unknown) => failed(Array.isArray(err) ? (err as Errors) : [{ message: describe(err) }]),
        // Only we end these subscriptions (ended is set first); the server ending one is a failure.
        complete: () => failed([{ message: 'the server ended the subscription' }]),
      },
    );
    running.set(feed, () => {
      ended = true;
      dispose();
    });
  };

  const client = createClient({
    url: options.url,
    lazy: false,
    retryAttempts: Infinity,
    // Connection refused (server down) arrives as an error event, not a close event: retry that too.
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, (options.retryDelayMs ?? defaultDelay)(retries))),
    keepAlive: PING_EVERY_MS,
    onNonLazyError: (err) => options.onState('offline', describe(err)),
    on: {
      // Registered here (not with client.on) so they run before the client's own listeners.
      connecting: () => options.onState(connectedBefore ? 'reconnecting' : 'connecting'),
      opened: (s) => {
        socket = s as WebSocket;
      },
      connected: () => {
        options.onState('live');
        const resumable = connectedBefore && options.feeds.every((f) => cursors.has(f));
        for (const feed of options.feeds) start(feed);
        // First connection: the page's initial query is already on its way (main.ts).
        if (connectedBefore && !resumable) resyncSoon();
        connectedBefore = true;
      },
      closed: () => {
        clearTimeout(pongTimer);
        // Drop the subscriptions now; `connected` starts them again with their cursors.
        stopAll();
        if (connectedBefore) options.onState('reconnecting');
      },
      ping: (received) => {
        if (received) return; // the server's ping; the client answers it itself
        pongTimer = setTimeout(() => {
          if (socket?.readyState === WebSocket.OPEN) socket.close(4408, 'Ping timeout');
        }, PONG_TIMEOUT_MS);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  return {
    client,
    dispose: () => {
      clearTimeout(resyncTimer);
      stopAll();
      void client.dispose();
    },
  };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'code' in err) return `closed with code ${(err as { code: unknown }).code}`;
  return String(err);
}
