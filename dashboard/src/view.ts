// Renders DashboardState into the page of index.html. Keyed updates (no innerHTML): elements
// persist across renders so CSS transitions run, and server text only ever lands in textContent.
// The data-* attributes are the page's contract with the browser test (test/e2e/dashboard.test.ts).
import { ago, clock, endsIn, formatInt, groupLabel, niceCeil } from './format.js';
import type { ConnectionState } from './live.js';
import { activeCampaigns, BLOOD_GROUPS, openEmergencies, unitsByGroup, type BloodGroup, type Campaign, type DashboardState, type EmergencyRequest } from './state.js';

const SVG = 'http://www.w3.org/2000/svg';

const byId = <T extends Element = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from index.html`);
  return el as unknown as T;
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Briefly highlights an element whose value just changed. */
function flash(node: Element) {
  node.classList.remove('flash');
  // Restart the animation: reading layout between the two class changes commits the removal.
  void (node as HTMLElement | SVGElement).getBoundingClientRect();
  node.classList.add('flash');
}

// ---- connection status ------------------------------------------------------------------------

const STATE_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

export function renderConnection(state: ConnectionState, detail?: string) {
  const pill = byId('connection');
  pill.dataset.state = state;
  pill.textContent = STATE_TEXT[state];
  pill.title = detail ?? '';
}

export function renderError(message: string | null) {
  const box = byId('error');
  box.hidden = !message;
  box.textContent = message ?? '';
}

// ---- totals -----------------------------------------------------------------------------------

function renderTotals(state: DashboardState) {
  const stats = state.stats;
  if (!stats) return;
  for (const node of byId('totals').querySelectorAll<HTMLElement>('[data-stat]')) {
    const key = node.dataset.stat as 'totalDonors' | 'totalUnitsCollected' | 'openRequests' | 'pendingEmergencyRequests';
    const value = String(stats[key]);
    if (node.dataset.value === value) continue;
    const changed = node.dataset.value !== undefined;
    node.dataset.value = value;
    node.textContent = formatInt(stats[key]);
    if (changed) flash(node);
  }
  byId('updated').textContent = `Updated ${clock(stats.generatedAt)}`;
}

// ---- bar chart ----------------------------------------------------------------------------------

const CHART = { width: 640, height: 280, top: 24, right: 12, bottom: 30, left: 48 };
const TICKS = 4;

interface Bar {
  group: SVGGElement;
  rect: SVGRectElement;
  value: SVGTextElement;
  title: SVGTitleElement;
}
let chart: { grid: SVGGElement; bars: Map<BloodGroup, Bar> } | null = null;

function buildChart(root: SVGSVGElement) {
  const grid = svg('g', { class: 'grid' });
  root.append(grid);
  const bars = new Map<BloodGroup, Bar>();
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const slot = plotWidth / BLOOD_GROUPS.length;
  BLOOD_GROUPS.forEach((bloodGroup, i) => {
    const x = CHART.left + i * slot;
    const group = svg('g', { class: `bar ${bloodGroup.endsWith('NEG') ? 'neg' : 'pos'}`, 'data-blood-group': bloodGroup });
    const rect = svg('rect', { x: x + slot * 0.18, width: slot * 0.64, y: CHART.height - CHART.bottom, height: 0, rx: 4 });
    const value = svg('text', { class: 'value', x: x + slot / 2, y: CHART.height - CHART.bottom - 6, 'text-anchor': 'middle' });
    const label = svg('text', { class: 'label', x: x + slot / 2, y: CHART.height - 10, 'text-anchor': 'middle' });
    label.textContent = groupLabel(bloodGroup);
    const title = svg('title');
    group.append(title, rect, value, label);
    root.append(group);
    bars.set(bloodGroup, { group, rect, value, title });
  });
  return { grid, bars };
}

function renderChart(state: DashboardState) {
  if (!state.stats) return;
  const root = byId<SVGSVGElement>('inventory-chart');
  chart ??= buildChart(root);
  const units = unitsByGroup(state.stats);
  const max = niceCeil(Math.max(...units.values()) * 1.08);
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const yOf = (v: number) => CHART.height - CHART.bottom - (v / max) * plotHeight;

  chart.grid.replaceChildren();
  for (let t = 0; t <= TICKS; t++) {
    const v = (max / TICKS) * t;
    const y = yOf(v);
    chart.grid.append(svg('line', { x1: CHART.left, x2: CHART.width - CHART.right, y1: y, y2: y }));
    const tick = svg('text', { x: CHART.left - 8, y: y + 4, 'text-anchor': 'end' });
    tick.textContent = formatInt(v);
    chart.grid.append(tick);
  }
  for (const [bloodGroup, bar] of chart.bars) {
    const v = units.get(bloodGroup) ?? 0;
    const y = yOf(v);
    bar.rect.setAttribute('y', String(y));
    bar.rect.setAttribute('height', String(CHART.height - CHART.bottom - y));
    bar.value.setAttribute('y', String(y - 6));
    bar.value.textContent = formatInt(v);
    bar.title.textContent = `${groupLabel(bloodGroup)}: ${formatInt(v)} units`;
    const previous = bar.group.dataset.units;
    bar.group.dataset.units = String(v);
    if (previous !== undefined && previous !== String(v)) flash(bar.group);
  }
}

// ---- emergency requests -------------------------------------------------------------------------

function requestItem(r: EmergencyRequest, now: Date): HTMLLIElement {
  const li = el('li', 'request');
  li.dataset.requestId = r.id;
  const badge = el('span', `group-badge ${r.bloodGroup.endsWith('NEG') ? 'neg' : 'pos'}`, groupLabel(r.bloodGroup));
  const body = el('div', 'request-body');
  body.append(el('strong', undefined, r.hospital.name), el('span', 'muted', ` · ${r.hospital.city}, ${r.hospital.region}`));
  const meta = el('div', 'request-meta');
  const remaining = r.unitsNeeded - r.unitsFulfilled;
  meta.append(
    el('span', 'units', `${remaining} of ${r.unitsNeeded} unit${r.unitsNeeded === 1 ? '' : 's'} needed`),
    el('time', 'muted', ago(r.createdAt, now)),
  );
  (meta.lastChild as HTMLTimeElement).dateTime = r.createdAt;
  body.append(meta);
  li.append(badge, body);
  return li;
}

function renderRequests(state: DashboardState, now: Date) {
  const list = byId('emergencies');
  const items = openEmergencies(state);
  const before = new Set([...list.children].map((c) => (c as HTMLElement).dataset.requestId));
  const nodes = items.map((r) => {
    const li = requestItem(r, now);
    if (before.size && !before.has(r.id)) li.classList.add('new');
    return li;
  });
  list.replaceChildren(...nodes);
  byId('emergencies-empty').hidden = items.length > 0;
}

// ---- campaigns -------------------------------------------------------------------------------

function campaignItem(c: Campaign, now: Date, previous: HTMLElement | undefined): HTMLLIElement {
  const li = el('li', 'campaign');
  li.dataset.campaignId = c.id;
  li.dataset.collected = String(c.collectedUnits);
  const pct = c.goalUnits > 0 ? Math.min(100, (c.collectedUnits / c.goalUnits) * 100) : 0;
  const head = el('div', 'campaign-head');
  head.append(el('strong', undefined, c.title), el('span', 'muted', `${c.hospital.name} · ${endsIn(c.endsAt, now)}`));
  const track = el('div', 'progress');
  track.setAttribute('role', 'progressbar');
  track.setAttribute('aria-valuemin', '0');
  track.setAttribute('aria-valuemax', String(c.goalUnits));
  track.setAttribute('aria-valuenow', String(c.collectedUnits));
  const fill = el('div', `progress-fill${pct >= 100 ? ' done' : ''}`);
  // Start from the previous width so the bar grows visibly (CSS transition).
  const previousPct = previous?.dataset.pct;
  fill.style.width = `${previousPct ?? pct}%`;
  li.dataset.pct = String(pct);
  track.append(fill);
  const figures = el('div', 'campaign-figures');
  figures.append(el('span', undefined, `${formatInt(c.collectedUnits)} / ${formatInt(c.goalUnits)} units`), el('span', 'muted', `${Math.floor(pct)}%`));
  li.append(head, track, figures);
  if (previousPct !== undefined && previousPct !== String(pct)) {
    requestAnimationFrame(() => (fill.style.width = `${pct}%`));
    flash(figures);
  }
  return li;
}

function renderCampaigns(state: DashboardState, now: Date) {
  const list = byId('campaigns');
  const previous = new Map([...list.children].map((c) => [(c as HTMLElement).dataset.campaignId, c as HTMLElement]));
  const items = activeCampaigns(state, now);
  list.replaceChildren(...items.map((c) => campaignItem(c, now, previous.get(c.id))));
  byId('campaigns-empty').hidden = items.length > 0;
}

// ---- all --------------------------------------------------------------------------------------

export function render(state: DashboardState, now = new Date()) {
  renderTotals(state);
  renderChart(state);
  renderRequests(state, now);
  renderCampaigns(state, now);
  document.body.dataset.loaded = state.stats ? 'true' : 'false';
}
