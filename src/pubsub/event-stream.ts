// One subscription's events as an async iterator: optionally the matching events it missed
// (replayed from the topic's log after `after`), then live ones, with no gap and no duplicate,
// through a bounded queue.
//
//   listen (live events held) ─► replay pages from the log ─► held live events newer than the
//   replay ─► live events as they come
//
// No gap: the listener is registered BEFORE the first log read, so every event is either already
// in the log when a page is read, or dispatched to the listener afterwards (an event is logged
// before it is dispatched anywhere). No duplicate: the cursor is the last log id the replay
// consumed (or `after`); a live event at or before it is dropped, then and later (the instance
// may not even have dispatched `after` yet when a client resumes from another instance).
import { compareIds, type Envelope, type PubSub } from './pubsub.js';
import type { Topic, TopicMap } from './topics.js';

/** What a connection does about subscribers that do not keep up. */
export interface DeliveryPolicy {
  /** Events waiting for one subscription (live or held during replay) before onOverflow. */
  maxQueued: number;
  /** Called once when a subscription's queue is full; the stream ends. The WebSocket layer closes the connection. */
  onOverflow(): void;
}

export interface TopicStreamOptions<T extends Topic> extends DeliveryPolicy {
  /** Log id of the last event the client saw; replay what came after it. */
  after?: string | null;
  /** Server-side filter; non-matching events are never queued. */
  filter?: (payload: TopicMap[T]) => boolean;
  /** Events read from the log at a time while replaying. Default 500. */
  pageSize?: number;
}

/** `after` is no longer in the log: the caller cannot be told what it missed. */
export class ReplayUnavailable extends Error {
  constructor(readonly after: string) {
    super(`event ${after} is no longer in the replay window`);
  }
}

/**
 * Starts a subscription. With `after`, reads the first replay page before resolving, so an
 * `after` that left the window rejects here (ReplayUnavailable) rather than mid-stream.
 */
export async function subscribeTopic<T extends Topic>(
  pubsub: PubSub,
  topic: T,
  options: TopicStreamOptions<T>,
): Promise<AsyncIterableIterator<Envelope<T>>> {
  const stream = new TopicStream(pubsub, topic, options);
  try {
    await stream.start();
  } catch (err) {
    stream.close();
    throw err;
  }
  return stream;
}

class TopicStream<T extends Topic> implements AsyncIterableIterator<Envelope<T>> {
  private readonly queue: Envelope<T>[] = [];
  /** Live events held while replaying; null once live. */
  private held: Envelope<T>[] | null;
  /** Last log id consumed (replay) or given (`after`); live events at or before it are old. */
  private cursor: string | null;
  private replaying: boolean;
  private waiting: ((result: IteratorResult<Envelope<T>>) => void) | null = null;
  private done = false;
  private readonly unlisten: () => void;
  private readonly pageSize: number;

  constructor(
    private readonly pubsub: PubSub,
    private readonly topic: T,
    private readonly options: TopicStreamOptions<T>,
  ) {
    this.cursor = options.after ?? null;
    this.replaying = this.cursor !== null;
    this.held = this.replaying ? [] : null;
    this.pageSize = options.pageSize ?? 500;
    // First: see the note at the top of the file.
    this.unlisten = pubsub.listen(topic, (event) => this.onLive(event));
  }

  async start(): Promise<void> {
    if (this.replaying) await this.replayPage();
  }

  private matches(event: Envelope<T>): boolean {
    return !this.options.filter || this.options.filter(event.payload);
  }

  private onLive(event: Envelope<T>): void {
    if (this.done || !this.matches(event)) return;
    if (this.held) {
      if (this.held.length >= this.options.maxQueued) return this.overflow();
      this.held.push(event);
      return;
    }
    if (this.cursor !== null && compareIds(event.id, this.cursor) <= 0) return;
    this.offer(event);
  }

  private offer(event: Envelope<T>): void {
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: event, done: false });
    } else if (this.queue.length >= this.options.maxQueued) {
      this.overflow();
    } else {
      this.queue.push(event);
    }
  }

  private async replayPage(): Promise<void> {
    const page = await this.pubsub.history(this.topic, this.cursor!, this.pageSize);
    if (this.done) return;
    if (page === null) throw new ReplayUnavailable(this.cursor!);
    // At most one page is queued at a time (the next is read when the queue is empty).
    for (const event of page) {
      this.cursor = event.id;
      if (this.matches(event)) this.queue.push(event);
    }
    if (page.length < this.pageSize) {
      this.replaying = false;
      const held = this.held!;
      this.held = null;
      for (const event of held) if (compareIds(event.id, this.cursor!) > 0 && !this.done) this.offer(event);
    }
  }

  private overflow(): void {
    if (this.done) return;
    this.close();
    this.options.onOverflow();
  }

  close(): void {
    if (this.done) return;
    this.done = true;
    this.unlisten();
    this.queue.length = 0;
    this.held = null;
    const resolve = this.waiting;
    this.waiting = null;
    resolve?.({ value: undefined, done: true });
  }

  async next(): Promise<IteratorResult<Envelope<T>>> {
    for (;;) {
      if (this.queue.length) return { value: this.queue.shift()!, done: false };
      if (this.done) return { value: undefined, done: true };
      if (!this.replaying) return new Promise((resolve) => (this.waiting = resolve));
      try {
        await this.replayPage();
      } catch (err) {
        this.close();
        throw err;
      }
    }
  }

  // return() must not wait for the next event (an async generator's would): graphql-ws calls it
  // when the client completes or the socket closes, and it is what removes our listener.
  async return(): Promise<IteratorResult<Envelope<T>>> {
    this.close();
    return { value: undefined, done: true };
  }

  async throw(err: unknown): Promise<IteratorResult<Envelope<T>>> {
    this.close();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
