// Real graphql-ws clients for subscription tests: each records what it receives and lets a test
// await "n events", "closed with a code" or an error, as deferred promises (no sleeps).
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Instance } from '../helpers/app.js';

export interface Received<T> {
  data: T;
  eventId: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface LiveSubscription<T> {
  readonly client: Client;
  readonly events: Received<T>[];
  /** Resolves once `count` events have arrived in total (rejects after timeoutMs). */
  received(count: number, timeoutMs?: number): Promise<Received<T>[]>;
  /** Resolves once an event satisfying `match` has arrived; with all events so far. */
  receivedWhere(match: (data: T) => boolean, timeoutMs?: number): Promise<Received<T>[]>;
  /** Resolves when the server has acknowledged the connection. */
  readonly connected: Promise<void>;
  /** Resolves when the socket closes, with its code. */
  readonly closed: Promise<CloseInfo>;
  /** Resolves with the first error the operation gets (GraphQL errors or a close event). */
  readonly failed: Promise<unknown>;
  /** Resolves when the server completes the operation. */
  readonly completed: Promise<void>;
  dispose(): Promise<void>;
}

const open = new Set<LiveSubscription<unknown>>();
if (typeof afterAll === 'function') afterAll(async () => void (await Promise.allSettled([...open].map((s) => s.dispose()))));

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface SubscribeOptions {
  token?: string;
  variables?: Record<string, unknown>;
}

/** One client (one WebSocket) with one subscription. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function subscribe<T = any>(instance: Instance | string, query: string, opts: SubscribeOptions = {}): LiveSubscription<T> {
  const url = typeof instance === 'string' ? instance : instance.wsUrl;
  const closed = deferred<CloseInfo>();
  const failed = deferred<unknown>();
  const completed = deferred<void>();
  const connected = deferred<void>();
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: (err) => failed.resolve(err),
    on: {
      connected: () => connected.resolve(),
      closed: (event) => {
        const e = event as { code: number; reason: string };
        closed.resolve({ code: e.code, reason: String(e.reason) });
      },
    },
  });
  const events: Received<T>[] = [];
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  client.subscribe<T>(
    { query, variables: opts.variables },
    {
      next: (result) => {
        if (result.errors?.length) return failed.resolve(result.errors);
        events.push({ data: result.data as T, eventId: (result.extensions as { eventId: string }).eventId });
        for (const w of [...waiters]) if (w.ready()) w.resolve();
      },
      error: (err) => failed.resolve(err),
      complete: () => completed.resolve(),
    },
  );
  const waitFor = (ready: () => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<Received<T>[]>((resolve, reject) => {
      if (ready()) return resolve(events);
      const timer = setTimeout(() => reject(new Error(`expected ${what} within ${timeoutMs} ms; got ${events.length} events`)), timeoutMs);
      const waiter = {
        ready,
        resolve: () => {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(waiter), 1);
          resolve(events);
        },
      };
      waiters.push(waiter);
      void failed.promise.then((err) => {
        clearTimeout(timer);
        reject(new Error(`subscription failed while waiting for ${what}: ${JSON.stringify(err)}`));
      });
    });
  let disposed: Promise<void> | undefined;
  const sub: LiveSubscription<T> = {
    client,
    events,
    received: (count, timeoutMs) => waitFor(() => events.length >= count, `${count} events`, timeoutMs).then(() => events.slice(0, count)),
    receivedWhere: (match, timeoutMs) => waitFor(() => events.some((e) => match(e.data)), 'a matching event', timeoutMs),
    connected: connected.promise,
    closed: closed.promise,
    failed: failed.promise,
    completed: completed.promise,
    dispose: () =>
      (disposed ??= (async () => {
        open.delete(sub as LiveSubscription<unknown>);
        await client.dispose();
      })()),
  };
  open.add(sub as LiveSubscription<unknown>);
  return sub;
}

/** Polls a server-side condition until it holds (server state has no event to await). */
export async function eventually(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Resolves once the instance has at least `n` WebSocket operations open (subscriptions registered). */
/**
 * Waits until n operations are open AND listening: an operation counts as open when graphql-ws
 * accepts it, a moment before its event source is attached; a write committed in between is,
 * rightly, not delivered to it (it subscribed after), which a test must not mistake for a loss.
 */
export function operationsOpen(instance: Instance, n: number, timeoutMs?: number): Promise<void> {
  return eventually(
    `${n} open operations on ${instance.url}`,
    () => {
      const stats = instance.app.liveStats();
      return stats.ws.operations >= n && stats.pubsub.listeners >= n;
    },
    timeoutMs,
  );
}
