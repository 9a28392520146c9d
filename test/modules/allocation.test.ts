// SPEC §7 allocation: concurrent fulfilments and stock changes on two instances never take
// stock below zero nor fulfil a request past unitsNeeded; the final numbers add up.
import { startInstance, type Instance } from '../helpers/app.js';
import { query } from '../helpers/db-digest.js';
import { demoTokens, useSeededDatabase } from '../helpers/fixtures.js';
import { expectNoErrors, gql } from '../helpers/graphql.js';

const db = useSeededDatabase();
let a: Instance;
let b: Instance;
let staff: string;

beforeAll(async () => {
  [a, b] = await Promise.all([startInstance({ databaseUrl: db().url }), startInstance({ databaseUrl: db().url })]);
  staff = (await demoTokens(a.url)).staff;
});

test('100 concurrent fulfilments over two instances: stock never below zero, no request over-fulfilled', async () => {
  const HOSPITAL = 6;
  const STOCK = 40;
  await query(db().url, `UPDATE inventory SET units = $1 WHERE hospital_id = $2 AND blood_group = 'O_NEG'`, [STOCK, HOSPITAL]);
  // 5 requests needing 12 units each = 60 wanted, only 40 in stock.
  const requests: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = expectNoErrors(
      await gql(a.url, `mutation { createBloodRequest(input: { hospitalId: "${HOSPITAL}", bloodGroup: O_NEG, unitsNeeded: 12, urgency: EMERGENCY }) { id } }`, undefined, { token: staff }),
    );
    requests.push(r.createBloodRequest.id);
  }
  const calls = Array.from({ length: 100 }, (_, i) => {
    const instance = i % 2 ? a : b;
    const id = requests[i % requests.length]!;
    const units = 1 + (i % 3);
    return gql(instance.url, `mutation { fulfillBloodRequest(id: "${id}", units: ${units}) { unitsFulfilled } }`, undefined, { token: staff }).then((res) => ({
      ok: !res.body.errors,
      code: res.body.errors?.[0]?.extensions?.code,
      units,
    }));
  });
  const results = await Promise.all(calls);
  for (const r of results) if (!r.ok) expect(r.code).toBe('BAD_USER_INPUT');
  const allocated = results.filter((r) => r.ok).reduce((sum, r) => sum + r.units, 0);

  const [stock] = await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = $1 AND blood_group = 'O_NEG'`, [HOSPITAL]);
  const rows = await query<{ units_fulfilled: number; units_needed: number; status: string }>(
    db().url,
    `SELECT units_fulfilled, units_needed, status FROM blood_requests WHERE id = ANY($1::int[])`,
    [requests.map(Number)],
  );
  const fulfilled = rows.reduce((sum, r) => sum + r.units_fulfilled, 0);
  expect(stock!.units).toBeGreaterThanOrEqual(0);
  expect(fulfilled).toBe(allocated);
  expect(stock!.units).toBe(STOCK - allocated);
  for (const r of rows) {
    expect(r.units_fulfilled).toBeLessThanOrEqual(r.units_needed);
    expect(r.status).toBe(r.units_fulfilled === r.units_needed ? 'FULFILLED' : 'OPEN');
  }
  // Demand (60) exceeds stock (40): the stock ran out or every request was fulfilled.
  expect(stock!.units === 0 || rows.every((r) => r.status === 'FULFILLED') || stock!.units < 3).toBe(true);
}, 60_000);

test('200 concurrent fulfilments and stock changes mixed over two instances: the final units equal the arithmetic', async () => {
  const HOSPITAL = 5;
  await query(db().url, `UPDATE inventory SET units = 50 WHERE hospital_id = $1 AND blood_group = 'B_NEG'`, [HOSPITAL]);
  const requests: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = expectNoErrors(
      await gql(a.url, `mutation { createBloodRequest(input: { hospitalId: "${HOSPITAL}", bloodGroup: B_NEG, unitsNeeded: 20, urgency: URGENT }) { id } }`, undefined, { token: staff }),
    );
    requests.push(r.createBloodRequest.id);
  }
  type Op = { kind: 'fulfil' | 'add' | 'remove'; units: number };
  const ops: Op[] = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? { kind: 'add', units: 2 } : i % 4 === 1 ? { kind: 'remove', units: 1 } : { kind: 'fulfil', units: 1 + (i % 2) }));
  const results = await Promise.all(
    ops.map(async (op, i) => {
      const url = i % 2 ? a.url : b.url;
      const res =
        op.kind === 'fulfil'
          ? await gql(url, `mutation { fulfillBloodRequest(id: "${requests[i % requests.length]}", units: ${op.units}) { id } }`, undefined, { token: staff })
          : await gql(url, `mutation { adjustInventory(hospitalId: "${HOSPITAL}", bloodGroup: B_NEG, delta: ${op.kind === 'add' ? op.units : -op.units}) { units } }`, undefined, { token: staff });
      if (res.body.errors) expect(res.body.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      return { op, ok: !res.body.errors };
    }),
  );
  const delta = results.filter((r) => r.ok).reduce((sum, { op }) => sum + (op.kind === 'add' ? op.units : -op.units), 0);
  const fulfilled = results.filter((r) => r.ok && r.op.kind === 'fulfil').reduce((sum, r) => sum + r.op.units, 0);
  const [stock] = await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = $1 AND blood_group = 'B_NEG'`, [HOSPITAL]);
  const rows = await query<{ units_fulfilled: number; units_needed: number }>(db().url, `SELECT units_fulfilled, units_needed FROM blood_requests WHERE id = ANY($1::int[])`, [requests.map(Number)]);
  expect(stock!.units).toBe(50 + delta);
  expect(stock!.units).toBeGreaterThanOrEqual(0);
  expect(rows.reduce((sum, r) => sum + r.units_fulfilled, 0)).toBe(fulfilled);
  for (const r of rows) expect(r.units_fulfilled).toBeLessThanOrEqual(r.units_needed);
}, 90_000);

test('concurrent adjustInventory removals never go below zero and add up', async () => {
  await query(db().url, `UPDATE inventory SET units = 30 WHERE hospital_id = 7 AND blood_group = 'A_NEG'`);
  const results = await Promise.all(
    Array.from({ length: 60 }, (_, i) =>
      gql(i % 2 ? a.url : b.url, 'mutation { adjustInventory(hospitalId: "7", bloodGroup: A_NEG, delta: -1) { units } }', undefined, { token: staff }),
    ),
  );
  const ok = results.filter((r) => !r.body.errors).length;
  expect(ok).toBe(30);
  for (const r of results.filter((r) => r.body.errors)) expect(r.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const [stock] = await query<{ units: number }>(db().url, `SELECT units FROM inventory WHERE hospital_id = 7 AND blood_group = 'A_NEG'`);
  expect(stock!.units).toBe(0);
}, 60_000);

test('two concurrent donations by one donor: exactly one is recorded', async () => {
  const [donor] = await query<{ id: number }>(db().url, `SELECT id FROM donors WHERE last_donation_at IS NULL OR last_donation_at < now() - interval '60 days' ORDER BY id LIMIT 1`);
  const m = `mutation { recordDonation(input: { donorId: "${donor!.id}", hospitalId: "1" }) { id } }`;
  const results = await Promise.all([gql(a.url, m, undefined, { token: staff }), gql(b.url, m, undefined, { token: staff })]);
  expect(results.filter((r) => !r.body.errors)).toHaveLength(1);
  const [count] = await query<{ n: number }>(db().url, `SELECT count(*)::int AS n FROM donations WHERE donor_id = $1 AND donated_at > now() - interval '1 minute'`, [donor!.id]);
  expect(count!.n).toBe(1);
});
