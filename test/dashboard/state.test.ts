// The dashboard page's state rules (dashboard/src/state.ts): query answers and events are
// snapshots merged monotonically, so arrival order and replays never move the page backwards.
import {
  activeCampaigns,
  applyCampaign,
  applyRequest,
  applySnapshot,
  applyStats,
  emptyState,
  openEmergencies,
  unitsByGroup,
  type Campaign,
  type EmergencyRequest,
  type Snapshot,
  type Stats,
} from '../../dashboard/src/state.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000).toISOString();

const stats = (generatedAt: string, units = 10): Stats => ({
  totalDonors: 5,
  totalUnitsCollected: units,
  openRequests: 2,
  pendingEmergencyRequests: 1,
  inventory: [{ bloodGroup: 'O_NEG', units }],
  generatedAt,
});
const request = (id: string, createdAt: string, over: Partial<EmergencyRequest> = {}): EmergencyRequest => ({
  id,
  bloodGroup: 'O_NEG',
  unitsNeeded: 4,
  unitsFulfilled: 0,
  urgency: 'EMERGENCY',
  status: 'OPEN',
  createdAt,
  hospital: { name: 'H', city: 'C', region: 'R' },
  ...over,
});
const campaign = (id: string, collectedUnits: number, over: Partial<Campaign> = {}): Campaign => ({
  id,
  title: `Campaign ${id}`,
  region: 'R',
  startsAt: at(-60 * 24),
  endsAt: at(60 * 24),
  goalUnits: 100,
  collectedUnits,
  hospital: { name: 'H' },
  ...over,
});
const snapshot = (generatedAt: string, requests: EmergencyRequest[], campaigns: Campaign[] = [], units = 10): Snapshot => ({
  dashboardStats: stats(generatedAt, units),
  bloodRequests: { nodes: requests },
  campaigns,
});

test('stats: the newest by generatedAt wins, whatever the arrival order', () => {
  const newer = stats(at(1), 11);
  const older = stats(at(0), 10);
  expect(applyStats(applyStats(emptyState(), newer), older).stats).toBe(newer);
  expect(applyStats(applyStats(emptyState(), older), newer).stats).toBe(newer);
  expect(unitsByGroup(newer).get('O_NEG')).toBe(11);
  expect(unitsByGroup(newer).get('A_POS')).toBe(0);
  expect(unitsByGroup(null).size).toBe(8);
});

test('requests: newest first; a closed one leaves and never comes back from an older copy', () => {
  let s = applyRequest(emptyState(), request('1', at(-10)));
  s = applyRequest(s, request('2', at(-5)));
  expect(openEmergencies(s).map((r) => r.id)).toEqual(['2', '1']);
  s = applyRequest(s, request('1', at(-10), { status: 'FULFILLED', unitsFulfilled: 4 }));
  expect(openEmergencies(s).map((r) => r.id)).toEqual(['2']);
  // A replayed or cached older copy saying OPEN does not reopen it.
  s = applyRequest(s, request('1', at(-10)));
  s = applySnapshot(s, snapshot(at(-1), [request('1', at(-10)), request('2', at(-5))]));
  expect(openEmergencies(s).map((r) => r.id)).toEqual(['2']);
  // Partial fulfilment only moves forward.
  s = applyRequest(s, request('2', at(-5), { unitsFulfilled: 3 }));
  s = applyRequest(s, request('2', at(-5), { unitsFulfilled: 1 }));
  expect(openEmergencies(s)[0]!.unitsFulfilled).toBe(3);
  // Not an emergency (or not open): not listed.
  expect(openEmergencies(applyRequest(emptyState(), request('9', at(0), { urgency: 'URGENT' })))).toEqual([]);
});

test('a snapshot is the truth as of its time, except for requests created after it', () => {
  let s = applyRequest(emptyState(), request('1', at(-10))); // closed since, but we missed the event
  s = applyRequest(s, request('3', at(2))); // created after the snapshot below was computed
  s = applySnapshot(s, snapshot(at(0), [request('2', at(-3))]));
  expect(openEmergencies(s).map((r) => r.id)).toEqual(['3', '2']);
});

test('campaigns: totals only grow; a snapshot replaces the set; ended ones are not shown', () => {
  let s = applySnapshot(emptyState(), snapshot(at(0), [], [campaign('1', 5), campaign('2', 1)]));
  s = applyCampaign(s, campaign('1', 7), NOW);
  s = applyCampaign(s, campaign('1', 6), NOW); // an older event arriving late
  expect(s.campaigns.get('1')!.collectedUnits).toBe(7);
  // A cached snapshot from before the event keeps the higher total; campaign 2 ended meanwhile.
  s = applySnapshot(s, snapshot(at(-1), [], [campaign('1', 5)]));
  expect(activeCampaigns(s, NOW).map((c) => [c.id, c.collectedUnits])).toEqual([['1', 7]]);
  // A donation to a running campaign the page did not know adds it; to an ended one does not.
  s = applyCampaign(s, campaign('4', 1, { endsAt: at(30) }), NOW);
  s = applyCampaign(s, campaign('5', 1, { endsAt: at(-30) }), NOW);
  expect(activeCampaigns(s, NOW).map((c) => c.id)).toEqual(['4', '1']);
  expect(activeCampaigns(s, new Date(NOW.getTime() + 31 * 60_000)).map((c) => c.id)).toEqual(['1']);
});

test('the same inputs in any order give the same page', () => {
  const inputs: ((s: ReturnType<typeof emptyState>) => ReturnType<typeof emptyState>)[] = [
    (s) => applySnapshot(s, snapshot(at(0), [request('1', at(-10)), request('2', at(-5))], [campaign('1', 5)])),
    (s) => applyStats(s, stats(at(1), 12)),
    (s) => applyRequest(s, request('1', at(-10), { status: 'CANCELLED' })),
    (s) => applyRequest(s, request('3', at(1))),
    (s) => applyCampaign(s, campaign('1', 6), NOW),
  ];
  const view = (s: ReturnType<typeof emptyState>) => ({
    stats: s.stats,
    requests: openEmergencies(s).map((r) => r.id),
    campaigns: activeCampaigns(s, NOW).map((c) => [c.id, c.collectedUnits]),
  });
  const expected = view(inputs.reduce((s, f) => f(s), emptyState()));
  expect(expected).toEqual({ stats: stats(at(1), 12), requests: ['3', '2'], campaigns: [['1', 6]] });
  // Every rotation, and the reverse.
  for (let k = 1; k < inputs.length; k++) {
    const rotated = [...inputs.slice(k), ...inputs.slice(0, k)];
    expect(view(rotated.reduce((s, f) => f(s), emptyState()))).toEqual(expected);
  }
  expect(view([...inputs].reverse().reduce((s, f) => f(s), emptyState()))).toEqual(expected);
});
