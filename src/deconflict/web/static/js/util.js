// Small helpers: DOM building, Zulu time, altitudes, party colours.

import { iso, num, t, zuluTime } from './i18n.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const pad = (n) => String(n).padStart(2, '0');

// "30 Sep 2030 06:00Z" in the reader's language; always UTC.
export function zulu(t, { seconds = false } = {}) {
  if (t === null || t === undefined) return '';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return zuluTime(d, { seconds });
}
export function zuluShort(t) {
  const d = t instanceof Date ? t : new Date(t);
  return zuluTime(d, { year: false });
}
export function windowText(start, end) {
  const s = new Date(start);
  const e = new Date(end);
  const sameDay = s.getUTCFullYear() === e.getUTCFullYear() && s.getUTCMonth() === e.getUTCMonth() && s.getUTCDate() === e.getUTCDate();
  return `${zulu(s)} – ${sameDay ? zuluTime(e, { date: false }) : zulu(e)}`;
}
// Time fields are typed as UTC, 24 h: "2030-09-30 06:00Z" (the Z is optional).
export function toInputUtc(t) {
  const d = t instanceof Date ? t : new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
}
// RFC 3339 for the API; anything unreadable goes as typed so that the hub's
// validation message lands next to the field.
export function fromInputUtc(v) {
  const s = (v || '').trim();
  if (!s) return '';
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):?(\d{2})(?::(\d{2}))?\s*Z?$/i.exec(s);
  return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4] || '00'}Z` : s;
}

// Units as the reader writes them ("ft", "м", "م"); references and flight levels stay ICAO.
export const unit = (u) => t(`unit.${String(u).toLowerCase()}`);

export function altText(a) {
  return iso(altWords(a));
}
function altWords(a) {
  if (!a) return '';
  if (a.units === 'FL') return `FL${String(Math.round(a.value)).padStart(3, '0')}`;
  if (Number(a.value) === 0 && a.reference === 'AMSL') return t('alt.msl');
  if (Number(a.value) === 0 && a.reference === 'AGL') return t('alt.sfc');
  const ref = a.reference ? ` ${a.reference}` : '';
  return `${num(Math.round(a.value))} ${unit(a.units === 'M' ? 'm' : 'ft')}${ref}`;
}
export function bandText(v) {
  return `${altText(v.altitude_lower)} – ${altText(v.altitude_upper)}`;
}
export function metresBand(b) {
  const ft = (m) => num(Math.round(m / 0.3048));
  return `${iso(`${num(Math.round(b.lower_m))}–${num(Math.round(b.upper_m))} ${unit('m')}`)} (${iso(`${ft(b.lower_m)}–${ft(b.upper_m)} ${unit('ft')}`)})`;
}

// One colour per party, the same whoever views (parties sorted by id take the
// palette in turn); no party gets red, which is kept for conflicts and alerts.
export const CONFLICT_RED = '#ff3b3b';
const PALETTE = ['#4ea1ff', '#ffcf40', '#3ddbd9', '#c0e34a', '#b48bff', '#ff9f5a', '#7ee0a0', '#e8e8e8'];
let order = [];
export function setParties(ids) {
  order = [...ids].sort();
}
export function partyColour(party) {
  const i = order.indexOf(party);
  if (i >= 0) return PALETTE[i % PALETTE.length];
  let hash = 0;
  for (const ch of String(party)) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

export const KINDS = ['air_activity', 'ground_movement', 'fires', 'uas_activity', 'protected_site', 'other'];
export const kindText = (k) => (k ? t(`kind.${k}`) : '');
export const stateText = (st) => (st ? t(`state.${st}`) : '');

export function toast(text, bad = false) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast${bad ? ' bad' : ''}`, role: 'status' }, text);
  box.append(el);
  setTimeout(() => el.remove(), 6000);
}

// "n-01a2…9c0d": an id short enough for a card, whole in its title attribute.
export function shortId(id) {
  const s = String(id || '');
  return s.length > 14 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s;
}
export const idTag = (id) => h('bdi', { class: 'id mono', title: id, dir: 'ltr' }, shortId(id));
