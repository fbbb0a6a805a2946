// Small helpers: DOM building, Zulu time, altitudes, party colours.

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

// "30 Sep 06:00Z" style, always UTC.
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export function zulu(t, { seconds = false } = {}) {
  if (t === null || t === undefined) return '';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const s = seconds ? `:${pad(d.getUTCSeconds())}` : '';
  return `${pad(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${s}Z`;
}
export function zuluShort(t) {
  const d = t instanceof Date ? t : new Date(t);
  return `${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}Z`;
}
export function windowText(start, end) {
  return `${zulu(start)} – ${zulu(end)}`;
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

export function altText(a) {
  if (!a) return '';
  if (a.units === 'FL') return `FL${String(Math.round(a.value)).padStart(3, '0')}`;
  const ref = a.reference ? ` ${a.reference}` : '';
  return `${Math.round(a.value).toLocaleString('en-US')} ${a.units}${ref}`;
}
export function bandText(v) {
  return `${altText(v.altitude_lower)} – ${altText(v.altitude_upper)}`;
}
export function metresBand(b) {
  const ft = (m) => Math.round(m / 0.3048).toLocaleString('en-US');
  return `${Math.round(b.lower_m).toLocaleString('en-US')}–${Math.round(b.upper_m).toLocaleString('en-US')} m (${ft(b.lower_m)}–${ft(b.upper_m)} ft)`;
}

// Distinct, night-readable colours per party; the signed-in party is always blue.
const PALETTE = ['#ff8c42', '#e05dd6', '#3ddbd9', '#c0e34a', '#ffcf40', '#a98bff', '#ff6b8b', '#6fe39b'];
export function partyColour(party, me) {
  if (party === me) return '#4ea1ff';
  let hash = 0;
  for (const ch of party) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

export const KINDS = ['air_activity', 'ground_movement', 'fires', 'uas_activity', 'protected_site', 'other'];
export const kindText = (k) => (k || '').replace('_', ' ');

export function toast(text, bad = false) {
  const box = document.getElementById('toasts');
  const el = h('div', { class: `toast${bad ? ' bad' : ''}`, role: 'status' }, text);
  box.append(el);
  setTimeout(() => el.remove(), 6000);
}
