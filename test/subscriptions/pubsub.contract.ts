// One contract, run against every PubSub engine (ARCHITECTURE 18): in-process and Redis.
import type { HospitalRow, InventoryRow } from '../../src/db/schema.js';
import { subscribeTopic } from '../../src/pubsub/event-stream.js';
import type { Envelope, PubSub, RetentionOptions } from '../../src/pubsub/pubsub.js';
import type { TopicMap } from '../../src/pubsub/topics.js';
import { deferred } from './helpers.js';

export interface EngineFactory {
  /** A new engine; engines made by one factory call within a test share their events. */
  make(retention?: RetentionOptions): Promise<PubSub>;
  /** Closes what make() opened. */
  cleanup(): Promise<void>;
}

const hospital: HospitalRow = { id: 7, name: 'Seabright Infirmary', region: 'Coast', city: 'Seabright' };
const item = (units: number): InventoryRow => ({ hospitalId: 7, bloodGroup: 'O_NEG', units, updatedAt: new Date('2026-11-22T10:00:00.123Z') });
const payload = (units: number): TopicMap['inventoryChanged'] => ({ item: item(units), hospital });

/** Collects a listener's events; `until(n)` resolves when n have arrived. */
function collector<T>() {
  const got: T[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    got,
    push: (value: T) => {
      got.push(value);
      for (const w of waiters.filter((w) => got.length >= w.n)) w.resolve();
    },
    until: (n: number) =>
      new Promise<T[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} events, got ${got.length}`)), 5000);
        const done = () => (clearTimeout(timer), resolve(got.slice(0, n)));
        if (got.length >= n) done();
        else waiters.push({ n, resolve: done });
      }),
  };
}

async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

export function pubsubContract(name: string, factory: () => EngineFactory): void {
  describe(`PubSub contract: ${name}`, () => {
    let f: EngineFactory;
    beforeEach(() => {
      f = factory();
    });
    afterEach(() => f.cleanup());

    test('a published event reaches every listener once, decoded (Dates are Dates), with increasing ids', async () => {
      const [pub, sub] = [await f.make(), await f.make()];
      const one = collector<Envelope<'inventoryChanged'>>();
      const two = collector<Envelope<'inventoryChanged'>>();
      pub.listen('inventoryChanged', one.push);
      sub.listen('inventoryChanged', two.push);
      const ids = [await pub.publish('inventoryChanged', payload(1)), await sub.publish('inventoryChanged', payload(2))];
      const [gotOne, gotTwo] = await Promise.all([one.until(2), two.until(2)]);
      expect(gotOne.map((e) => e.id)).toEqual(ids);
      expect(gotTwo.map((e) => e.id)).toEqual(ids);
      expect(gotOne[0]!.payload).toEqual(payload(1));
      expect(gotOne[0]!.payload.item.updatedAt).toBeInstanceOf(Date);
      expect(gotOne[0]!.topic).toBe('inventoryChanged');
    });

    test('history: events after an id, oldest first; null for an id not in the log', async () => {
      const ps = await f.make();
      const ids: string[] = [];
      for (let i = 1; i <= 5; i++) ids.push((await ps.publish('inventoryChanged', payload(i)))!);
      const after2 = await ps.history('inventoryChanged', ids[1]!, 10);
      expect(after2!.map((e) => e.id)).toEqual(ids.slice(2));
      expect(after2!.map((e) => e.payload.item.units)).toEqual([3, 4, 5]);
      expect((await ps.history('inventoryChanged', ids[1]!, 2))!.map((e) => e.id)).toEqual(ids.slice(2, 4));
      expect(await ps.history('inventoryChanged', ids[4]!, 10)).toEqual([]);
      expect(await ps.history('inventoryChanged', '1-0', 10)).toBeNull();
    });

    test('per-entity order: an older or repeated version is refused, a newer one goes out', async () => {
      const ps = await f.make();
      const got = collector<Envelope<'inventoryChanged'>>();
      ps.listen('inventoryChanged', got.push);
      const order = (version: string) => ({ entity: '7:O_NEG', version });
      expect(await ps.publish('inventoryChanged', payload(10), order('1000'))).not.toBeNull();
      expect(await ps.publish('inventoryChanged', payload(9), order('999'))).toBeNull(); // arrived late: superseded
      expect(await ps.publish('inventoryChanged', payload(10), order('1000'))).toBeNull(); // a retried publish
      expect(await ps.publish('inventoryChanged', payload(11), order('10000'))).not.toBeNull(); // longer = larger
      expect(await ps.publish('inventoryChanged', payload(5), { entity: '8:O_NEG', version: '1' })).not.toBeNull(); // another entity
      await got.until(3);
      expect(got.got.map((e) => e.payload.item.units)).toEqual([10, 11, 5]);
      expect(ps.stats().superseded).toBe(2);
    });

    test('replay then live: no gap, no duplicate, filter applied, even with events published during the replay', async () => {
      const [pub, sub] = [await f.make(), await f.make()];
      const ids: string[] = [];
      for (let i = 1; i <= 6; i++) ids.push((await pub.publish('inventoryChanged', payload(i)))!);
      const onOverflow = jest.fn();
      // Page size 2: the replay takes several reads while the publisher goes on.
      const stream = await subscribeTopic(sub, 'inventoryChanged', {
        after: ids[1]!,
        filter: (p) => p.item.units % 2 === 0,
        maxQueued: 100,
        onOverflow,
        pageSize: 2,
      });
      const more = (async () => {
        for (let i = 7; i <= 12; i++) await pub.publish('inventoryChanged', payload(i));
      })();
      const got = await take(stream, 5);
      await more;
      expect(got.map((e) => e.payload.item.units)).toEqual([4, 6, 8, 10, 12]);
      await stream.return!();
      expect(onOverflow).not.toHaveBeenCalled();
    });

    test('a subscription that does not keep up overflows once and ends; return() releases the listener at once', async () => {
      const ps = await f.make();
      const base = ps.stats().listeners;
      const overflowed = deferred<void>();
      const slow = await subscribeTopic(ps, 'inventoryChanged', { maxQueued: 3, onOverflow: () => overflowed.resolve() });
      const idle = await subscribeTopic(ps, 'inventoryChanged', { maxQueued: 100, onOverflow: () => {} });
      expect(ps.stats().listeners).toBe(base + 2);
      for (let i = 1; i <= 5; i++) await ps.publish('inventoryChanged', payload(i));
      await overflowed.promise;
      expect(await slow.next()).toEqual({ value: undefined, done: true });
      // A pending next() is answered by return(), not left waiting for an event.
      const drained = await take(idle, 5);
      expect(drained).toHaveLength(5);
      const pending = idle.next();
      await idle.return!();
      expect(await pending).toEqual({ value: undefined, done: true });
      expect(ps.stats().listeners).toBe(base);
    });

    test('retention: an id trimmed out of the log cannot be resumed from', async () => {
      const ps = await f.make({ maxEvents: 10 });
      const first = await ps.publish('inventoryChanged', payload(0));
      // Redis trims approximately (whole stream nodes of 100 entries): publish well past that.
      for (let i = 1; i <= 260; i++) void ps.publish('inventoryChanged', payload(i));
      const last = await ps.publish('inventoryChanged', payload(261));
      expect(await ps.history('inventoryChanged', first!, 10)).toBeNull();
      expect(await ps.history('inventoryChanged', last!, 10)).toEqual([]);
    });
  });
}
