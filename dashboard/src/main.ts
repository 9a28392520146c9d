// The operations dashboard: one query to load, then graphql-ws subscriptions keep it current.
import './styles.css';
import {
  DONATIONS_SUBSCRIPTION,
  EMERGENCIES_SUBSCRIPTION,
  fetchSnapshot,
  STATS_SUBSCRIPTION,
  type DonationEvent,
  type RequestEvent,
  type StatsEvent,
} from './api.js';
import { startLive } from './live.js';
import { applyCampaign, applyRequest, applySnapshot, applyStats, emptyState, type DashboardState } from './state.js';
import { render, renderConnection, renderError } from './view.js';

const GRAPHQL_PATH = '/graphql';
/**
 * A full reload now and then: campaigns start and end with time (no event says so), and it
 * bounds the cost of an event missed in the instant between the first query and the first
 * subscription. The query is served from the server's cache unless something changed.
 */
const REFRESH_EVERY_MS = 60_000;
/** Relative times ("4 min ago") are redrawn this often. */
const TICK_MS = 30_000;

let state: DashboardState = emptyState();
let frame = 0;
const update = (next: DashboardState) => {
  if (next === state) return;
  state = next;
  // One render per animation frame, however many events arrive in it.
  frame ||= requestAnimationFrame(() => {
    frame = 0;
    render(state);
  });
};

// ---- the query ----------------------------------------------------------------------------------
let loadSeq = 0;
async function load(): Promise<void> {
  const seq = ++loadSeq; // a newer load supersedes this one
  for (let attempt = 0; seq === loadSeq; attempt++) {
    try {
      const snapshot = await fetchSnapshot(GRAPHQL_PATH);
      if (seq !== loadSeq) return;
      renderError(null);
      update(applySnapshot(state, snapshot));
      return;
    } catch (err) {
      if (seq !== loadSeq) return;
      renderError(`Could not load the dashboard: ${(err as Error).message}. Retrying…`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 15_000)));
    }
  }
}

// ---- the subscriptions -----------------------------------------------------------------------
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${GRAPHQL_PATH}`;
startLive({
  url: wsUrl,
  feeds: [
    { query: STATS_SUBSCRIPTION, onData: (d: StatsEvent) => update(applyStats(state, d.dashboardStatsUpdated)) },
    { query: EMERGENCIES_SUBSCRIPTION, onData: (d: RequestEvent) => update(applyRequest(state, d.bloodRequestChanged)) },
    {
      query: DONATIONS_SUBSCRIPTION,
      onData: (d: DonationEvent) => {
        const campaign = d.donationRecorded.campaign;
        if (campaign) update(applyCampaign(state, campaign, new Date()));
      },
    },
  ],
  resync: () => void load(),
  onState: renderConnection,
});

void load();
setInterval(() => void load(), REFRESH_EVERY_MS);
setInterval(() => render(state), TICK_MS);
