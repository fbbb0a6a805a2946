// Relayed parties (issue 15) on the map, from the relay API the parties already have:
//
// - the issuer: each notice addressed to a party that never connects shows its relay
//   chain in the outbox card (`GET /v1/notices/{id}/relay`): delivered to the relay ->
//   forwarded (when, how, to whom) -> the answer as the relay reported it, with the
//   forwarding and acknowledgement deadlines and their escalation;
// - the relay: a desk (its own tab) of what it owes (`GET /v1/relay/owed`: notice
//   versions and hotline messages), overdue first, each with the steps recorded so far
//   and the forms that record the next one (`POST /v1/notices/{id}/relay`, or
//   `/v1/messages/{id}/relay` for a message), the hub's refusals shown at their fields.
//
// - the sender of a hotline message to such a party: the recipient's receipt in its
//   hotline carries the chain (`relay_chain`, from the listing), asked again
//   (`GET /v1/messages/{id}/relay`) on each `relay_step` or `relay_overdue` about it.
//
// Nothing here asks for a chain the party may not read: the outbox asks only about
// the party's own notices, the hotline only about the party's own messages, the desk
// only about what the hub says it relays.

import { api, ApiError } from './api.js';
import { t } from './i18n.js';
import { dropDraft, keepTyping } from './keep.js';
import { fromInputUtc, h, idTag, kindText, partyColour, stateText, toast, zulu } from './util.js';

export const MEANS = ['phone', 'fax', 'diplomatic_note', 'in_person', 'email', 'radio', 'courier', 'other'];
const ANSWERS = ['acknowledged', 'refused', 'no_answer'];
const FINAL = new Set(['acknowledged', 'refused']);

const chip = (text, cls) => h('span', { class: `chip st-${cls}` }, text);
// An owed leg is a notice version's or a hotline message's (`what`, issue 15).
const isMessage = (o) => o.what === 'message';
const idOf = (o) => (isMessage(o) ? o.message_id : o.notice_id);
const relayPath = (o) => `/v1/${isMessage(o) ? 'messages' : 'notices'}/${encodeURIComponent(idOf(o))}/relay`;
const how = (means) => (means ? ` (${t(`means.${means}`)})` : '');

// The parties a relay reaches, from the directory (`reachable_via`).
export function relayedBy(parties, relay) {
  return parties.filter((p) => p.reachable_via === relay).map((p) => p.id);
}
export function relayOf(parties, party) {
  return parties.find((p) => p.id === party)?.reachable_via || null;
}

// One recorded step, as a sentence.
function stepText(s, relay) {
  const time = zulu(s.at);
  const by = s.counterpart || t('relay.unnamed');
  if (s.step === 'received') return t('relay.step.received', { relay, time });
  if (s.step === 'forwarded') return t('relay.step.forwarded', { relay, how: how(s.means), to: by, time });
  return t(`relay.step.${s.step}`, { by, how: how(s.means), time, relay });
}

function stepItem(s, relay) {
  return h('li', { 'data-step': s.step },
    chip(t(`relay.answer.${s.step}`), s.step === 'acknowledged' ? 'acknowledged' : s.step === 'refused' ? 'overdue' : 'delivered'),
    h('span', { dir: 'auto' }, stepText(s, relay)),
    s.comment ? h('span', { dir: 'auto' }, ` ${t('quote', { text: s.comment })}`) : '',
    h('span', { class: 'muted' }, ` · ${t('relay.ledger', { index: s.ledger_index })}${s.signed_by_key ? ` · ${t('relay.signed')}` : ''}`));
}

// What is still outstanding on a leg, with its deadline and whether it escalated.
function outstanding(leg, ack) {
  const relay = leg.relay;
  if (leg.answer && FINAL.has(leg.answer)) return null;
  if (!leg.received_by_relay_at) {
    return h('li', { 'data-step': 'awaiting', 'data-owes': 'receive' }, chip(stateText('pending'), 'pending'), t('relay.await.receive', { relay }));
  }
  if (!leg.forwarded_at) {
    return h('li', { 'data-step': 'awaiting', 'data-owes': 'forward' },
      leg.forward_overdue ? chip(stateText('overdue'), 'overdue') : chip(stateText('pending'), 'pending'),
      t(leg.forward_overdue ? 'relay.overdue.forward' : 'relay.await.forward', { relay, time: zulu(leg.forward_deadline) }));
  }
  const deadline = ack?.deadline || leg.ack_deadline;
  const late = Boolean(ack?.overdue || leg.ack_overdue);
  return h('li', { 'data-step': 'awaiting', 'data-owes': 'answer' },
    late ? chip(stateText('overdue'), 'overdue') : chip(stateText('pending'), 'pending'),
    deadline ? t(late ? 'relay.overdue.answer' : 'relay.await.answer', { time: zulu(deadline) }) : t('relay.await.answer_open'));
}

// The chain of one leg (a notice version to one relayed addressee), as an ordered list.
export function chainList(leg, ack) {
  return h('ol', { class: 'relaychain', 'data-testid': 'relay-chain', 'data-recipient': leg.recipient, 'aria-label': t('relay.chain', { recipient: leg.recipient, relay: leg.relay }) },
    ...(leg.steps || []).map((s) => stepItem(s, leg.relay)),
    outstanding(leg, ack));
}

// ---------- the issuer's chains ----------

// notice id -> the chain document; only the party's own notices with a relayed addressee.
export class Chains {
  constructor({ state, onChange }) {
    this.state = state;
    this.onChange = onChange;
    this.chains = new Map();
    this.timer = null;
  }

  relayed(n) {
    const addressed = n.addressees || [];
    return this.state.parties.some((p) => p.reachable_via && p.id !== n.issuer && (addressed.includes('*') || addressed.includes(p.id)));
  }

  refresh(now = false) {
    if (!now) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(true), 150);
      return;
    }
    const mine = [...this.state.notices.values()].filter((n) => n.issuer === this.state.me && this.relayed(n))
      .sort((x, y) => String(y.updated_at).localeCompare(String(x.updated_at))).slice(0, 50);
    Promise.all(mine.map(async (n) => {
      try {
        this.chains.set(n.id, await api('GET', `/v1/notices/${encodeURIComponent(n.id)}/relay`));
      } catch {
        // offline: the next relay event or reconnection asks again
      }
    })).then(() => this.onChange());
  }

  // The leg of a notice's current version to this addressee, if it is relayed.
  leg(n, addressee) {
    const doc = this.chains.get(n.id);
    return doc?.legs.find((g) => g.version === n.version && g.recipient === addressee) || null;
  }
}

// ---------- the sender's hotline: its messages' chains ----------

// The chains of this party's own messages to relayed recipients, kept on their receipts
// (`via_relay`, `relay_chain`, as the hub's listing gives them to the sender).
export class MessageChains {
  constructor({ state, onChange }) {
    this.state = state;
    this.onChange = onChange;
    this.pending = new Set();
    this.timer = null;
  }

  mine(id) {
    const m = this.state.messages.get(id);
    return m && m.from === this.state.me ? m : null;
  }

  // A relay event about a message (or a reconnection: every chain still open). Only a
  // message this party sent is asked about; another's is none of its business.
  refresh(id = null) {
    const ids = id ? [id] : [...this.state.messages.values()]
      .filter((m) => m.from === this.state.me && (m.receipts || []).some((r) => r.relay_chain && !FINAL.has(r.relay_chain.answer)))
      .map((m) => m.id);
    for (const x of ids) if (this.mine(x)) this.pending.add(x);
    if (!this.pending.size) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.load(), 150); // a burst of steps, one question
  }

  async load() {
    const ids = [...this.pending];
    this.pending.clear();
    await Promise.all(ids.map(async (id) => {
      let doc;
      try {
        doc = await api('GET', `/v1/messages/${encodeURIComponent(id)}/relay`);
      } catch {
        return; // offline: the next relay event or reconnection asks again
      }
      const m = this.mine(id);
      if (!m) return;
      const legs = new Map(doc.legs.map((g) => [g.recipient, g]));
      m.receipts = (m.receipts || []).map((r) => (legs.has(r.party) ? { ...r, via_relay: legs.get(r.party).relay, relay_chain: legs.get(r.party) } : r));
    }));
    this.onChange();
  }
}

// ---------- the relay's desk ----------

const rankOf = (o) => (o.forward_overdue || o.ack_overdue ? 0 : o.owes === 'forward' || o.owes === 'receive' ? 1 : 2);
const dueOf = (o) => (o.owes === 'answer' ? o.ack_deadline || '9999' : o.forward_deadline);

export class RelayDesk {
  constructor({ panel, tab, badge, state, onRecorded, onLoaded }) {
    this.onLoaded = onLoaded;
    this.panel = panel;
    this.tab = tab;
    this.badge = badge;
    this.state = state;
    this.onRecorded = onRecorded;
    this.owed = [];
    this.steps = new Map(); // notice id -> its chain as this relay sees it (its own legs)
    this.errors = new Map(); // "notice:version:recipient:form" -> the last refusal
    this.timer = null;
  }

  isRelay() {
    return relayedBy(this.state.parties, this.state.me).length > 0;
  }

  refresh(now = false) {
    if (!this.isRelay()) { this.tab.hidden = true; return; }
    this.tab.hidden = false;
    if (!now) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(true), 150);
      return;
    }
    this.load();
  }

  async load() {
    let owed;
    try {
      owed = (await api('GET', '/v1/relay/owed')).owed;
    } catch {
      return; // offline: the next relay event or reconnection asks again
    }
    const chains = new Map();
    const first = new Map(owed.map((o) => [idOf(o), o]));
    await Promise.all([...first.values()].map(async (o) => {
      try {
        chains.set(idOf(o), await api('GET', relayPath(o)));
      } catch {
        // shown without its steps until the next refresh
      }
    }));
    this.owed = owed.sort((x, y) => rankOf(x) - rankOf(y) || String(dueOf(x)).localeCompare(String(dueOf(y))) || idOf(x).localeCompare(idOf(y)));
    this.steps = chains;
    this.render();
    this.onLoaded?.();
  }

  // The legs this relay owes for a notice (for the inbox card's line).
  owedFor(noticeId) {
    return this.owed.filter((o) => !isMessage(o) && o.notice_id === noticeId);
  }

  legOf(o) {
    const doc = this.steps.get(idOf(o));
    const leg = doc?.legs.find((g) => g.version === o.version && g.recipient === o.recipient);
    return { ...o, steps: leg?.steps || [] };
  }

  render() {
    const late = this.owed.filter((o) => rankOf(o) === 0).length;
    const due = this.owed.filter((o) => rankOf(o) < 2).length;
    this.badge.textContent = due ? String(due) : '';
    this.badge.classList.toggle('info', late === 0); // red only when something is overdue
    if (!this.owed.length) {
      keepTyping(this.panel, () => this.panel.replaceChildren(h('p', { class: 'empty' }, t('relay.empty'))));
      return;
    }
    keepTyping(this.panel, () => this.panel.replaceChildren(
      h('p', { class: 'meta' }, t('relay.intro', { parties: relayedBy(this.state.parties, this.state.me).join(', ') })),
      ...this.owed.map((o) => this.item(o))));
  }

  item(o) {
    const leg = this.legOf(o);
    const key = `${idOf(o)}:${o.version ?? 0}:${o.recipient}`;
    const overdue = o.forward_overdue || o.ack_overdue;
    const forms = [];
    if (o.owes !== 'receive') {
      if (o.owes === 'answer') forms.push(this.answerForm(o, key));
      forms.push(this.forwardForm(o, key, o.owes === 'answer'));
    }
    const meta = isMessage(o)
      ? t('relay.message_for', { sender: o.sender, recipient: o.recipient, priority: o.priority ? t(`priority.${o.priority}`) : '' })
      : `${t('relay.for', { issuer: o.issuer, recipient: o.recipient, v: o.version })} · ${kindText(o.kind)}${o.state && o.state !== 'active' ? ` · ${stateText(o.state)}` : ''}`;
    return h('div', {
      class: `item relay${overdue ? ' overdue' : ''}`, style: `--c:${partyColour(o.issuer || o.sender)}`,
      'data-id': `relay:${key}`, [isMessage(o) ? 'data-message' : 'data-notice']: idOf(o), 'data-recipient': o.recipient, 'data-owes': o.owes,
    },
    h('h3', { dir: 'auto' }, overdue ? chip(stateText('overdue'), 'overdue') : '', o.title || idOf(o)),
    h('div', { class: 'meta' }, `${meta} · `, idTag(idOf(o))),
    chainList(leg, { deadline: o.ack_deadline, overdue: o.ack_overdue }),
    ...forms);
  }

  field(key, form, name, label, input) {
    const id = `relay-${form}-${name}-${key}`.replace(/[^a-zA-Z0-9_-]/g, '_');
    input.id = id;
    input.name = name;
    const err = this.errors.get(`${key}:${form}`)?.fields?.[name];
    if (err) { input.classList.add('invalid'); input.setAttribute('aria-invalid', 'true'); }
    return h('div', { class: 'relay-field' }, h('label', { for: id }, label), input,
      h('div', { class: 'field-error', role: 'alert', 'data-path': name }, err || ''));
  }

  meansSelect(key, form, required) {
    return h('select', { 'data-keep': `relay:${key}:${form}:means`, required },
      h('option', { value: '' }, t('relay.f.choose')),
      ...MEANS.map((m) => h('option', { value: m }, t(`means.${m}`))));
  }

  text(key, form, name, attrs = {}) {
    return h('input', { type: 'text', dir: 'auto', 'data-keep': `relay:${key}:${form}:${name}`, ...attrs });
  }

  forwardForm(o, key, again) {
    const f = 'forward';
    const general = this.errors.get(`${key}:${f}`)?.general;
    return h('form', { class: 'relay-form', 'data-form': f, 'aria-label': t(again ? 'relay.form.forward_again' : 'relay.form.forward'), novalidate: true, onsubmit: (e) => { e.preventDefault(); this.send(o, key, f, e.currentTarget); } },
      h('div', { class: 'row' },
        this.field(key, f, 'means', t('relay.f.means'), this.meansSelect(key, f, true)),
        this.field(key, f, 'to', t('relay.f.to'), this.text(key, f, 'to', { required: true })),
        this.field(key, f, 'at', t('relay.f.at'), this.text(key, f, 'at', { class: 'mono', dir: 'ltr', placeholder: 'YYYY-MM-DD HH:MMZ', spellcheck: 'false' }))),
      this.field(key, f, 'comment', t('relay.f.comment'), this.text(key, f, 'comment')),
      h('div', { class: 'field-error', role: 'alert', 'data-general': '' }, general || ''),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: again ? '' : 'primary' }, t(again ? 'relay.form.forward_again' : 'relay.form.forward'))));
  }

  answerForm(o, key) {
    const f = 'answer';
    const general = this.errors.get(`${key}:${f}`)?.general;
    const step = h('select', { 'data-keep': `relay:${key}:${f}:step`, required: true },
      h('option', { value: '' }, t('relay.f.choose')),
      ...ANSWERS.map((a) => h('option', { value: a }, t(`relay.answer.${a}`))));
    return h('form', { class: 'relay-form', 'data-form': f, 'aria-label': t('relay.form.answer'), novalidate: true, onsubmit: (e) => { e.preventDefault(); this.send(o, key, f, e.currentTarget); } },
      h('div', { class: 'row' },
        this.field(key, f, 'step', t('relay.f.step'), step),
        this.field(key, f, 'by', t('relay.f.by'), this.text(key, f, 'by')),
        this.field(key, f, 'means', t('relay.f.means'), this.meansSelect(key, f, false)),
        this.field(key, f, 'at', t('relay.f.at'), this.text(key, f, 'at', { class: 'mono', dir: 'ltr', placeholder: 'YYYY-MM-DD HH:MMZ', spellcheck: 'false' }))),
      this.field(key, f, 'comment', t('relay.f.comment'), this.text(key, f, 'comment')),
      h('div', { class: 'field-error', role: 'alert', 'data-general': '' }, general || ''),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('relay.form.answer'))));
  }

  async send(o, key, form, el) {
    const value = (name) => el.elements.namedItem(name)?.value?.trim() || '';
    const body = isMessage(o) ? { recipient: o.recipient } : { version: o.version, recipient: o.recipient };
    body.step = form === 'forward' ? 'forwarded' : value('step') || undefined;
    for (const name of ['means', 'to', 'by', 'comment']) if (value(name)) body[name] = value(name);
    if (value('at')) body.at = fromInputUtc(value('at'));
    const button = el.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      await api('POST', relayPath(o), body);
      this.errors.delete(`${key}:${form}`);
      for (const name of ['means', 'to', 'by', 'comment', 'at', 'step']) {
        const field = el.elements.namedItem(name);
        if (field) field.value = '';
        dropDraft(`relay:${key}:${form}:${name}`);
      }
      toast(t('toast.relay_recorded', { step: t(`relay.answer.${body.step}`), recipient: o.recipient, title: o.title || idOf(o) }));
      this.onRecorded?.();
    } catch (err) {
      this.errors.set(`${key}:${form}`, refusal(err));
      this.render();
      const first = this.panel.querySelector(`[data-id="relay:${CSS.escape(key)}"] form[data-form="${form}"] .field-error:not(:empty)`);
      first?.scrollIntoView({ block: 'nearest' });
      return;
    } finally {
      button.disabled = false;
    }
    await this.load();
  }
}

// The hub's refusal, by field: a 422 names each (`body.to`), a 409 or 403 one (`field`).
function refusal(err) {
  const fields = {};
  const general = [];
  if (err instanceof ApiError) {
    for (const e of err.errors) {
      const path = String(e.path || '').replace(/^body\.?/, '');
      if (path) fields[path] = fields[path] ? `${fields[path]}; ${e.message}` : e.message;
      else general.push(e.message);
    }
    if (!err.errors.length) {
      const field = err.problem.field;
      if (field && ['step', 'means', 'to', 'by', 'at', 'comment'].includes(field)) fields[field] = err.message;
      else general.push(err.message);
    }
  } else {
    general.push(String(err));
  }
  return { fields, general: general.join('; ') };
}
