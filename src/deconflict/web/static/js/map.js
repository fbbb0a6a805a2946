// The map: offline basemap, place names, rivers, graticule, scale, the pointer's
// position, notices (labelled), conflicts and the draft.
/* global L */

import { current, num, t } from './i18n.js';
import { decimalDegrees, mgrs } from './geo.js';
import { bandText, CONFLICT_RED, h, kindText, metresBand, partyColour, shortId, stateText, windowText } from './util.js';

const GREY = '#7d8590';

// A corridor (LineString + radius) drawn as what it is: a line buffered by its
// radius with round ends. The stroke width is the corridor's width on screen,
// recomputed at every zoom (Web Mercator is conformal, so this is exact locally).
const Corridor = L.Polyline.extend({
  initialize(latlngs, radius, options) {
    L.Polyline.prototype.initialize.call(this, latlngs, { lineCap: 'round', lineJoin: 'round', ...options });
    this.radius = radius;
  },
  onAdd(map) {
    L.Polyline.prototype.onAdd.call(this, map);
    map.on('zoomend', this.rescale, this);
    this.rescale();
  },
  onRemove(map) {
    map.off('zoomend', this.rescale, this);
    L.Polyline.prototype.onRemove.call(this, map);
  },
  rescale() {
    if (!this._map || !this.getLatLngs().length) return;
    const c = this.getBounds().getCenter();
    const p = this._map.latLngToContainerPoint(c);
    const q = this._map.containerPointToLatLng(p.add([100, 0]));
    const metresPerPixel = this._map.distance(c, q) / 100;
    this.setStyle({ weight: Math.max(3, (2 * this.radius) / metresPerPixel) });
  },
});

const ll = ([lon, lat]) => [lat, lon];

// Leaflet layers for one volume's footprint.
export function footprintLayers(volume, style) {
  const g = volume.geometry;
  const r = volume.radius_m || 0;
  if (g.type === 'Point') {
    return [L.circle(ll(g.coordinates), { radius: r, ...style })];
  }
  if (g.type === 'LineString') {
    const line = g.coordinates.map(ll);
    return [
      new Corridor(line, r, { ...style, opacity: style.fillOpacity + 0.1, color: style.color }),
      L.polyline(line, { color: style.color, weight: 1.5, dashArray: '4 4', interactive: false }),
    ];
  }
  if (g.type === 'Polygon') return [L.polygon(g.coordinates.map((ring) => ring.map(ll)), style)];
  return [L.geoJSON(g, { style: () => style })];
}

function tableRows(rows) {
  return h('table', {}, rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v))));
}

function noticePopup(n, me) {
  const vols = n.volumes.map((v, i) => {
    const shape = v.geometry.type === 'Point' ? t('shape.circle_r', { r: Math.round(v.radius_m) })
      : v.geometry.type === 'LineString' ? t('shape.corridor_r', { r: Math.round(v.radius_m) }) : t('shape.polygon');
    return tableRows([
      [t('popup.volume', { i: i + 1 }), shape],
      [t('popup.altitude'), bandText(v)],
      [t('popup.time'), windowText(v.time_start, v.time_end)],
    ]);
  });
  return h('div', { class: 'popup' },
    h('h3', { dir: 'auto' }, n.title || t('untitled')),
    tableRows([
      [t('popup.issuer'), n.issuer === me ? t('party.you', { party: n.issuer }) : n.issuer],
      [t('popup.kind'), kindText(n.kind)],
      [t('popup.version'), `v${n.version} · ${stateText(n.state)}`],
      [t('popup.to'), (n.addressees || []).map((a) => (a === '*' ? t('addr.all') : a)).join(', ')],
      [t('popup.disclosure'), disclosureText(n.disclosure)],
      [t('popup.id'), h('bdi', { class: 'mono', dir: 'ltr' }, n.id)],
    ]),
    ...vols,
    n.remarks ? h('p', { class: 'muted' }, n.remarks) : null);
}

// How the map names notices: set by the page, which knows what this party may see.
export const names = { title: (id) => id, other: (c) => c.other.issuer };

// What a party the notice was not addressed to learns of it (README: need-to-know).
function disclosureText(d) {
  if (!d || !d.level) return '?';
  if (d.level === 'exact') return t('disclosure.exact');
  const g = d.grain || {};
  return t(`disclosure.${d.level}`, { res: g.h3_resolution ?? '?', layer: g.layer_ft ?? '?', slot: g.slot_min ?? '?' });
}

function conflictPopup(c, o) {
  return h('div', { class: 'popup' },
    h('h3', {}, t('conflict.popup_title', { state: stateText(c.state) })),
    tableRows([
      [t('conflict.mine'), `${names.title(c.mine.notice) || t('draft')} (${kindText(c.mine.kind)})`],
      [t('conflict.other'), names.other(c)],
      [t('popup.altitude'), overlapBand(o)],
      [t('popup.time'), overlapWindow(o)],
      [t('conflict.horizontal'), o.region ? t('conflict.overlap_area') : t('conflict.apart_m', { m: Math.round(o.min_distance_m ?? 0) })],
    ]));
}

// Place names by zoom: the largest towns first, more as one zooms in; a label
// that would overlap one already drawn is left out.
const PLACE_MIN_POP = [[11, 0], [9, 15000], [8, 40000], [7, 100000], [6, 250000], [5, 700000], [4, 2000000], [0, 5000000]];
const MAX_PLACE_LABELS = 160;
// A site smaller than this on screen is drawn at this radius (pixels), its true extent inside.
export const MIN_SITE_PX = 7;

export class MapView {
  constructor(el, { me, onSelectNotice }) {
    this.me = me;
    this.onSelectNotice = onSelectNotice;
    this.map = L.map(el, { worldCopyJump: true, zoomSnap: 0.5, minZoom: 2, maxZoom: 14, attributionControl: true, preferCanvas: false, zoomControl: false });
    this.zoom = L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(this.map);
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.setPosition('bottomleft');
    this.map.attributionControl.addAttribution('Natural Earth · GeoNames (CC BY 4.0) · Leaflet');
    L.control.scale({ metric: true, imperial: true, maxWidth: 160, position: 'bottomleft' }).addTo(this.map);
    this.map.createPane('basemap').style.zIndex = 250;
    this.map.createPane('placenames').style.zIndex = 440; // above notices' fill, below conflicts
    this.map.getPane('placenames').style.pointerEvents = 'none';
    this.map.createPane('conflicts').style.zIndex = 450;
    this.map.createPane('draft').style.zIndex = 460;
    this.map.createPane('tracks').style.zIndex = 470; // own live tracks (tracks.js)
    this.map.createPane('alerts').style.zIndex = 480; // live alerts (alerts.js)
    this.basemap = L.layerGroup().addTo(this.map);
    this.places = L.layerGroup().addTo(this.map);
    this.placeRows = [];
    this.grid = L.layerGroup().addTo(this.map);
    this.noticeLayer = L.layerGroup().addTo(this.map);
    this.conflictLayer = L.layerGroup().addTo(this.map);
    this.noticeLayers = new Map(); // id -> {group, notice}
    this.conflictLayers = new Map();
    this.time = null;
    this.map.setView([35.5, 37.5], 6);
    this.map.on('moveend', () => { this.drawGrid(); this.drawPlaces(); this.declutter(); });
    this.map.on('zoomend', () => this.rescaleSites());
    this.readout = this.addReadout();
    this.drawGrid();
  }

  // Issue 15: the signed-in party's own units, each area of responsibility dashed and
  // unfilled (a unit is no activity), named in its tooltip.
  showUnits(units) {
    if (!this.unitLayer) this.unitLayer = L.layerGroup().addTo(this.map);
    this.unitLayer.clearLayers();
    for (const u of units) {
      if (u.state !== 'active') continue;
      const style = { color: GREY, weight: 1.5, dashArray: '6 6', fill: false, fillOpacity: 0, className: 'unit-area' };
      for (const layer of footprintLayers(u.area, style)) {
        layer.bindTooltip(h('div', { dir: 'auto' }, h('strong', {}, u.name), h('br'), t('units.area', { unit: u.id })), { sticky: true });
        layer.addTo(this.unitLayer);
      }
    }
  }

  // The pointer's position, decimal degrees and MGRS, under the map (and the
  // map's centre while the pointer is elsewhere, so the keyboard user has it too).
  addReadout() {
    const Readout = L.Control.extend({
      onAdd: () => {
        const div = L.DomUtil.create('div', 'readout mono');
        div.dir = document.documentElement.dir;
        div.setAttribute('data-testid', 'readout');
        div.setAttribute('aria-live', 'off');
        return div;
      },
    });
    const control = new Readout({ position: 'bottomright' }).addTo(this.map);
    const el = control.getContainer();
    const show = (ll, where) => {
      const lon = ((ll.lng + 540) % 360) - 180;
      el.replaceChildren(h('span', { class: 'readout-where' }, t(where)), ' ',
        h('bdi', { dir: 'ltr', 'data-testid': 'readout-dd' }, decimalDegrees(ll.lat, lon)), ' · ',
        h('bdi', { dir: 'ltr', 'data-testid': 'readout-mgrs' }, `MGRS ${mgrs(ll.lat, lon) || '—'}`));
    };
    this.map.on('mousemove', (e) => show(e.latlng, 'readout.pointer'));
    const centre = () => show(this.map.getCenter(), 'readout.centre');
    this.map.on('mouseout moveend', centre);
    centre();
    return el;
  }

  async loadBasemap() {
    const [base, context] = await Promise.all([
      fetch('/ui/basemap.json').then((r) => r.json()),
      fetch('/ui/context.json').then((r) => r.json()),
    ]);
    for (const f of base.features) {
      const layer = f.properties.layer;
      if (layer === 'coast') {
        L.geoJSON(f, { pane: 'basemap', interactive: false, style: { color: '#5b7896', weight: 1.2 } }).addTo(this.basemap);
      } else if (layer === 'border') {
        L.geoJSON(f, { pane: 'basemap', interactive: false, style: { color: '#8a7a99', weight: 1.2, dashArray: '6 3' } }).addTo(this.basemap);
      }
    }
    const line = (coords, style) => L.polyline(coords.map((c) => c.map(ll)), { pane: 'basemap', interactive: false, ...style }).addTo(this.basemap);
    line(context.rivers, { color: '#2f6d9a', weight: 1.3, opacity: 0.9 });
    line(context.lakes, { color: '#2f6d9a', weight: 1, opacity: 0.9 });
    this.placeRows = context.places;
    this.drawPlaces();
  }

  // A new language: the map's own words.
  relang() {
    this.zoom.remove();
    this.zoom = L.control.zoom({ zoomInTitle: t('map.zoom_in'), zoomOutTitle: t('map.zoom_out') }).addTo(this.map);
    this.readout.dir = document.documentElement.dir;
    this.drawPlaces();
  }

  placeName(row) {
    const i = { ru: 4, ar: 5 }[current()];
    return (i && row[i]) || row[3];
  }

  drawPlaces() {
    this.places.clearLayers();
    if (!this.placeRows.length) return;
    const z = this.map.getZoom();
    const minPop = PLACE_MIN_POP.find(([zoom]) => z >= zoom)[1];
    const b = this.map.getBounds().pad(0.05);
    const taken = [];
    const rtl = current() === 'ar';
    let count = 0;
    for (const row of this.placeRows) {
      const [lon, lat, pop] = row;
      if ((pop || 14999) < minPop) break; // rows are sorted by population, seats last
      if (!b.contains([lat, lon])) continue;
      const name = this.placeName(row);
      const p = this.map.latLngToContainerPoint([lat, lon]);
      // An estimate of the label's box (system fonts, 12 px): enough to keep labels apart.
      const w = 7 * [...name].length + 10;
      const box = rtl ? [p.x - w - 6, p.y - 9, p.x + 4, p.y + 9] : [p.x - 4, p.y - 9, p.x + w + 6, p.y + 9];
      if (taken.some((o) => box[0] < o[2] && box[2] > o[0] && box[1] < o[3] && box[3] > o[1])) continue;
      taken.push(box);
      const big = pop >= 250000;
      L.circleMarker([lat, lon], { pane: 'placenames', radius: big ? 3 : 2, color: '#c5d3e0', weight: 1, fillColor: '#c5d3e0', fillOpacity: 1, interactive: false })
        .bindTooltip(name, { permanent: true, direction: rtl ? 'left' : 'right', offset: rtl ? [-3, 0] : [3, 0], className: `place-label${big ? ' big' : ''}`, pane: 'placenames', interactive: false })
        .addTo(this.places);
      if (++count >= MAX_PLACE_LABELS) break;
    }
  }

  // Graticule labels along the top and left edges (the attribution, scale and
  // read-out live at the bottom), at a spacing that keeps them apart.
  drawGrid() {
    this.grid.clearLayers();
    const b = this.map.getBounds();
    const size = this.map.getSize();
    const steps = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30];
    const degPerPx = (b.getEast() - b.getWest()) / Math.max(1, size.x);
    const step = steps.find((s) => s / degPerPx >= 90) || 30;
    const style = { pane: 'basemap', color: '#2a3a4a', weight: 0.7, interactive: false };
    const west = Math.floor(b.getWest() / step) * step;
    const south = Math.max(-85, Math.floor(b.getSouth() / step) * step);
    const north = Math.min(85, b.getNorth());
    const digits = step < 0.1 ? 2 : step < 1 ? (step === 0.5 ? 1 : 2) : 0;
    const fmt = (v, pos, neg) => `${Math.abs(v).toFixed(digits)}°${v >= 0 ? pos : neg}`;
    const top = this.map.containerPointToLatLng([0, 4]).lat;
    const left = this.map.containerPointToLatLng([4, 0]).lng;
    for (let lon = west; lon <= b.getEast(); lon += step) {
      L.polyline([[south, lon], [north, lon]], style).addTo(this.grid);
      const wrapped = ((lon + 540) % 360) - 180;
      L.marker([top, lon], { pane: 'basemap', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'grid-label', html: fmt(wrapped, 'E', 'W'), iconSize: null, iconAnchor: [-3, 0] }) }).addTo(this.grid);
    }
    for (let lat = south; lat <= north; lat += step) {
      L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style).addTo(this.grid);
      L.marker([lat, left], { pane: 'basemap', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'grid-label', html: fmt(lat, 'N', 'S'), iconSize: null, iconAnchor: [0, 14] }) }).addTo(this.grid);
    }
  }

  // The legend as a map control (bottom right, above the read-out), folded away on demand.
  adoptLegend(el) {
    const Legend = L.Control.extend({ onAdd: () => el });
    new Legend({ position: 'bottomright' }).addTo(this.map);
    L.DomEvent.disableClickPropagation(el);
  }

  style(n) {
    const mine = n.issuer === this.me;
    const ended = n.state !== 'active';
    const colour = ended ? GREY : partyColour(n.issuer);
    return {
      color: colour,
      weight: n.kind === 'protected_site' ? 3 : mine ? 2.5 : 2,
      dashArray: ended ? '2 6' : mine ? null : '8 4',
      fillColor: colour,
      fillOpacity: ended ? 0.05 : n.kind === 'protected_site' ? 0.35 : 0.14,
      opacity: ended ? 0.6 : 0.95,
    };
  }

  showNotice(n) {
    this.removeNotice(n.id);
    const group = L.featureGroup();
    const style = this.style(n);
    const sites = [];
    for (const v of n.volumes || []) {
      for (const layer of footprintLayers(v, style)) layer.addTo(group);
      // A small circle (a hospital of 300 m) keeps a visible marker at any zoom;
      // its true extent is the circle drawn with it.
      if (v.geometry.type === 'Point') {
        const marker = L.circleMarker(ll(v.geometry.coordinates), {
          ...style, radius: MIN_SITE_PX, fillOpacity: n.kind === 'protected_site' ? 0.6 : 0.3, className: 'site-marker',
        });
        marker.radiusM = v.radius_m || 0;
        sites.push(marker);
        marker.addTo(group);
      }
    }
    const tip = h('div', { dir: 'auto' }, h('strong', {}, n.title || n.id), h('br'),
      `${n.issuer} · ${kindText(n.kind)} · v${n.version} · ${stateText(n.state)}`,
      ...(n.volumes || []).flatMap((v) => [h('br'), `${bandText(v)} · ${windowText(v.time_start, v.time_end)}`]));
    group.bindTooltip(tip, { sticky: true });
    group.bindPopup(() => noticePopup(n, this.me), { maxWidth: 360 });
    group.on('click', () => this.onSelectNotice?.(n.id));
    // The notice's short title, always shown beside its shape.
    const label = L.marker(labelPoint(n), {
      pane: 'placenames', interactive: false, keyboard: false,
      icon: L.divIcon({ className: `notice-label${n.state !== 'active' ? ' ended' : ''}`, html: `<span dir="auto" style="border-color:${style.color}">${escapeHtml(shortTitle(n))}</span>`, iconSize: null, iconAnchor: [0, -10] }),
    });
    this.noticeLayers.set(n.id, { group, notice: n, label, sites });
    this.rescaleSites(n.id);
    this.applyTime(n.id);
    this.declutter();
  }

  // Notice labels that would cover one another: the one ranked first is shown, the
  // other waits for a closer zoom (its shape keeps its tooltip).
  declutter() {
    clearTimeout(this.declutterTimer);
    // Active first; of those, protected sites (what must not be hit), then one's own.
    const rank = (n) => (n.state === 'active' ? 0 : 4) + (n.kind === 'protected_site' ? 0 : n.issuer === this.me ? 1 : 2);
    this.declutterTimer = setTimeout(() => {
      const shown = [];
      const entries = [...this.noticeLayers.values()].filter((e) => e.label.getElement())
        .sort((x, y) => rank(x.notice) - rank(y.notice)
          || (y.notice.priority || 0) - (x.notice.priority || 0) || String(x.notice.id).localeCompare(String(y.notice.id)));
      for (const e of entries) {
        const span = e.label.getElement().firstElementChild;
        if (!span) continue;
        span.style.visibility = '';
        const r = span.getBoundingClientRect();
        const clash = shown.some((o) => r.left < o.right && r.right > o.left && r.top < o.bottom && r.bottom > o.top);
        if (clash) span.style.visibility = 'hidden';
        else shown.push(r);
      }
    }, 50);
  }

  // Hide the minimum-size marker once the true circle is bigger on screen.
  rescaleSites(only) {
    const ids = only ? [only] : [...this.noticeLayers.keys()];
    const c = this.map.getCenter();
    const mpp = this.map.distance(c, this.map.containerPointToLatLng(this.map.latLngToContainerPoint(c).add([100, 0]))) / 100;
    for (const id of ids) {
      for (const m of this.noticeLayers.get(id)?.sites || []) {
        const px = m.radiusM / mpp;
        m.setStyle({ opacity: px >= MIN_SITE_PX ? 0 : 1, fillOpacity: px >= MIN_SITE_PX ? 0 : 0.6 });
      }
    }
  }

  removeNotice(id) {
    const e = this.noticeLayers.get(id);
    if (e) {
      e.group.remove();
      e.label.remove();
      this.noticeLayers.delete(id);
    }
  }

  showConflict(c) {
    this.removeConflict(c.id);
    const group = L.featureGroup();
    const open = c.state === 'open' || c.state === 'would_open';
    for (const o of c.overlaps || []) {
      const tip = `${t('conflict.tip', { party: c.other.issuer })} · ${overlapBand(o)} · ${overlapWindow(o)}`;
      if (!o.region) {
        if (o.closest_points) {
          L.polyline(o.closest_points.map(ll), { pane: 'conflicts', color: open ? CONFLICT_RED : GREY, weight: 3, dashArray: '4 4' })
            .bindPopup(() => conflictPopup(c, o)).bindTooltip(tip, { sticky: true }).addTo(group);
        }
        continue;
      }
      L.geoJSON(o.region, {
        pane: 'conflicts',
        style: () => ({ color: open ? CONFLICT_RED : GREY, weight: 2.5, dashArray: '6 3', fillColor: open ? CONFLICT_RED : GREY, fillOpacity: open ? 0.5 : 0.1, className: 'conflict-area' }),
      }).bindPopup(() => conflictPopup(c, o)).bindTooltip(tip, { sticky: true })
        .addTo(group);
    }
    this.conflictLayers.set(c.id, { group, conflict: c });
    this.applyTime(c.id);
  }

  removeConflict(id) {
    const e = this.conflictLayers.get(id);
    if (e) {
      e.group.remove();
      this.conflictLayers.delete(id);
    }
  }

  // Only what is active at `t` (a Date), or everything when t is null.
  setTime(t) {
    this.time = t;
    for (const id of this.noticeLayers.keys()) this.applyTime(id);
    for (const id of this.conflictLayers.keys()) this.applyTime(id);
  }

  applyTime(id) {
    const n = this.noticeLayers.get(id);
    if (n) {
      const on = this.time === null || (n.notice.volumes || []).some((v) => within(this.time, v.time_start, v.time_end));
      const show = on && (this.time === null || n.notice.state !== 'cancelled');
      if (show) { n.group.addTo(this.noticeLayer); n.label.addTo(this.noticeLayer); } else { n.group.remove(); n.label.remove(); }
      this.declutter();
    }
    const c = this.conflictLayers.get(id);
    if (c) {
      const on = c.conflict.state !== 'resolved' && (this.time === null
        || (c.conflict.overlaps || []).some((o) => !o.time_window || within(this.time, o.time_window.start, o.time_window.end)));
      if (on) c.group.addTo(this.conflictLayer); else c.group.remove();
    }
  }

  focus(id) {
    const e = this.noticeLayers.get(id) || this.conflictLayers.get(id);
    if (!e) return;
    const b = e.group.getBounds();
    if (b.isValid()) this.map.fitBounds(b, { maxZoom: 13, padding: [40, 40] });
    e.group.openPopup(b.isValid() ? b.getCenter() : undefined);
  }

  fitAll() {
    const b = L.latLngBounds([]);
    for (const { group } of this.noticeLayers.values()) {
      const gb = group.getBounds();
      if (gb.isValid()) b.extend(gb);
    }
    // Not animated: a fit to own tracks right after must not be undone by this one's end.
    if (b.isValid()) this.map.fitBounds(b, { maxZoom: 9, padding: [30, 30], animate: false });
  }
}

export function overlapBand(o) {
  return o.altitude_band ? metresBand(o.altitude_band) : t('conflict.apart_vertically', { m: Math.round(o.vertical_gap_m) });
}

export function overlapWindow(o) {
  return o.time_window ? windowText(o.time_window.start, o.time_window.end) : t('conflict.apart_min', { min: Math.round(o.time_gap_s / 60) });
}

// The first words of the title: enough to tell shapes apart at a glance.
export function shortTitle(n) {
  const title = String(n.title || shortId(n.id));
  if ([...title].length <= 28) return title;
  return `${[...title].slice(0, 26).join('').replace(/[\s,.;:-]+\S*$/, '')}…`;
}

// Where a notice's label goes: the centre of its first volume's footprint.
function labelPoint(n) {
  const g = n.volumes?.[0]?.geometry;
  if (!g) return [0, 0];
  if (g.type === 'Point') return ll(g.coordinates);
  const pts = g.type === 'LineString' ? g.coordinates : g.type === 'Polygon' ? g.coordinates[0].slice(0, -1) : [];
  if (g.type === 'LineString') return ll(pts[Math.floor(pts.length / 2)]);
  if (!pts.length) return L.geoJSON(g).getBounds().getCenter();
  return L.latLngBounds(pts.map(ll)).getCenter();
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function within(t, start, end) {
  const x = t.getTime();
  return new Date(start).getTime() <= x && x <= new Date(end).getTime();
}
