// The page: sign in, load what the party may see, follow the event stream, and
// keep the map and the panels in step.

import { api, ApiError, token } from './api.js';
import { Editor } from './editor.js';
import { EventStream } from './events.js';
import { MapView, overlapBand, overlapWindow } from './map.js';
import { Alerts } from './alerts.js';
import { Tracks } from './tracks.js';
import { bandText, h, kindText, partyColour, toast, windowText, zulu, zuluShort } from './util.js';

const state = {
  me: null,
  parties: [],
  notices: new Map(),
  acksIn: new Map(), // notice_id -> ack (current version) I owe
  acksOut: new Map(), // notice_id -> [acks] owed to me
  conflicts: new Map(),
  messages: new Map(),
  fresh: new Set(), // ids to flash once
};
let mapView;
let editor;
let stream;
let alerts;
let tracks;
let tab = 'inbox';
const $ = (id) => document.getElementById(id);

// ---------- sign in ----------

async function signIn(t) {
  token.set(t);
  try {
    const who = await api('GET', '/v1/whoami');
    if (!who.party) throw new ApiError(403, { detail: 'this is the hub operator token: sign in with a party token' });
    return who.party;
  } catch (err) {
    token.clear();
    throw err;
  }
}

function showSignIn(message = '') {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
  $('signin-token').focus();
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const t = $('signin-token').value.trim();
  try {
    const party = await signIn(t);
    $('signin-token').value = '';
    start(party);
  } catch (err) {
    $('signin-error').textContent = err.status === 401 ? 'This token is not valid on this hub.' : err.message;
  }
});

$('btn-signout').addEventListener('click', () => {
  token.clear();
  sessionStorage.removeItem('deconflict.lastEvent');
  stream?.stop();
  window.location.reload();
});

// ---------- start ----------

async function start(me) {
  state.me = me;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('who').textContent = me;
  mapView = new MapView($('map'), { me, onSelectNotice: (id) => selectItem(id) });
  editor = new Editor({
    panel: $('panel-editor'), mapView, state,
    onSaved: (answer, amended) => {
      upsertNotice(answer);
      const n = (answer.conflicts || []).length;
      toast(`${amended ? 'Amended' : 'Sent'} ${answer.title || answer.id} v${answer.version}${n ? ` — ${n} conflict(s)` : ''}`, n > 0);
      for (const c of answer.conflicts || []) upsertConflict(c);
      refreshAcks();
      renderAll();
      $('tab-editor').hidden = true;
      showTab('outbox');
    },
    onClose: () => { $('tab-editor').hidden = true; showTab('outbox'); },
  });
  alerts = new Alerts({ panel: $('panel-alerts'), mapView, state, badge: $('badge-alerts'), onHotline: (p, ref) => compose(p, ref),
    fetchNotice: async (id) => { upsertNotice(await api('GET', `/v1/notices/${encodeURIComponent(id)}`), { quiet: true }); renderAll(); },
  });
  tracks = new Tracks({
    mapView, me,
    onChange: (t) => { if (alerts.tracks !== t || alerts.trackCount !== t.size) { alerts.tracks = t; alerts.trackCount = t.size; alerts.render(); } },
  });
  // For the end-to-end tests and a curious officer's console: what the page holds.
  window.deconflict = { state, alerts, tracks };
  tickClock();
  setInterval(tickClock, 1000);
  mapView.loadBasemap().catch((err) => toast(`Basemap: ${err.message}`, true));
  try {
    await loadAll();
  } catch (err) {
    if (err.status === 401) { token.clear(); showSignIn('Your token is no longer valid.'); return; }
    toast(`Loading failed: ${err.message}`, true);
  }
  mapView.fitAll();
  setupTime();
  const head = await eventHead();
  stream = new EventStream({ lastId: head, onEvent: onEvent, onState: setConn });
  stream.start();
  alerts.load();
  tracks.start();
}

function tickClock() {
  $('clock').textContent = zulu(new Date(), { seconds: true });
}

function setConn(s, why) {
  const el = $('conn');
  if (s === 'live' && el.dataset.state !== 'live' && el.dataset.state !== 'connecting') refreshAcks();
  el.dataset.state = s;
  el.textContent = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', offline: `offline${why ? `: ${why}` : ''}` }[s];
  el.title = s === 'live' ? 'event stream connected' : 'the event stream is down; it reconnects and resumes by itself';
}

// The id of the newest event: everything before it is already in the snapshot.
async function eventHead() {
  let after = Number(sessionStorage.getItem('deconflict.lastEvent') || 0);
  for (;;) {
    const page = await api('GET', `/v1/events?after=${after}&limit=1000`);
    if (!page.events.length) return after;
    after = page.last_id;
  }
}

async function loadAll() {
  const [parties, notices, conflicts, messages] = await Promise.all([
    api('GET', '/v1/parties'),
    api('GET', '/v1/notices?state=active,cancelled,expired&limit=1000'),
    api('GET', '/v1/conflicts?state=open,resolved'),
    api('GET', '/v1/messages'),
  ]);
  state.parties = parties.parties;
  for (const n of notices.notices) upsertNotice(n, { quiet: true });
  for (const c of conflicts.conflicts) upsertConflict(c, { quiet: true });
  for (const m of messages.messages) state.messages.set(m.id, m);
  await refreshAcks(true);
  fillRecipients();
  renderAll();
}

let acksTimer = null;
async function refreshAcks(now = false) {
  if (!now) {
    clearTimeout(acksTimer);
    acksTimer = setTimeout(() => refreshAcks(true), 150);
    return;
  }
  let mine;
  let theirs;
  try {
    [mine, theirs] = await Promise.all([api('GET', '/v1/acks?role=addressee'), api('GET', '/v1/acks?role=issuer')]);
  } catch {
    // offline or hub restarting: the stream's reconnect brings the ack events again
    return;
  }
  state.acksIn = new Map(mine.acks.map((a) => [a.notice_id, a]));
  state.acksOut = new Map();
  for (const a of theirs.acks) {
    if (!state.acksOut.has(a.notice_id)) state.acksOut.set(a.notice_id, []);
    state.acksOut.get(a.notice_id).push(a);
  }
  renderInbox();
  renderOutbox();
}

// ---------- state changes ----------

function upsertNotice(n, { quiet = false } = {}) {
  const old = state.notices.get(n.id);
  if (old && (old.version > n.version)) return;
  const merged = { ...old, ...n };
  if (!n.volumes && old) merged.volumes = old.volumes;
  delete merged.conflicts;
  state.notices.set(n.id, merged);
  if (merged.volumes) mapView.showNotice(merged);
  if (!quiet) state.fresh.add(n.id);
  updateTimeRange();
}

function upsertConflict(c, { quiet = false } = {}) {
  if (!c.id) return;
  const old = state.conflicts.get(c.id);
  if (old && old.revision > c.revision) return;
  state.conflicts.set(c.id, c);
  mapView.showConflict(c);
  if (!quiet) state.fresh.add(c.id);
}

function onEvent(e) {
  sessionStorage.setItem('deconflict.lastEvent', String(e.id));
  const d = e.data || {};
  switch (e.type) {
    case 'notice_received':
    case 'notice_updated':
      upsertNotice(d);
      toast(`${e.type === 'notice_received' ? 'Received' : 'Amended'}: ${d.title || d.id} from ${d.issuer}`);
      refreshAcks();
      break;
    case 'notice_cancelled':
    case 'notice_expired': {
      const n = state.notices.get(d.id);
      if (n) upsertNotice({ ...n, state: d.state || e.type.slice(7) });
      refreshAcks();
      break;
    }
    case 'notice_withdrawn':
      state.notices.delete(d.id);
      mapView.removeNotice(d.id);
      toast(`${d.issuer} no longer addresses ${d.id} to you`);
      refreshAcks();
      break;
    case 'conflict_opened':
    case 'conflict_updated':
    case 'conflict_resolved':
      upsertConflict(d);
      if (e.type === 'conflict_opened') toast(`Conflict with ${d.other?.issuer}'s ${kindText(d.other?.kind)}`, true);
      renderConflicts();
      break;
    case 'ack_delivered':
    case 'ack_received':
    case 'ack_overdue':
      if (e.type === 'ack_received') toast(`${d.addressee} acknowledged ${noticeTitle(d.notice_id)} v${d.version}`);
      if (e.type === 'ack_overdue') toast(`Overdue: ${d.addressee} has not acknowledged ${noticeTitle(d.notice_id)}`, true);
      refreshAcks();
      break;
    case 'message_received':
      state.messages.set(d.id, d);
      state.fresh.add(d.id);
      if (d.from !== state.me) toast(`Hotline ${d.priority !== 'routine' ? `[${d.priority}] ` : ''}from ${d.from}: ${d.body.slice(0, 80)}`, d.priority !== 'routine');
      renderHotline();
      break;
    case 'message_delivered':
    case 'message_read': {
      const m = state.messages.get(d.message_id);
      if (m) {
        const receipts = m.receipts || [];
        const r = receipts.find((x) => x.party === d.party) || { party: d.party };
        if (d.delivered_at) r.delivered_at = d.delivered_at;
        if (d.read_at) { r.read_at = d.read_at; r.delivered_at = r.delivered_at || d.read_at; }
        m.receipts = [...receipts.filter((x) => x.party !== d.party), r];
        renderHotline();
      }
      break;
    }
    default:
      if (e.type.startsWith('alert_')) {
        alerts.onEvent(e);
        if (e.type === 'alert_raised') tracks.poll(); // the own track it names, without waiting
      }
  }
  renderAll();
}

function noticeTitle(id) {
  const n = state.notices.get(id);
  return n ? `“${n.title || id}”` : id;
}

// ---------- panels ----------

function showTab(name) {
  tab = name;
  for (const b of document.querySelectorAll('.tabs [role=tab]')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of document.querySelectorAll('.panel')) p.hidden = p.id !== `panel-${name}`;
  if (name === 'hotline') markRead();
}
for (const b of document.querySelectorAll('.tabs [role=tab]')) {
  b.addEventListener('click', () => showTab(b.dataset.tab));
  b.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const tabs = [...document.querySelectorAll('.tabs [role=tab]:not([hidden])')];
    const i = tabs.indexOf(b) + (e.key === 'ArrowRight' ? 1 : -1);
    const next = tabs[(i + tabs.length) % tabs.length];
    next.focus();
    showTab(next.dataset.tab);
  });
}

function renderAll() {
  renderInbox();
  renderOutbox();
  renderConflicts();
  renderHotline();
  renderLegend();
  state.fresh.clear();
}

function selectItem(id) {
  const el = document.querySelector(`[data-id="${CSS.escape(id)}"]`);
  if (!el) return;
  showTab(el.closest('.panel').id.replace('panel-', ''));
  el.scrollIntoView({ block: 'nearest' });
  el.classList.remove('flash');
  void el.offsetWidth;
  el.classList.add('flash');
}

const chip = (text, cls = text) => h('span', { class: `chip st-${cls}` }, text);
const ackLabel = (a) => (a.overdue && a.state !== 'acknowledged' ? 'overdue' : a.state);

function volumeLines(n) {
  return (n.volumes || []).map((v) => h('div', { class: 'meta' }, `${bandText(v)} · ${windowText(v.time_start, v.time_end)}`));
}

function itemBase(n, extra) {
  return h('div', {
    class: `item${state.fresh.has(n.id) ? ' flash' : ''}${n.state !== 'active' ? ' inactive' : ''}`,
    style: `--c:${partyColour(n.issuer, state.me)}`,
    'data-id': n.id,
  },
  h('h3', {}, n.title || n.id),
  h('div', { class: 'meta' }, `${n.issuer} · ${kindText(n.kind)} · v${n.version} · ${n.state} · ${n.id}`),
  ...volumeLines(n),
  ...extra);
}

function renderInbox() {
  const box = $('panel-inbox');
  const list = [...state.notices.values()].filter((n) => n.issuer !== state.me);
  const rank = (n) => {
    const a = state.acksIn.get(n.id);
    if (n.state !== 'active') return 3;
    if (a && a.state !== 'acknowledged') return a.overdue ? 0 : 1;
    return 2;
  };
  list.sort((x, y) => rank(x) - rank(y) || String(y.updated_at).localeCompare(String(x.updated_at)));
  const owed = list.filter((n) => rank(n) < 2).length;
  $('badge-inbox').textContent = owed ? String(owed) : '';
  if (!list.length) { box.replaceChildren(h('p', { class: 'empty' }, 'Nothing has been notified to you.')); return; }
  box.replaceChildren(...list.map((n) => {
    const a = state.acksIn.get(n.id);
    const extra = [];
    if (a && a.version === n.version) {
      extra.push(h('div', { class: 'meta' }, chip(ackLabel(a)),
        a.deadline && a.state !== 'acknowledged' ? `acknowledge by ${zulu(a.deadline)}` : '',
        a.acknowledged_at ? `acknowledged ${zulu(a.acknowledged_at)}` : ''));
    }
    const actions = [h('button', { type: 'button', onclick: () => mapView.focus(n.id) }, 'Show on map')];
    if (a && a.state !== 'acknowledged' && n.state === 'active') {
      const comment = h('input', { type: 'text', placeholder: 'comment (optional)', 'aria-label': `Comment for ${n.title}` });
      actions.unshift(comment, h('button', {
        type: 'button', class: 'primary', 'data-action': 'ack',
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            await api('POST', `/v1/notices/${n.id}/ack`, { version: n.version, comment: comment.value || undefined });
            toast(`Acknowledged ${n.title || n.id} v${n.version}`);
          } catch (err) {
            toast(`Acknowledge failed: ${err.message}`, true);
          }
          refreshAcks(true);
        },
      }, 'Acknowledge'));
    }
    actions.push(h('button', { type: 'button', onclick: () => compose(n.issuer, { type: 'notice', id: n.id }) }, `Hotline ${n.issuer}`));
    extra.push(h('div', { class: 'actions' }, actions));
    return itemBase(n, extra);
  }));
}

function renderOutbox() {
  const box = $('panel-outbox');
  const list = [...state.notices.values()].filter((n) => n.issuer === state.me)
    .sort((x, y) => (x.state === 'active' ? 0 : 1) - (y.state === 'active' ? 0 : 1) || String(y.updated_at).localeCompare(String(x.updated_at)));
  let waiting = 0;
  if (!list.length) { box.replaceChildren(h('p', { class: 'empty' }, 'You have notified nothing yet. Use “New notice”.')); $('badge-outbox').textContent = ''; return; }
  box.replaceChildren(...list.map((n) => {
    const acks = (state.acksOut.get(n.id) || []).filter((a) => a.version === n.version);
    waiting += acks.filter((a) => a.overdue && a.state !== 'acknowledged').length;
    const rows = acks.map((a) => h('li', { 'data-addressee': a.addressee }, chip(ackLabel(a)), ` ${a.addressee}`,
      a.acknowledged_at ? ` · ${zuluShort(a.acknowledged_at)}${a.comment ? ` “${a.comment}”` : ''}`
        : a.delivered_at ? ` · delivered ${zuluShort(a.delivered_at)}` : a.deadline ? ` · due ${zuluShort(a.deadline)}` : ''));
    const actions = [h('button', { type: 'button', onclick: () => mapView.focus(n.id) }, 'Show on map')];
    if (n.state === 'active') {
      actions.push(h('button', { type: 'button', onclick: () => openEditor(n) }, 'Amend'));
      actions.push(h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          if (!window.confirm(`Cancel “${n.title}”? Every addressee is told.`)) return;
          try {
            upsertNotice(await api('DELETE', `/v1/notices/${n.id}?version=${n.version}`));
            renderAll();
          } catch (err) { toast(`Cancel failed: ${err.message}`, true); }
        },
      }, 'Cancel notice'));
    }
    return itemBase(n, [h('ul', { class: 'acklist', 'aria-label': 'Acknowledgements' }, rows), h('div', { class: 'actions' }, actions)]);
  }));
  $('badge-outbox').textContent = waiting ? String(waiting) : '';
}

function renderConflicts() {
  const box = $('panel-conflicts');
  const list = [...state.conflicts.values()].sort((x, y) => (x.state === 'open' ? 0 : 1) - (y.state === 'open' ? 0 : 1)
    || String(y.updated_at).localeCompare(String(x.updated_at)));
  const open = list.filter((c) => c.state === 'open').length;
  $('badge-conflicts').textContent = open ? String(open) : '';
  if (!list.length) { box.replaceChildren(h('p', { class: 'empty' }, 'No conflicts.')); return; }
  box.replaceChildren(...list.map((c) => {
    const mine = state.notices.get(c.mine.notice);
    const theirs = c.other.notice ? state.notices.get(c.other.notice) : null;
    return h('div', { class: `item${state.fresh.has(c.id) ? ' flash' : ''}${c.state !== 'open' ? ' inactive' : ''}`, style: '--c:#ff3b3b', 'data-id': c.id },
      h('h3', {}, chip(c.state), ` ${mine?.title || c.mine.notice} × ${c.other.issuer}'s ${kindText(c.other.kind)}`),
      h('div', { class: 'meta' }, theirs ? `their notice: ${theirs.title} (${theirs.id})` : c.other.notice ? c.other.notice : 'their notice is not addressed to you: you see only the overlap'),
      ...(c.overlaps || []).map((o) => h('div', { class: 'meta' }, `${o.region ? 'overlap' : `${Math.round(o.min_distance_m)} m apart`} · ${overlapBand(o)} · ${overlapWindow(o)}`)),
      c.resolution ? h('div', { class: 'meta' }, `resolved: ${c.resolution}`) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => mapView.focus(c.id) }, 'Show on map'),
        h('button', { type: 'button', onclick: () => compose(c.other.issuer, { type: 'conflict', id: c.id }) }, `Hotline ${c.other.issuer}`)));
  }));
}

// ---------- hotline ----------

let composeRef = null;
function fillRecipients() {
  $('chat-to').replaceChildren(...state.parties.filter((p) => p.id !== state.me).map((p) => h('option', { value: p.id }, `${p.id} — ${p.name}`)));
  $('chat-to').size = Math.min(4, Math.max(2, state.parties.length - 1));
}

function compose(party, ref) {
  composeRef = ref;
  for (const o of $('chat-to').options) o.selected = o.value === party;
  $('chat-body').placeholder = ref ? `about ${ref.type} ${ref.id}` : '';
  showTab('hotline');
  $('chat-body').focus();
}

$('chat-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const to = [...$('chat-to').selectedOptions].map((o) => o.value);
  const body = { to, priority: $('chat-priority').value, body: $('chat-body').value };
  if (composeRef) body.ref = composeRef;
  $('chat-error').textContent = '';
  try {
    const m = await api('POST', '/v1/messages', body);
    state.messages.set(m.id, m);
    $('chat-body').value = '';
    composeRef = null;
    $('chat-body').placeholder = '';
    renderHotline();
  } catch (err) {
    $('chat-error').textContent = err.errors?.length ? err.errors.map((x) => `${x.path.replace(/^body\./, '')}: ${x.message}`).join('; ') : err.message;
  }
});

function receiptText(m) {
  return (m.receipts || []).map((r) => `${r.party} ${r.read_at ? `✓✓ read ${zuluShort(r.read_at)}` : r.delivered_at ? `✓ delivered ${zuluShort(r.delivered_at)}` : '· sent'}`).join(' · ');
}

function renderHotline() {
  const box = $('chat');
  const list = [...state.messages.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  const unread = list.filter((m) => m.from !== state.me && !m.read_at).length;
  $('badge-hotline').textContent = unread ? String(unread) : '';
  const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.replaceChildren(...(list.length ? list.map((m) => {
    const out = m.from === state.me;
    return h('div', { class: `msg ${out ? 'out' : 'in'} ${m.priority}`, 'data-id': m.id },
      h('div', { class: 'meta' }, `${out ? `to ${m.to.join(', ')}` : `from ${m.from}`} · ${zulu(m.created_at)}${m.priority !== 'routine' ? ` · ${m.priority.toUpperCase()}` : ''}${m.ref ? ` · re ${m.ref.type} ${m.ref.id}` : ''}`),
      h('div', {}, m.subject ? h('strong', {}, `${m.subject}: `) : null, m.body),
      h('div', { class: 'meta receipt' }, out ? receiptText(m) : m.read_at ? `read ${zuluShort(m.read_at)}` : 'unread'));
  }) : [h('p', { class: 'empty' }, 'No messages.')]));
  if (stick) box.scrollTop = box.scrollHeight;
  if (tab === 'hotline') markRead();
}

async function markRead() {
  for (const m of state.messages.values()) {
    if (m.from === state.me || m.read_at || m.reading) continue;
    m.reading = true;
    try {
      const r = await api('POST', `/v1/messages/${m.id}/read`);
      m.read_at = r.read_at || new Date().toISOString();
    } catch {
      m.reading = false;
    }
  }
  const unread = [...state.messages.values()].filter((m) => m.from !== state.me && !m.read_at).length;
  $('badge-hotline').textContent = unread ? String(unread) : '';
}

// ---------- editor ----------

function openEditor(n = null) {
  $('tab-editor').hidden = false;
  $('tab-editor').textContent = n ? 'Amend' : 'New notice';
  showTab('editor');
  editor.open(n);
}
$('btn-new').addEventListener('click', () => openEditor());

// ---------- legend and time ----------

function renderLegend() {
  const issuers = new Set([state.me, ...[...state.notices.values()].map((n) => n.issuer)]);
  $('legend').replaceChildren(...[...issuers].map((p) => h('span', {}, h('i', { style: `background:${partyColour(p, state.me)}` }), p === state.me ? `${p} (own)` : p)),
    h('span', {}, h('i', { style: 'background:#7d8590' }), 'cancelled / expired'),
    h('span', {}, h('i', { style: 'background:#ff2020' }), 'conflict overlap'));
}

let range = [Date.now() - 3600e3, Date.now() + 24 * 3600e3];
let timeMode = 'all';
function updateTimeRange() {
  let lo = Date.now() - 3600e3;
  let hi = Date.now() + 6 * 3600e3;
  for (const n of state.notices.values()) {
    for (const v of n.volumes || []) {
      lo = Math.min(lo, new Date(v.time_start).getTime());
      hi = Math.max(hi, new Date(v.time_end).getTime());
    }
  }
  range = [lo, hi];
}

function sliderTime() {
  return new Date(range[0] + (range[1] - range[0]) * (Number($('time-slider').value) / 1000));
}
function setSliderTo(t) {
  $('time-slider').value = String(Math.round((1000 * (t - range[0])) / (range[1] - range[0])));
}
function applyTime() {
  const t = timeMode === 'all' ? null : timeMode === 'now' ? new Date() : sliderTime();
  if (timeMode === 'now') setSliderTo(Date.now());
  mapView.setTime(t);
  $('time-label').textContent = t ? `${timeMode === 'now' ? 'now ' : ''}${zulu(t)}` : 'all times';
  $('time-all').setAttribute('aria-pressed', String(timeMode === 'all'));
  $('time-now').setAttribute('aria-pressed', String(timeMode === 'now'));
}
function setupTime() {
  updateTimeRange();
  $('time-slider').addEventListener('input', () => { timeMode = 'slider'; applyTime(); });
  $('time-now').addEventListener('click', () => { timeMode = 'now'; applyTime(); });
  $('time-all').addEventListener('click', () => { timeMode = 'all'; applyTime(); });
  setInterval(() => { if (timeMode === 'now') applyTime(); }, 30000);
  applyTime();
}

// ---------- boot ----------

(async () => {
  const t = token.get();
  if (!t) { showSignIn(); return; }
  try {
    start(await signIn(t));
  } catch {
    showSignIn('Sign in again.');
  }
})();
