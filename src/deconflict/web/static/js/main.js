// The page: sign in, load what the party may see, follow the event stream, and
// keep the map and the panels in step.

import { api, ApiError, token } from './api.js';
import { Editor } from './editor.js';
import { EventStream } from './events.js';
import { current, LANGS, preferred, setLanguage, t } from './i18n.js';
import { MapView, names, overlapBand, overlapWindow } from './map.js';
import { Alerts } from './alerts.js';
import { Tracks } from './tracks.js';
import { bandText, CONFLICT_RED, h, idTag, kindText, partyColour, setParties, stateText, toast, windowText, zulu, zuluShort } from './util.js';
import { dropDraft, keepTyping } from './keep.js';
import { checkNotice } from './ledgercheck.js';
import { Chains, chainList, MessageChains, RelayDesk, relayOf } from './relays.js';

const state = {
  me: null,
  parties: [],
  notices: new Map(),
  acksIn: new Map(), // notice_id -> ack (current version) I owe
  acksOut: new Map(), // notice_id -> [acks] owed to me
  units: [], // issue 15: my units
  unitDeliveries: new Map(), // notice_id -> [current deliveries to my units]
  conflicts: new Map(),
  messages: new Map(),
  fresh: new Set(), // ids to flash once
};
let mapView;
let editor;
let stream;
let alerts;
let tracks;
let chains; // issue 15: the relay chains of my notices to parties that never connect
let messageChains; // issue 15: ... and of my hotline messages to them
let desk; // issue 15: what I owe as a relay
let tab = 'inbox';
let booted = false;
let userMoved = false;
// The last event shown, the last one confirmed to the hub (`confirmShown`).
let shownId = 0;
let confirmedId = 0;
let confirmTimer = null;
const $ = (id) => document.getElementById(id);

// ---------- sign in ----------

async function signIn(tok) {
  token.set(tok);
  try {
    const who = await api('GET', '/v1/whoami');
    if (!who.party) throw new ApiError(403, { detail: t('signin.operator') });
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
  const tok = $('signin-token').value.trim();
  try {
    const party = await signIn(tok);
    $('signin-token').value = '';
    start(party);
  } catch (err) {
    $('signin-error').textContent = err.status === 401 ? t('signin.invalid') : err.message;
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
  mapView.adoptLegend($('legend'));
  names.title = (id) => noticeTitle(id, { quotes: false });
  names.other = (c) => otherName(c);
  editor = new Editor({
    panel: $('panel-editor'), mapView, state,
    onSaved: (answer, amended) => {
      upsertNotice(answer);
      const n = (answer.conflicts || []).length;
      toast(`${t(amended ? 'toast.amended' : 'toast.sent', { title: answer.title || answer.id, v: answer.version })}${n ? ` — ${t('toast.n_conflicts', { n })}` : ''}`, n > 0);
      for (const c of answer.conflicts || []) upsertConflict(c);
      for (const r of answer.relayed || []) toast(t('check.relayed', { addressee: r.addressee, relay: r.relay }));
      refreshAcks();
      chains.refresh();
      renderAll();
      $('tab-editor').hidden = true;
      showTab('outbox');
    },
    onClose: () => { $('tab-editor').hidden = true; showTab('outbox'); },
  });
  alerts = new Alerts({ panel: $('panel-alerts'), mapView, state, badge: $('badge-alerts'), onHotline: (p, ref) => compose(p, ref),
    fetchNotice: async (id) => { upsertNotice(await api('GET', `/v1/notices/${encodeURIComponent(id)}`), { quiet: true }); renderAll(); },
    noticeTitle: (id) => (state.notices.has(id) ? noticeTitle(id, { quotes: false }) : null),
  });
  tracks = new Tracks({
    mapView, me,
    onChange: (tr) => { if (alerts.tracks !== tr || alerts.trackCount !== tr.size) { alerts.tracks = tr; alerts.trackCount = tr.size; alerts.render(); } },
    // A party with traffic that notified nothing itself (a replayed airline) opens on its own tracks.
    onFirst: (tr) => { if (tr.size && ![...state.notices.values()].some((n) => n.issuer === me) && !userMoved) alerts.showTracks(); },
  });
  chains = new Chains({ state, onChange: () => renderOutbox() });
  messageChains = new MessageChains({ state, onChange: () => renderHotline() });
  desk = new RelayDesk({ panel: $('panel-relay'), tab: $('tab-relay'), badge: $('badge-relay'), state,
    onRecorded: () => refreshAcks(), onLoaded: () => renderInbox() });
  // For the end-to-end tests and a curious officer's console: what the page holds.
  window.deconflict = { state, alerts, tracks, chains, desk, map: mapView.map };
  tickClock();
  setInterval(tickClock, 1000);
  mapView.map.on('dragstart zoomstart', () => { if (booted) userMoved = true; });
  mapView.loadBasemap().catch((err) => toast(t('toast.basemap', { error: err.message }), true));
  try {
    await loadAll();
  } catch (err) {
    if (err.status === 401) { token.clear(); showSignIn(t('signin.expired')); return; }
    toast(t('toast.load_failed', { error: err.message }), true);
  }
  mapView.fitAll();
  setTimeout(() => { booted = true; }, 1500);
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
  if (s === 'live' && el.dataset.state !== 'live' && el.dataset.state !== 'connecting') { refreshAcks(); chains?.refresh(); messageChains?.refresh(); desk?.refresh(); }
  el.dataset.state = s;
  el.textContent = s === 'offline' ? `${t('conn.offline')}${why ? `: ${t(`conn.why.${why}`)}` : ''}` : t(`conn.${s}`);
  el.title = t(s === 'live' ? 'conn.title_live' : 'conn.title_down');
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
  setParties(state.parties.map((p) => p.id));
  for (const n of notices.notices) upsertNotice(n, { quiet: true });
  for (const c of conflicts.conflicts) upsertConflict(c, { quiet: true });
  for (const m of messages.messages) state.messages.set(m.id, m);
  await refreshAcks(true);
  await refreshUnits(true);
  chains.refresh(true);
  desk.refresh(true);
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

// Issue 15: my units and what has reached each of them.
let unitsTimer = null;
async function refreshUnits(now = false) {
  if (!now) {
    clearTimeout(unitsTimer);
    unitsTimer = setTimeout(() => refreshUnits(true), 150);
    return;
  }
  let units;
  let deliveries;
  try {
    [units, deliveries] = await Promise.all([api('GET', '/v1/units'), api('GET', '/v1/unit-deliveries')]);
  } catch {
    return; // offline, or a hub without units: the next unit event tries again
  }
  state.units = units.units;
  state.unitDeliveries = new Map();
  for (const d of deliveries.deliveries) {
    if (!state.unitDeliveries.has(d.notice_id)) state.unitDeliveries.set(d.notice_id, []);
    state.unitDeliveries.get(d.notice_id).push(d);
  }
  mapView.showUnits(state.units);
  renderInbox();
}

function unitLines(n) {
  const ds = (state.unitDeliveries.get(n.id) || []).filter((d) => d.version === n.version);
  if (!ds.length) return [];
  const have = ds.filter((d) => d.state !== 'pending').length;
  return [h('div', { class: 'meta', 'data-testid': 'units' }, `${t('units.have', { have, total: ds.length })} `,
    ...ds.map((d) => h('span', { 'data-unit': d.unit },
      chip(`${d.unit.split('/')[1]}: ${stateText(d.state)}`, d.state),
      d.missed ? chip(t('units.missed'), 'overdue') : '')))];
}

// Issue 15: in the inbox of a relay, what it owes for a notice it relays.
function relayLines(n) {
  if (!desk) return [];
  return desk.owedFor(n.id).filter((o) => o.version === n.version).map((o) => h('div', { class: 'meta', 'data-testid': 'you-relay' },
    o.forward_overdue || o.ack_overdue ? chip(stateText('overdue'), 'overdue') : '',
    `${t('inbox.you_relay', { recipient: o.recipient })} · ${t(`relay.owes.${o.owes}`)} `,
    h('button', { type: 'button', onclick: () => { showTab('relay'); selectItem(`relay:${o.notice_id}:${o.version}:${o.recipient}`); } }, t('btn.relay_desk'))));
}

// ---------- state changes ----------

function upsertNotice(n, { quiet = false } = {}) {
  const old = state.notices.get(n.id);
  if (old && (old.version > n.version)) return;
  const merged = { ...old, ...n };
  if (!n.volumes && old) merged.volumes = old.volumes;
  // an event names no ledger entry: the old version's is not this one's
  if (old && old.version !== n.version && !('ledger_index' in n)) delete merged.ledger_index;
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
      toast(t(e.type === 'notice_received' ? 'toast.received' : 'toast.amended_by', { title: d.title || d.id, party: d.issuer }));
      refreshAcks();
      refreshUnits(); // routed to my units in the same change (debounced)
      desk.refresh(); // a version I relay: owed again
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
      toast(t('toast.withdrawn', { party: d.issuer, title: noticeTitle(d.id) }));
      refreshAcks();
      break;
    case 'conflict_opened':
    case 'conflict_updated':
    case 'conflict_resolved':
      upsertConflict(d);
      if (e.type === 'conflict_opened') toast(t('toast.conflict', { mine: noticeTitle(d.mine?.notice), other: otherName(d) }), true);
      renderConflicts();
      break;
    case 'ack_delivered':
    case 'ack_received':
    case 'ack_overdue':
      if (e.type === 'ack_received') toast(t('toast.acked_by', { party: d.addressee, title: noticeTitle(d.notice_id), v: d.version }));
      if (e.type === 'ack_overdue') toast(t('toast.overdue', { party: d.addressee, title: noticeTitle(d.notice_id) }), true);
      refreshAcks();
      chains.refresh(); // a relayed addressee's answer, or its deadline, is a link of its chain
      if (e.type === 'ack_overdue' && d.issuer !== state.me) desk.refresh(); // I relay it
      break;
    case 'relay_owed':
      toast(t('toast.relay_owed', { recipient: d.recipient, title: d.title || d.notice_id || d.message_id }));
      desk.refresh();
      break;
    case 'relay_step':
      if (d.step !== 'received') toast(t('toast.relay_step', { relay: d.relay, recipient: d.recipient, title: relayedTitle(d), step: t(`relay.answer.${d.step}`) }), d.step === 'refused');
      if (d.message_id) messageChains.refresh(d.message_id); // a link of my message's chain
      else chains.refresh();
      break;
    case 'relay_overdue':
      toast(t('toast.relay_overdue', { relay: d.relay, recipient: d.recipient, title: relayedTitle(d) }), true);
      if (d.message_id) messageChains.refresh(d.message_id); // none if I only relay it
      else chains.refresh();
      desk.refresh();
      break;
    case 'unit_delivered':
    case 'unit_acknowledged':
    case 'unit_delivery_missed':
      if (e.type === 'unit_delivery_missed') toast(t('toast.unit_missed', { unit: d.unit, title: noticeTitle(d.notice_id) }), true);
      refreshUnits();
      break;
    case 'units_not_reached':
      toast(t('toast.units_not_reached', { party: d.addressee, have: d.units_delivered, total: d.units_responsible, title: noticeTitle(d.notice_id) }), true);
      break;
    case 'message_received':
      state.messages.set(d.id, d);
      state.fresh.add(d.id);
      if (d.from !== state.me) toast(`${t('toast.hotline', { party: d.from })}${d.priority !== 'routine' ? ` [${t(`priority.${d.priority}`)}]` : ''}: ${d.body.slice(0, 80)}`, d.priority !== 'routine');
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
  confirmShown(e.id);
}

// The hub records a delivery only when the client confirms it has the event: once an
// event is shown, confirm it (a burst of events, once). If the confirmation fails, the
// stream's reconnection (Last-Event-ID) confirms the same events.
function confirmShown(id) {
  if (!Number.isInteger(id) || id <= shownId) return;
  shownId = id;
  clearTimeout(confirmTimer);
  confirmTimer = setTimeout(async () => {
    const upTo = shownId;
    if (upTo <= confirmedId) return;
    try {
      await api('POST', '/v1/events/confirm', { up_to: upTo });
      confirmedId = upTo;
      desk.refresh(); // what I relay is received once my client confirmed it
    } catch {
      // offline or hub restarting: confirmed by the reconnection's cursor
    }
  }, 200);
}

// A notice as this party may name it: by its title when the notice is in this
// browser (addressed to it or its own), else by who issued it and its kind only.
// A relay event names a notice version or (issue 15) a hotline message.
function relayedTitle(d) {
  return d.message_id ? t('relay.message', { id: d.message_id }) : noticeTitle(d.notice_id);
}

function noticeTitle(id, { quotes = true } = {}) {
  const n = state.notices.get(id);
  if (!n) return id ? t('notice.unknown') : '';
  const title = n.title || id;
  return quotes ? t('quote', { text: title }) : title;
}

function otherName(c) {
  const o = c.other || {};
  const theirs = o.notice ? state.notices.get(o.notice) : null;
  if (theirs) return t('conflict.their_titled', { party: o.issuer, title: theirs.title || theirs.id });
  return t('conflict.their_kind', { party: o.issuer, kind: kindText(o.kind) });
}

// ---------- panels ----------

function showTab(name) {
  tab = name;
  for (const b of document.querySelectorAll('.tabs [role=tab]')) {
    const on = b.dataset.tab === name;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
  }
  for (const p of document.querySelectorAll('.panel')) p.hidden = p.id !== `panel-${name}`;
  if (name === 'hotline') markRead();
}
for (const b of document.querySelectorAll('.tabs [role=tab]')) {
  b.addEventListener('click', () => showTab(b.dataset.tab));
  b.addEventListener('keydown', (e) => {
    const keys = { ArrowRight: 1, ArrowLeft: -1, Home: 0, End: 0 };
    if (!(e.key in keys)) return;
    e.preventDefault();
    const tabs = [...document.querySelectorAll('.tabs [role=tab]:not([hidden])')];
    // In a right-to-left page the next tab is on the left.
    const step = keys[e.key] * (document.documentElement.dir === 'rtl' ? -1 : 1);
    let i = tabs.indexOf(b) + step;
    if (e.key === 'Home') i = 0;
    if (e.key === 'End') i = tabs.length - 1;
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
  if (!$('tab-relay').hidden) desk.render();
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

const chip = (text, cls) => h('span', { class: `chip st-${cls}` }, text);
const ackState = (a) => (a.overdue && a.state !== 'acknowledged' ? 'overdue' : a.state);
const ackChip = (a) => chip(stateText(ackState(a)), ackState(a));
const addrText = (list) => (list || []).map((a) => (a === '*' ? t('addr.all') : a)).join(', ');

function volumeLines(n) {
  return (n.volumes || []).map((v) => h('div', { class: 'meta' }, `${bandText(v)} · ${windowText(v.time_start, v.time_end)}`));
}

// ---------- the ledger mark: each shown notice checked against its ledger entry ----------

const checks = new Map(); // "id:version" -> {shown, result | null while checking}
function ledgerMark(n) {
  const key = `${n.id}:${n.version}`;
  let c = checks.get(key);
  const shown = JSON.stringify(n);
  if (!c || c.shown !== shown) {
    c = { shown, result: null };
    checks.set(key, c);
    runCheck(n, key, c);
  }
  return markFor(key, c.result);
}
function markFor(key, r) {
  const attrs = { class: 'ledger-mark', 'data-ledger-for': key, role: 'status' };
  if (!r) return h('div', { ...attrs, 'data-ledger': 'checking' }, t('ledger.checking'));
  if (r.error) return h('div', { ...attrs, 'data-ledger': 'error' }, t('ledger.error', { error: r.error }));
  if (!r.ok) {
    return h('div', { ...attrs, class: 'ledger-mark bad', 'data-ledger': 'mismatch' },
      `⚠ ${t('ledger.mismatch', { index: r.index ?? '?', problems: r.problems.join('; ') })}`);
  }
  return h('div', { ...attrs, 'data-ledger': 'checked', title: t('ledger.fingerprint', { fp: r.fingerprint }) },
    `✓ ${t('ledger.checked', { index: r.index, size: r.size })}`,
    r.signature === 'verified' ? '' : ` (${t('ledger.unsigned')})`);
}
async function runCheck(n, key, c) {
  let result;
  try {
    let shown = n;
    if (!Number.isInteger(n.ledger_index)) { // shown from an event: ask which entry it is
      const served = await api('GET', `/v1/notices/${n.id}`);
      shown = served.version === n.version ? { ...n, ledger_index: served.ledger_index } : n;
    }
    result = await checkNotice(shown);
  } catch (err) {
    result = { error: err.message };
  }
  if (checks.get(key) !== c) return;
  c.result = result;
  for (const el of document.querySelectorAll(`[data-ledger-for="${CSS.escape(key)}"]`)) el.replaceWith(markFor(key, result));
}

// The printed notice (a PDF to hand over or fax) in the interface's language; its code
// is the same on every language's paper, so the toast says it for the telephone.
function printButton(n) {
  return h('button', {
    type: 'button',
    'data-action': 'print',
    onclick: async () => {
      try {
        const lang = current();
        const r = await fetch(`/v1/notices/${encodeURIComponent(n.id)}/printable?format=pdf&lang=${lang}`,
          { headers: { Authorization: `Bearer ${token.get()}` } });
        if (!r.ok) {
          const problem = await r.json().catch(() => ({}));
          throw new ApiError(r.status, problem);
        }
        const code = r.headers.get('X-Verification-Code') || '';
        const url = URL.createObjectURL(await r.blob());
        const link = h('a', { href: url, download: `${n.id}-v${n.version}-${lang}.pdf`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        toast(t('toast.printed', { title: n.title || n.id, v: n.version, code }));
      } catch (err) {
        toast(t('toast.print_failed', { error: err.message }), true);
      }
    },
  }, t('btn.print'));
}

function itemBase(n, extra) {
  return h('div', {
    class: `item${state.fresh.has(n.id) ? ' flash' : ''}${n.state !== 'active' ? ' inactive' : ''}`,
    style: `--c:${partyColour(n.issuer)}`,
    'data-id': n.id,
  },
  h('h3', { dir: 'auto' }, n.title || n.id),
  h('div', { class: 'meta' }, `${n.issuer} · ${kindText(n.kind)} · v${n.version} · ${stateText(n.state)} · `, idTag(n.id)),
  ...volumeLines(n),
  ledgerMark(n),
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
  if (!list.length) { keepTyping(box, () => box.replaceChildren(h('p', { class: 'empty' }, t('inbox.empty')))); return; }
  keepTyping(box, () => box.replaceChildren(...list.map((n) => {
    const a = state.acksIn.get(n.id);
    const extra = [];
    if (a && a.version === n.version) {
      extra.push(h('div', { class: 'meta' }, ackChip(a),
        a.deadline && a.state !== 'acknowledged' ? ` ${t('ack.by', { time: zulu(a.deadline) })}` : '',
        a.acknowledged_at ? ` ${t('ack.at', { time: zulu(a.acknowledged_at) })}` : ''));
    }
    extra.push(...unitLines(n));
    extra.push(...relayLines(n));
    const actions = [h('button', { type: 'button', onclick: () => mapView.focus(n.id) }, t('btn.show_on_map'))];
    if (a && a.state !== 'acknowledged' && n.state === 'active') {
      const comment = h('input', { type: 'text', dir: 'auto', placeholder: t('ack.comment_placeholder'), 'aria-label': t('ack.comment_for', { title: n.title || n.id }), 'data-keep': `ack:${n.id}` });
      const send = async (e) => {
        const btn = e.currentTarget || e.target;
        btn.disabled = true;
        try {
          await api('POST', `/v1/notices/${n.id}/ack`, { version: n.version, comment: comment.value || undefined });
          toast(t('toast.acked', { title: n.title || n.id, v: n.version }));
          comment.value = '';
          dropDraft(`ack:${n.id}`);
        } catch (err) {
          toast(t('toast.ack_failed', { error: err.message }), true);
        }
        refreshAcks(true);
      };
      comment.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); send({ currentTarget: comment.nextSibling }); } });
      actions.unshift(comment, h('button', { type: 'button', class: 'primary', 'data-action': 'ack', onclick: send }, t('btn.acknowledge')));
    }
    actions.push(printButton(n));
    actions.push(h('button', { type: 'button', onclick: () => compose(n.issuer, { type: 'notice', id: n.id }) }, t('btn.hotline', { party: n.issuer })));
    extra.push(h('div', { class: 'actions' }, actions));
    return itemBase(n, extra);
  })));
}

function renderOutbox() {
  const box = $('panel-outbox');
  const list = [...state.notices.values()].filter((n) => n.issuer === state.me)
    .sort((x, y) => (x.state === 'active' ? 0 : 1) - (y.state === 'active' ? 0 : 1) || String(y.updated_at).localeCompare(String(x.updated_at)));
  let waiting = 0;
  if (!list.length) { box.replaceChildren(h('p', { class: 'empty' }, t('outbox.empty'))); $('badge-outbox').textContent = ''; return; }
  keepTyping(box, () => box.replaceChildren(...list.map((n) => {
    const acks = (state.acksOut.get(n.id) || []).filter((a) => a.version === n.version);
    waiting += acks.filter((a) => a.overdue && a.state !== 'acknowledged').length;
    const rows = acks.map((a) => {
      const via = relayOf(state.parties, a.addressee);
      const leg = via ? chains.leg(n, a.addressee) : null;
      return h('li', { 'data-addressee': a.addressee }, ackChip(a), ` ${a.addressee}`,
        via ? ` ${t('relay.via', { relay: via })}` : '',
        a.acknowledged_at ? ` · ${zuluShort(a.acknowledged_at)}${a.comment ? ` ${t('quote', { text: a.comment })}` : ''}`
          : a.delivered_at ? ` · ${t('ack.delivered', { time: zuluShort(a.delivered_at) })}` : a.deadline ? ` · ${t('ack.due', { time: zuluShort(a.deadline) })}` : '',
        leg ? chainList(leg, a) : '');
    });
    const actions = [h('button', { type: 'button', onclick: () => mapView.focus(n.id) }, t('btn.show_on_map')), printButton(n)];
    if (n.state === 'active') {
      actions.push(h('button', { type: 'button', onclick: () => openEditor(n) }, t('btn.amend')));
      actions.push(h('button', {
        type: 'button', class: 'danger',
        onclick: async () => {
          if (!window.confirm(t('confirm.cancel', { title: n.title || n.id }))) return;
          try {
            upsertNotice(await api('DELETE', `/v1/notices/${n.id}?version=${n.version}`));
            renderAll();
          } catch (err) { toast(t('toast.cancel_failed', { error: err.message }), true); }
        },
      }, t('btn.cancel_notice')));
    }
    return itemBase(n, [h('div', { class: 'meta' }, t('outbox.to', { to: addrText(n.addressees) })),
      h('ul', { class: 'acklist', 'aria-label': t('outbox.acks') }, rows), h('div', { class: 'actions' }, actions)]);
  })));
  $('badge-outbox').textContent = waiting ? String(waiting) : '';
}

function renderConflicts() {
  const box = $('panel-conflicts');
  const list = [...state.conflicts.values()].sort((x, y) => (x.state === 'open' ? 0 : 1) - (y.state === 'open' ? 0 : 1)
    || String(y.updated_at).localeCompare(String(x.updated_at)));
  const open = list.filter((c) => c.state === 'open').length;
  $('badge-conflicts').textContent = open ? String(open) : '';
  if (!list.length) { box.replaceChildren(h('p', { class: 'empty' }, t('conflicts.empty'))); return; }
  keepTyping(box, () => box.replaceChildren(...list.map((c) => {
    const theirs = c.other.notice ? state.notices.get(c.other.notice) : null;
    return h('div', { class: `item${state.fresh.has(c.id) ? ' flash' : ''}${c.state !== 'open' ? ' inactive' : ''}`, style: `--c:${CONFLICT_RED}`, 'data-id': c.id },
      h('h3', { dir: 'auto' }, chip(stateText(c.state), c.state), ` ${t('conflict.headline', { mine: noticeTitle(c.mine.notice, { quotes: false }), other: otherName(c) })}`),
      h('div', { class: 'meta' }, theirs ? [t('conflict.their_notice'), ' ', idTag(theirs.id)] : t('conflict.not_addressed')),
      ...(c.overlaps || []).map((o) => h('div', { class: 'meta' }, `${o.region ? t('conflict.overlap') : t('conflict.apart_m', { m: Math.round(o.min_distance_m) })} · ${overlapBand(o)} · ${overlapWindow(o)}`)),
      c.resolution ? h('div', { class: 'meta' }, t('conflict.resolved', { why: c.resolution })) : null,
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => mapView.focus(c.id) }, t('btn.show_on_map')),
        h('button', { type: 'button', onclick: () => compose(c.other.issuer, { type: 'conflict', id: c.id }) }, t('btn.hotline', { party: c.other.issuer }))));
  })));
}

// ---------- hotline ----------

let composeRef = null;
function fillRecipients() {
  const chosen = new Set([...$('chat-to').selectedOptions].map((o) => o.value));
  $('chat-to').replaceChildren(...state.parties.filter((p) => p.id !== state.me).map((p) => h('option', { value: p.id, selected: chosen.has(p.id) }, `${p.id} — ${p.name}`)));
  $('chat-to').size = Math.min(4, Math.max(2, state.parties.length - 1));
}

function refText(ref) {
  if (!ref) return '';
  if (ref.type === 'notice') return t('ref.notice', { title: noticeTitle(ref.id) });
  if (ref.type === 'conflict') {
    const c = state.conflicts.get(ref.id);
    return c ? t('ref.conflict', { what: t('conflict.headline', { mine: noticeTitle(c.mine.notice, { quotes: false }), other: otherName(c) }) }) : t('ref.conflict', { what: ref.id });
  }
  if (ref.type === 'alert') return t('ref.alert', { what: alerts?.name(ref.id) || ref.id });
  return t('ref.other', { type: ref.type, id: ref.id });
}

function compose(party, ref) {
  composeRef = ref;
  for (const o of $('chat-to').options) o.selected = o.value === party;
  $('chat-body').placeholder = ref ? refText(ref) : '';
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
// Ctrl+Enter sends from the message box.
$('chat-body').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); $('chat-form').requestSubmit(); }
});

function receiptText(m) {
  // issue 15: a relayed recipient's receipts are what its relay recorded
  return (m.receipts || []).map((r) => `${r.party} ${r.read_at ? `✓✓ ${t('receipt.read', { time: zuluShort(r.read_at) })}` : r.delivered_at ? `✓ ${t('receipt.delivered', { time: zuluShort(r.delivered_at) })}` : `· ${t('receipt.sent')}`}${r.via_relay ? ` (${t('relay.via', { relay: r.via_relay })})` : ''}`).join(' · ');
}

// A message this party only relays (issue 15): not its to read, nor unread.
const relayOnly = (m) => Boolean(m.relaying) && !m.to.includes(state.me);
const isUnread = (m) => m.from !== state.me && !m.read_at && !relayOnly(m);

function renderHotline() {
  const box = $('chat');
  const list = [...state.messages.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  const unread = list.filter(isUnread).length;
  $('badge-hotline').textContent = unread ? String(unread) : '';
  const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 20;
  box.replaceChildren(...(list.length ? list.map((m) => {
    const out = m.from === state.me;
    return h('div', { class: `msg ${out ? 'out' : 'in'} ${m.priority}`, 'data-id': m.id },
      h('div', { class: 'meta' }, `${out ? t('msg.to', { to: m.to.join(', ') }) : t('msg.from', { party: m.from })} · ${zulu(m.created_at)}${m.priority !== 'routine' ? ` · ${t(`priority.${m.priority}`).toUpperCase()}` : ''}${m.ref ? ` · ${refText(m.ref)}` : ''}`),
      h('div', { dir: 'auto' }, m.subject ? h('strong', {}, `${m.subject}: `) : null, m.body),
      h('div', { class: 'meta receipt' }, out ? receiptText(m) : relayOnly(m) ? t('relay.relaying', { recipients: m.relaying.map((g) => g.recipient).join(', ') }) : m.read_at ? t('receipt.read', { time: zuluShort(m.read_at) }) : t('receipt.unread')),
      // issue 15: each relayed recipient's chain, as the outbox shows a notice's
      ...(out ? (m.receipts || []).filter((r) => r.relay_chain).map((r) => chainList(r.relay_chain)) : []));
  }) : [h('p', { class: 'empty' }, t('hotline.empty'))]));
  if (stick) box.scrollTop = box.scrollHeight;
  if (tab === 'hotline') markRead();
}

async function markRead() {
  for (const m of state.messages.values()) {
    if (!isUnread(m) || m.reading) continue;
    m.reading = true;
    try {
      const r = await api('POST', `/v1/messages/${m.id}/read`);
      m.read_at = r.read_at || new Date().toISOString();
    } catch {
      m.reading = false;
    }
  }
  const unread = [...state.messages.values()].filter(isUnread).length;
  $('badge-hotline').textContent = unread ? String(unread) : '';
}

// ---------- editor ----------

function openEditor(n = null) {
  $('tab-editor').hidden = false;
  $('tab-editor').textContent = n ? t('btn.amend') : t('btn.new');
  showTab('editor');
  editor.open(n);
}
$('btn-new').addEventListener('click', () => openEditor());

// ---------- legend and time ----------

function renderLegend() {
  const issuers = new Set([state.me, ...state.parties.map((p) => p.id), ...[...state.notices.values()].map((n) => n.issuer)]);
  $('legend-body').replaceChildren(...[...issuers].filter(Boolean).sort().map((p) => h('span', {}, h('i', { style: `background:${partyColour(p)}` }), p === state.me ? t('party.own', { party: p }) : p)),
    h('span', {}, h('i', { style: 'background:#7d8590' }), t('legend.ended')),
    h('span', {}, h('i', { style: `background:${CONFLICT_RED}` }), t('legend.conflict')));
}

let range = [Date.now() - 3600e3, Date.now() + 24 * 3600e3];
let timeMode = 'all';
function updateTimeRange() {
  let lo = Date.now() - 3600e3;
  let hi = Date.now() + 6 * 3600e3;
  for (const n of state.notices.values()) {
    if (n.kind === 'protected_site') continue; // standing sites would stretch the slider to months
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
function setSliderTo(time) {
  $('time-slider').value = String(Math.round((1000 * (time - range[0])) / (range[1] - range[0])));
}
function applyTime() {
  const time = timeMode === 'all' ? null : timeMode === 'now' ? new Date() : sliderTime();
  if (timeMode === 'now') setSliderTo(Date.now());
  mapView.setTime(time);
  $('time-label').textContent = time ? `${timeMode === 'now' ? `${t('time.now_prefix')} ` : ''}${zulu(time)}` : t('time.all_label');
  $('time-slider').setAttribute('aria-valuetext', $('time-label').textContent);
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

// ---------- language ----------

function fillLanguages(lang) {
  for (const id of ['signin-lang', 'app-lang']) {
    $(id).replaceChildren(...Object.entries(LANGS).map(([code, name]) => h('option', { value: code, lang: code, selected: code === lang }, name)));
  }
}

async function switchLanguage(lang) {
  await setLanguage(lang, { remember: true });
  fillLanguages(lang);
  if (!state.me) return;
  $('tab-editor').textContent = editor?.notice ? t('btn.amend') : t('btn.new');
  setConn($('conn').dataset.state);
  tickClock();
  for (const n of state.notices.values()) if (n.volumes) mapView.showNotice(n);
  for (const c of state.conflicts.values()) mapView.showConflict(c);
  mapView.relang();
  renderAll();
  alerts.redraw();
  tracks.redraw();
  if (editor && $('panel-editor').querySelector('form')) editor.relabel();
  applyTime();
}
for (const id of ['signin-lang', 'app-lang']) $(id).addEventListener('change', (e) => switchLanguage(e.target.value));

// ---------- boot ----------

(async () => {
  const lang = preferred();
  await setLanguage(lang);
  fillLanguages(lang);
  const tok = token.get();
  if (!tok) { showSignIn(); return; }
  try {
    start(await signIn(tok));
  } catch {
    showSignIn(t('signin.again'));
  }
})();
