// Small geodesy and units for the tactical picture (spherical Earth: the
// vectors drawn are a few tens of kilometres long, far inside what it gets right).

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
  return ft >= 5000 ? `FL${String(Math.round(ft / 100)).padStart(3, '0')}` : `${Math.round(ft).toLocaleString('en-US')} ft`;
}

export function speedLabel(mps) {
  return Number.isFinite(mps) ? `${Math.round(mps / 0.514444)} kt` : '';
}

// Horizontal distances: NM with km (or m when short).
export function distLabel(m) {
  if (!Number.isFinite(m)) return '?';
  if (m < 2000) return `${Math.round(m)} m`;
  return `${(m / NM).toFixed(1)} NM (${(m / 1000).toFixed(1)} km)`;
}

// An altitude difference with its sign: "+300 ft (+91 m)", "level".
export function daltLabel(m) {
  if (!Number.isFinite(m)) return '?';
  const s = (v) => (v > 0 ? '+' : v < 0 ? '−' : '±');
  const ft = Math.round(m / FT);
  if (ft === 0) return '±0 ft (same level)';
  return `${s(ft)}${Math.abs(ft).toLocaleString('en-US')} ft (${s(m)}${Math.abs(Math.round(m))} m)`;
}

export function secondsLabel(s) {
  if (!Number.isFinite(s)) return '?';
  const v = Math.max(0, Math.round(s));
  return v >= 60 ? `${Math.floor(v / 60)} min ${String(v % 60).padStart(2, '0')} s` : `${v} s`;
}

export function bearingLabel(b) {
  return Number.isFinite(b) ? `${String(Math.round(b) % 360).padStart(3, '0')}°` : '?';
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
