// Cache keys are an injective encoding of everything that selects the data, and a row's tags
// name exactly the lists it belongs to. Checked over generated inputs (fast-check) rather than
// hand-picked examples: null, 0, false, "", absent, -0, numbers and their digits as strings, and
// strings full of the separators a key is made of.
import fc from 'fast-check';
import { cacheRegistry, defineEntity, defineList, encodeValue, type KeyValue, type ListDecl, type Params } from '../../src/cache/declare.js';
import { cacheDeclarations } from '../../src/modules/index.js';
import { availabilityList, inventoryByHospitalList, inventoryItemCache } from '../../src/modules/inventory/cache.js';

const RUNS = 300;

const tricky = fc.constantFrom('', '0', '-0', 'false', 'true', 'null', 'undefined', 'u', 'n', 's', 'i0', '*', '&', '=', ':', '?', '%', '%25', '[', ']', ',', ' ', 'a&b=c', 'x:1', 'São Paulo', '\u{1F600}', '\uD800');
/** Every kind of value a caller's argument can become. */
const value: fc.Arbitrary<KeyValue> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, -0, 1, -1, NaN, Infinity, 2 ** 53),
  fc.integer(),
  fc.double(),
  fc.integer().map(String),
  tricky,
  fc.string(),
  fc.string({ unit: 'binary' }),
);

/** Same selection: every name has the same value (absent and undefined are one thing). */
const sameValues = (names: readonly string[], a: Params, b: Params) => names.every((n) => Object.is(a[n], b[n]));
const paramsOf = (names: readonly string[]) => fc.record(Object.fromEntries(names.map((n) => [n, value])) as Record<string, fc.Arbitrary<KeyValue>>, { requiredKeys: [] });

test('encodeValue: different values, different texts; none contains a separator', () => {
  fc.assert(
    fc.property(value, value, (a, b) => {
      expect(encodeValue(a) === encodeValue(b)).toBe(Object.is(a, b));
      expect(encodeValue(a)).toMatch(/^[A-Za-z0-9_.%+-]*$/);
    }),
    { numRuns: 2_000 },
  );
});

describe.each(cacheDeclarations.lists.map((l) => [l.name, l] as const))('declared list %s', (_name, list: ListDecl<never, never>) => {
  const names = [...list.filters.map((f) => f.name), ...list.params];
  const filterNames = list.filters.map((f) => f.name);

  test('another page or filter never shares its key', () => {
    fc.assert(
      fc.property(paramsOf(names), paramsOf(names), (a, b) => {
        expect(list.key(a) === list.key(b)).toBe(sameValues(names, a, b));
        expect(list.countKey(pick(filterNames, a)) === list.countKey(pick(filterNames, b))).toBe(sameValues(filterNames, a, b));
      }),
      { numRuns: RUNS },
    );
  });

  test('its keys are nobody else’s: no other list, count or entity key equals one', () => {
    const others = cacheDeclarations.lists.filter((l) => l !== list);
    fc.assert(
      fc.property(paramsOf(names), fc.nat(others.length - 1), fc.nat(others.length * 7), fc.nat(), (a, which, seed, id) => {
        const other = others[which]!;
        const otherNames = [...other.filters.map((f) => f.name), ...other.params];
        const b = Object.fromEntries(otherNames.map((n, i) => [n, a[names[(i + seed) % names.length]!]]));
        expect(list.key(a)).not.toBe(other.key(b));
        expect(list.countKey(pick(filterNames, a))).not.toBe(other.countKey(pick(other.filters.map((f) => f.name), b)));
        expect(list.key(a)).not.toBe(list.countKey(pick(filterNames, a)));
        expect(list.key(a)).not.toBe(list.entity.key(list.entity.idFields.map(() => id)));
      }),
      { numRuns: RUNS },
    );
  });

  test("a row's tags name every list whose filters it matches, and no other", () => {
    // Which row fields each filter reads, found by asking it.
    const fields = new Set<string>();
    const recorder = new Proxy({}, { get: (_t, prop) => (fields.add(String(prop)), undefined) });
    for (const f of list.filters) f.of(recorder as never);
    fc.assert(
      fc.property(paramsOf([...fields]), paramsOf(filterNames), (row, query) => {
        const tags = list.rowTags(row as never);
        expect(tags.includes(list.tag(query))).toBe(matches(list.filters, row, query));
      }),
      { numRuns: RUNS },
    );
  });
});

test('generated lists: a row is tagged with exactly the lists whose filters it matches', () => {
  const filterSpecs = fc.uniqueArray(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd'), optional: fc.boolean() }), { selector: (f) => f.name, maxLength: 4 });
  fc.assert(
    fc.property(filterSpecs, paramsOf(['a', 'b', 'c', 'd']), paramsOf(['a', 'b', 'c', 'd']), (specs, row, query) => {
      const entity = defineEntity<Params>({ type: 'Row' });
      const filters = specs.map((s) => ({ ...s, of: (r: Params) => r[s.name] }));
      const list = defineList({ name: 'rows', of: entity, filters, params: ['page'] });
      cacheRegistry([entity as never, list as never]);
      const q = pick(specs.map((s) => s.name), query);
      expect(list.rowTags(row).includes(list.tag(q))).toBe(matches(filters, row, q));
      // A write of the row moves every list it is in, before and after.
      expect(entity.tagsOf({ ...row, id: 1 }, { ...query, id: 1 })).toEqual(expect.arrayContaining([...list.rowTags(row), ...list.rowTags(query)]));
    }),
    { numRuns: 1_000 },
  );
});

test('entity keys: Type:id, one per id; purge ids parse to the same tags', () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat(), (a, b) => {
      const donor = cacheRegistryEntity('Donor');
      expect(donor.key(a) === donor.key(b)).toBe(a === b);
      expect(donor.key(a)).toBe(`Donor:${a}`);
      expect(cacheDeclarations.purgeTags('Donor', String(a))).toEqual({ tags: [donor.key(a)] });
    }),
  );
  expect(cacheDeclarations.purgeTags('InventoryItem', '3:O_NEG')).toEqual({ tags: ['InventoryItem:3:O_NEG'] });
  expect(cacheDeclarations.purgeTags('Nope', null)).toMatchObject({ field: 'type' });
  expect(cacheDeclarations.purgeTags('Donor', 'x:1')).toMatchObject({ field: 'id' });
});

function cacheRegistryEntity(type: string) {
  const list = cacheDeclarations.lists.find((l) => l.entity.type === type);
  if (!list) throw new Error(`no list of ${type}`);
  return list.entity;
}

function pick(names: readonly string[], values: Params): Params {
  return Object.fromEntries(names.filter((n) => n in values).map((n) => [n, values[n]]));
}

/** The oracle: an unset optional filter keeps every row; any other filter keeps rows with its exact value. */
function matches(filters: readonly { name: string; optional?: boolean; of(row: never): KeyValue }[], row: Params, query: Params): boolean {
  const unset = (v: KeyValue) => v === undefined || v === null || v === '';
  return filters.every((f) => (f.optional && unset(query[f.name])) || Object.is(f.of(row as never), query[f.name]));
}

test('a fetch that answers a key it was not asked for (or skips one) throws instead of being cached or defaulted', async () => {
  const { ForeignKeyError, readThroughMany, readLists } = await import('../../src/graphql/request-cache.js');
  await expect(readThroughMany(null, 'Donor', ['Donor:1'], async () => new Map([['Donor:2', { id: 2 }]]), () => [])).rejects.toThrow(ForeignKeyError);
  await expect(readThroughMany(null, 'Donor', ['Donor:1'], async () => new Map(), () => [], true)).rejects.toThrow(ForeignKeyError);
  const list = cacheDeclarations.lists.find((l) => l.name === 'bloodRequests')!;
  await expect(readLists(null, list, [{ after: 0 }, { after: null }], async () => [[]])).rejects.toThrow(ForeignKeyError);
});

test('membership-only lists: a write whose tags leave out a list tag changes no membership of that list', () => {
  // The declared stock item and its two membership lists: the partial-reuse guarantee is that an
  // entry kept by a write (its tag not moved) still names exactly the rows that belong.
  const groups = ['A_POS', 'O_NEG', 'B_NEG'] as const;
  const regions = ['North', 'South', ''];
  const item = fc.record({
    hospitalId: fc.integer({ min: 1, max: 3 }),
    bloodGroup: fc.constantFrom(...groups),
    units: fc.integer({ min: -1, max: 3 }),
    region: fc.constantFrom(...regions),
  });
  const change = fc.tuple(item, item).map(([before, after]) => [before, { ...after, hospitalId: before.hospitalId, bloodGroup: before.bloodGroup }] as const);
  const selections = [
    ...groups.flatMap((g) => [undefined, null, ...regions].map((r) => [availabilityList, { bloodGroup: g, region: r }] as const)),
    ...[1, 2, 3].map((h) => [inventoryByHospitalList, { hospital: h }] as const),
  ];
  fc.assert(
    fc.property(change, ([before, after]) => {
      const tags = new Set(inventoryItemCache.tagsOf(after, before));
      for (const [list, values] of selections) {
        if (tags.has(list.tag(values))) continue;
        expect(list.members!.matches(after, values)).toBe(list.members!.matches(before, values));
      }
    }),
    { numRuns: 2_000 },
  );
});
