// The interface's language: message catalogues (`/ui/i18n/<lang>.json`, plain
// JSON a translator edits), the reading direction, and numbers, units and Zulu
// times formatted for the reader. Chosen from the browser's languages unless
// the officer picked one with the selector (remembered in this browser).

export const LANGS = { en: 'English', ru: 'Русский', ar: 'العربية' };
const RTL = new Set(['ar']);
const KEY = 'deconflict.lang';

let lang = 'en';
let messages = {};
let fallback = {};
let plural = new Intl.PluralRules('en');
// Arabic with Western digits: times, altitudes and coordinates are read out to the
// other party over the hotline, and must look the same on both sides.
const intlLocale = () => ({ ar: 'ar-u-nu-latn', en: 'en-GB' })[lang] || lang;

export const current = () => lang;
export const isRtl = () => RTL.has(lang);

// A value with its unit ("25,000 ft AMSL", "06:00Z") kept whole inside a sentence of
// the other direction: Unicode first-strong isolates, only where the page is RTL.
export const iso = (s) => (RTL.has(lang) && s ? `\u2068${s}\u2069` : s);

export function preferred() {
  const saved = localStorage.getItem(KEY);
  if (saved && LANGS[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS[base]) return base;
  }
  return 'en';
}

async function fetchCatalogue(l) {
  const r = await fetch(`/ui/i18n/${l}.json`, { cache: 'no-cache' });
  if (!r.ok) throw new Error(`catalogue ${l}: HTTP ${r.status}`);
  return r.json();
}

export async function setLanguage(l, { remember = false } = {}) {
  const next = LANGS[l] ? l : 'en';
  if (!Object.keys(fallback).length) fallback = await fetchCatalogue('en');
  messages = next === 'en' ? fallback : await fetchCatalogue(next);
  lang = next;
  plural = new Intl.PluralRules(lang);
  if (remember) localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = isRtl() ? 'rtl' : 'ltr';
  applyStatic(document);
}

// t('key', {name: value}); a plural message is {one, few, many, other} chosen by `n`.
export function t(key, params = {}) {
  let m = messages[key] ?? fallback[key] ?? key;
  if (m && typeof m === 'object') {
    const form = plural.select(Number(params.n ?? 0));
    m = m[form] ?? m.other ?? '';
  }
  return String(m).replace(/\{(\w+)\}/g, (all, name) => {
    if (!(name in params)) return all;
    const v = params[name];
    // Each value (a title, a comment, a party, a time) is isolated from the sentence
    // around it, so that an English title inside Arabic text keeps its quotes in place.
    return iso(typeof v === 'number' ? num(v) : String(v ?? ''));
  });
}

// The page's fixed texts: data-i18n="key" for the text, data-i18n-attr="attr:key;attr:key".
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

const numbers = new Map();
export function num(v, digits = 0) {
  const k = `${lang}:${digits}`;
  if (!numbers.has(k)) numbers.set(k, new Intl.NumberFormat(intlLocale(), { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  return numbers.get(k).format(v);
}

// Zulu times: the day, the month in the reader's language, 24 h, always UTC, "Z".
const dates = new Map();
function dateFormat(key, opts) {
  const k = `${lang}:${key}`;
  if (!dates.has(k)) dates.set(k, new Intl.DateTimeFormat(intlLocale(), { timeZone: 'UTC', hourCycle: 'h23', ...opts }));
  return dates.get(k);
}
const pad = (n) => String(n).padStart(2, '0');
export function zuluTime(d, { seconds = false, date = true, year = true } = {}) {
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(d.getUTCSeconds())}` : ''}Z`;
  if (!date) return iso(hm);
  const day = dateFormat(year ? 'dmy' : 'dm', year ? { day: '2-digit', month: 'short', year: 'numeric' } : { day: '2-digit', month: 'short' }).format(d);
  return iso(`${day} ${hm}`);
}
