// Private responses are encrypted at rest in Redis (docs/privacy.md): someone who can read Redis
// (or a backup of it) finds no donor's email, phone or name there after donors read their own
// profile; an entry's bytes copied under another user's key, or into the next epoch after a
// purge, do not open: the reader gets a freshly computed answer, never the copied one.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';
import { scanKeys, testRedisClient, testRedisUrl, uniqueCachePrefix } from '../helpers/redis.js';

const db = useSeededDatabase();
const redis = testRedisClient();
afterAll(() => redis.quit());

const ME = '{ me { id name email phone } }';

interface Donor {
  token: string;
  donorId: string;
  name: string;
  email: string;
  phone: string;
}

async function register(url: string, label: string): Promise<Donor> {
  const tag = randomBytes(4).toString('hex');
  const input = {
    email: `${label.toLowerCase()}.${tag}@private.example.org`,
    password: 'long enough password',
    name: `${label} Secretname${tag}`,
    phone: `+44 7700 9${String(parseInt(tag, 16) % 100000).padStart(5, '0')}`,
    bloodGroup: 'O_POS',
    region: 'North',
    city: 'Northgate',
  };
  const data = expectNoErrors(await gql(url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken donor { id } } }', { i: input }));
  return { token: data.register.accessToken, donorId: data.register.donor.id, name: input.name, email: input.email, phone: input.phone };
}

/** Every value under the prefix as text, whatever the key's type. */
async function dump(prefix: string): Promise<Map<string, string>> {
  const keys = new Set([...(await scanKeys(redis, `${prefix}*`)), ...(await scanKeys(redis, `*${prefix}*`))]);
  const out = new Map<string, string>();
  for (const key of keys) {
    const type = await redis.type(key);
    let value = '';
    if (type === 'string') value = (await redis.get(key)) ?? '';
    else if (type === 'set') value = (await redis.smembers(key)).join('\n');
    else if (type === 'hash') value = JSON.stringify(await redis.hgetall(key));
    else if (type === 'zset') value = (await redis.zrange(key, 0, -1, 'WITHSCORES')).join('\n');
    else if (type === 'list') value = (await redis.lrange(key, 0, -1)).join('\n');
    else if (type === 'stream') value = JSON.stringify(await redis.xrange(key, '-', '+'));
    out.set(key, value);
  }
  return out;
}

const privateKeysOf = async (prefix: string) => [...(await dump(prefix)).keys()].filter((k) => /:resp:user:\d+:/.test(k));

/** An entry is `<header length: 8 digits><store header><cache value>` (cache/redis-store.ts). */
const splitEntry = (raw: string) => {
  const end = 8 + Number(raw.slice(0, 8));
  return { header: raw.slice(0, end), value: raw.slice(end) };
};

describe('private cache entries in Redis', () => {
  let instance: Instance;
  let prefix: string;
  beforeAll(async () => {
    prefix = uniqueCachePrefix();
    // L1 off: every read below goes to Redis, so what Redis holds is what is served.
    instance = await startInstance({ databaseUrl: db().url, redisUrl: testRedisUrl(), env: { CACHE_PREFIX: prefix, CACHE_L1_MB: '0' } });
  }, 60_000);

  test('no email or phone read by their owners (or by staff) appears in any Redis key or value, nor their names in a private entry', async () => {
    const ada = await register(instance.url, 'Ada');
    const bo = await register(instance.url, 'Bo');
    for (const who of [ada, bo]) {
      for (let i = 0; i < 2; i++) {
        const me = expectNoErrors(await gql(instance.url, ME, undefined, { token: who.token })).me;
        expect(me).toEqual({ id: who.donorId, name: who.name, email: who.email, phone: who.phone });
      }
    }
    // A staff view of contacts, private to the staff account.
    const { staff } = await demoTokens(instance.url);
    const seen = expectNoErrors(await gql(instance.url, `{ donor(id: "${ada.donorId}") { email phone } }`, undefined, { token: staff })).donor;
    expect(seen).toEqual({ email: ada.email, phone: ada.phone });
    await gql(instance.url, `{ donor(id: "${ada.donorId}") { email phone } }`, undefined, { token: staff });

    const values = await dump(prefix);
    expect([...values.keys()].filter((k) => /:resp:user:\d+:/.test(k)).length).toBeGreaterThanOrEqual(3);
    const contacts = await query<{ email: string | null; phone: string | null }>(db().url, 'SELECT email, phone FROM donors');
    const secrets = [ada.email, ada.phone, bo.email, bo.phone, ...contacts.flatMap((c) => [c.email, c.phone])].filter((v): v is string => Boolean(v));
    // A donor's name is a PUBLIC field (anyone may read it), so the shared entity entry of a donor
    // holds it as it holds any public data; it must not show in a private response or in any key.
    const names = [ada.name, bo.name];
    const leaks: string[] = [];
    for (const [key, value] of values) {
      const isPrivate = /:resp:user:\d+:/.test(key);
      const found =
        secrets.find((s) => key.includes(s) || value.includes(s) || value.includes(JSON.stringify(s).slice(1, -1))) ??
        names.find((n) => key.includes(n) || (isPrivate && value.includes(n)));
      if (found) leaks.push(`${key} holds ${found}`);
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  test("a private entry copied under another user's key gives that user their own answer", async () => {
    const ada = await register(instance.url, 'Ada');
    const before = new Set(await privateKeysOf(prefix));
    expect(expectNoErrors(await gql(instance.url, ME, undefined, { token: ada.token })).me.email).toBe(ada.email);
    const adaKey = (await privateKeysOf(prefix)).find((k) => !before.has(k))!;
    expect(adaKey).toBeDefined();

    const bo = await register(instance.url, 'Bo');
    const boFirst = await gql(instance.url, ME, undefined, { token: bo.token });
    expect(expectNoErrors(boFirst).me.email).toBe(bo.email);
    const boKey = (await privateKeysOf(prefix)).find((k) => !before.has(k) && k !== adaKey)!;
    expect(boKey).toBeDefined();
    // Same query, so the two keys differ only in the user they name.
    expect(boKey.replace(/:resp:user:\d+:/, ':')).toBe(adaKey.replace(/:resp:user:\d+:/, ':'));

    // Someone with write access to Redis copies Ada's entry over Bo's.
    const adaRaw = await redis.get(adaKey);
    await redis.set(boKey, adaRaw!, 'PX', 60_000);
    const bo2 = await gql(instance.url, ME, undefined, { token: bo.token });
    expect(expectNoErrors(bo2).me).toEqual({ id: bo.donorId, name: bo.name, email: bo.email, phone: bo.phone });
    expect(bo2.headers.get('x-cache')).not.toBe('HIT');
  }, 60_000);

  test('after purgeCache(type: "*") an older private entry does not open, even copied into the new epoch', async () => {
    const ada = await register(instance.url, 'Ada');
    const before = new Set(await privateKeysOf(prefix));
    expect(expectNoErrors(await gql(instance.url, ME, undefined, { token: ada.token })).me.phone).toBe(ada.phone);
    const oldKey = (await privateKeysOf(prefix)).find((k) => !before.has(k))!;
    const oldRaw = (await redis.get(oldKey))!;
    expect(oldRaw).toBeTruthy();

    // The phone changes behind the cache's back: only a recomputed answer shows the new one.
    const newPhone = '+44 7700 900999';
    await query(db().url, `UPDATE donors SET phone = '${newPhone}' WHERE id = ${Number(ada.donorId)}`);
    const { admin } = await demoTokens(instance.url);
    expectNoErrors(await gql(instance.url, 'mutation { purgeCache(type: "*") }', undefined, { token: admin }));

    expect(expectNoErrors(await gql(instance.url, ME, undefined, { token: ada.token })).me.phone).toBe(newPhone);
    const newKey = (await privateKeysOf(prefix)).find((k) => !before.has(k) && k !== oldKey && k.endsWith(oldKey.slice(oldKey.indexOf(':resp:user:'))))!;
    expect(newKey).toBeDefined();
    expect(newKey).not.toBe(oldKey);

    // The old epoch's value spliced into the new entry (the new entry's own store header kept, so
    // only the value's own protection stands between it and the reader).
    const fresh = splitEntry((await redis.get(newKey))!);
    await redis.set(newKey, fresh.header + splitEntry(oldRaw).value, 'PX', 60_000);
    const again = await gql(instance.url, ME, undefined, { token: ada.token });
    expect(expectNoErrors(again).me.phone).toBe(newPhone);
    expect(again.headers.get('x-cache')).not.toBe('HIT');
  }, 60_000);
});
