// Small geodesy and units for the tactical picture (spherical Earth: the
// vectors drawn are a few tens of kilometres long, far inside what it gets right),
// and the pointer's position read out in decimal degrees and MGRS.

import { iso, num, t } from './i18n.js';

const R = 6371008.8; // mean Earth radius, metres
const rad = (d) => (d * Math.PI) / 180;
const deg = (r) => (r * 180) / Math.PI;

// The point `distM` metres from (lat, lon) along the initial bearing `bearingDeg`.
export function destination(lat, lon, bearingDeg, distM) {
  const d = distM / R;
  const b = rad(bearingDeg);
  const p1 = rad(lat);
  const l1 = rad(lon);
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = l1 + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [deg(p2), ((deg(l2) + 540) % 360) - 180];
}

const FT = 0.3048;
const NM = 1852;

// 7600 m -> "FL249"; low altitudes in feet.
export function altLabel(m) {
  if (!Number.isFinite(m)) return '';
  const ft = m / FT;
  return ft >= 5000 ? `FL${String(Math.round(ft / 100)).padStart(3, '0')}` : iso(`${num(Math.round(ft))} ${t('unit.ft')}`);
}

export function speedLabel(mps) {
  return Number.isFinite(mps) ? iso(`${num(Math.round(mps / 0.514444))} ${t('unit.kt')}`) : '';
}

// Horizontal distances: NM with km (or m when short).
export function distLabel(m) {
  if (!Number.isFinite(m)) return '?';
  if (m < 2000) return iso(`${num(Math.round(m))} ${t('unit.m')}`);
  return `${iso(`${num(m / NM, 1)} ${t('unit.nm')}`)} (${iso(`${num(m / 1000, 1)} ${t('unit.km')}`)})`;
}

// An altitude difference with its sign: "+300 ft (+91 m)", "level".
export function daltLabel(m) {
  if (!Number.isFinite(m)) return '?';
  const s = (v) => (v > 0 ? '+' : v < 0 ? '−' : '±');
  const ft = Math.round(m / FT);
  if (ft === 0) return t('dalt.level', { ft: `±0 ${t('unit.ft')}` });
  return `${iso(`${s(ft)}${num(Math.abs(ft))} ${t('unit.ft')}`)} (${iso(`${s(m)}${num(Math.abs(Math.round(m)))} ${t('unit.m')}`)})`;
}

// The advisory's figures, already rounded by the hub (0.1 NM, 100 ft).
export function nmLabel(nm) {
  return Number.isFinite(nm) ? distLabel(nm * NM) : '?';
}

export function ftLabel(ft) {
  return Number.isFinite(ft) ? daltLabel(ft * FT) : '?';
}

export function secondsLabel(s) {
  if (!Number.isFinite(s)) return '?';
  const v = Math.max(0, Math.round(s));
  return v >= 60 ? t('dur.min_s', { min: Math.floor(v / 60), s: String(v % 60).padStart(2, '0') }) : t('dur.s', { s: v });
}

export function bearingLabel(b) {
  return Number.isFinite(b) ? iso(`${String(Math.round(b) % 360).padStart(3, '0')}°`) : '?';
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------- the pointer's position ----------

export function decimalDegrees(lat, lon) {
  const f = (v, pos, neg) => `${Math.abs(v).toFixed(5)}°${v >= 0 ? pos : neg}`;
  return `${f(lat, 'N', 'S')} ${f(lon, 'E', 'W')}`;
}

// MGRS (1 m) from WGS-84 via UTM (Krüger series to the sixth order of n: well
// under a millimetre inside a zone). Polar regions (UPS) are not covered.
const A = 6378137;
const F = 1 / 298.257223563;
const K0 = 0.9996;
const LAT_BANDS = 'CDEFGHJKLMNPQRSTUVWX';
const COL_SETS = ['ABCDEFGH', 'JKLMNPQR', 'STUVWXYZ'];
const ROW_LETTERS = 'ABCDEFGHJKLMNPQRSTUV';

function utmZone(lat, lon) {
  let zone = Math.floor((lon + 180) / 6) + 1;
  if (lat >= 56 && lat < 64 && lon >= 3 && lon < 12) zone = 32;
  if (lat >= 72 && lat < 84) {
    if (lon >= 0 && lon < 9) zone = 31;
    else if (lon >= 9 && lon < 21) zone = 33;
    else if (lon >= 21 && lon < 33) zone = 35;
    else if (lon >= 33 && lon < 42) zone = 37;
  }
  return Math.min(60, zone);
}

export function utm(lat, lon) {
  const zone = utmZone(lat, lon);
  const n = F / (2 - F);
  const a = (A / (1 + n)) * (1 + (n ** 2) / 4 + (n ** 4) / 64);
  const alpha = [
    n / 2 - (2 / 3) * n ** 2 + (5 / 16) * n ** 3,
    (13 / 48) * n ** 2 - (3 / 5) * n ** 3,
    (61 / 240) * n ** 3,
  ];
  const phi = rad(lat);
  const dl = rad(lon - (zone * 6 - 183));
  const e = (2 * Math.sqrt(n)) / (1 + n);
  const tau = Math.sinh(Math.atanh(Math.sin(phi)) - e * Math.atanh(e * Math.sin(phi)));
  const xi = Math.atan2(tau, Math.cos(dl));
  const eta = Math.asinh(Math.sin(dl) / Math.sqrt(tau * tau + Math.cos(dl) ** 2));
  let x = eta;
  let y = xi;
  alpha.forEach((al, i) => {
    const j = 2 * (i + 1);
    x += al * Math.cos(j * xi) * Math.sinh(j * eta);
    y += al * Math.sin(j * xi) * Math.cosh(j * eta);
  });
  const easting = 500000 + K0 * a * x;
  const northing = K0 * a * y + (lat < 0 ? 10000000 : 0);
  return { zone, easting, northing };
}

export function mgrs(lat, lon) {
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -80 || lat >= 84) return '';
  const { zone, easting, northing } = utm(lat, lon);
  const band = LAT_BANDS[Math.min(19, Math.floor((lat + 80) / 8))];
  const col = COL_SETS[(zone - 1) % 3][Math.floor(easting / 100000) - 1];
  const rowOffset = zone % 2 === 0 ? 5 : 0;
  const row = ROW_LETTERS[(Math.floor(northing / 100000) + rowOffset) % 20];
  const e5 = String(Math.floor(easting % 100000)).padStart(5, '0');
  const n5 = String(Math.floor(northing % 100000)).padStart(5, '0');
  return `${zone}${band} ${col}${row} ${e5} ${n5}`;
}
