// The map: offline basemap, graticule, scale, notices, conflicts and the draft.
/* global L */

import { bandText, h, kindText, metresBand, partyColour, windowText } from './util.js';

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
    const shape = v.geometry.type === 'Point' ? `circle r ${Math.round(v.radius_m)} m`
      : v.geometry.type === 'LineString' ? `corridor ±${Math.round(v.radius_m)} m` : 'polygon';
    return tableRows([
      [`volume ${i + 1}`, shape],
      ['altitude', bandText(v)],
      ['time', windowText(v.time_start, v.time_end)],
    ]);
  });
  return h('div', { class: 'popup' },
    h('h3', {}, n.title || '(untitled)'),
    tableRows([
      ['issuer', n.issuer === me ? `${n.issuer} (you)` : n.issuer],
      ['kind', kindText(n.kind)],
      ['version', `v${n.version} · ${n.state}`],
      ['to', (n.addressees || []).join(', ')],
      ['others learn', disclosureText(n.disclosure)],
      ['id', n.id],
    ]),
    ...vols,
    n.remarks ? h('p', { class: 'muted' }, n.remarks) : null);
}

// What a party the notice was not addressed to learns of it (README: need-to-know).
function disclosureText(d) {
  if (!d || !d.level) return '?';
  if (d.level === 'exact') return 'exact';
  const g = d.grain || {};
  return `${d.level} (H3 res ${g.h3_resolution}, ${g.layer_ft} ft, ${g.slot_min} min)`;
}

function conflictPopup(c, o) {
  return h('div', { class: 'popup' },
    h('h3', {}, `Conflict ${c.state}`),
    tableRows([
      ['mine', `${c.mine.notice || 'draft'} (${kindText(c.mine.kind)})`],
      ['other', `${c.other.issuer}'s ${kindText(c.other.kind)}${c.other.notice ? ` ${c.other.notice}` : ''}`],
      ['altitude', overlapBand(o)],
      ['time', overlapWindow(o)],
      ['horizontal', o.region ? 'overlap (red area)' : `${Math.round(o.min_distance_m ?? 0)} m apart`],
    ]));
}

export class MapView {
  constructor(el, { me, onSelectNotice }) {
    this.me = me;
    this.onSelectNotice = onSelectNotice;
    this.map = L.map(el, { worldCopyJump: true, zoomSnap: 0.5, minZoom: 2, maxZoom: 14, attributionControl: true, preferCanvas: false });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution('Basemap: Natural Earth (public domain) · Leaflet');
    L.control.scale({ metric: true, imperial: true, maxWidth: 160, position: 'bottomright' }).addTo(this.map);
    this.map.createPane('basemap').style.zIndex = 250;
    this.map.createPane('conflicts').style.zIndex = 450;
    this.map.createPane('draft').style.zIndex = 460;
    this.map.createPane('tracks').style.zIndex = 470; // own live tracks (tracks.js)
    this.map.createPane('alerts').style.zIndex = 480; // live alerts (alerts.js)
    this.basemap = L.layerGroup().addTo(this.map);
    this.places = L.layerGroup();
    this.grid = L.layerGroup().addTo(this.map);
    this.noticeLayer = L.layerGroup().addTo(this.map);
    this.conflictLayer = L.layerGroup().addTo(this.map);
    this.noticeLayers = new Map(); // id -> {group, notice}
    this.conflictLayers = new Map();
    this.time = null;
    this.map.setView([35.5, 37.5], 6);
    this.map.on('moveend', () => this.drawGrid());
    this.map.on('zoomend', () => this.togglePlaces());
    this.drawGrid();
  }

  async loadBasemap() {
    const r = await fetch('/ui/basemap.json');
    const fc = await r.json();
    for (const f of fc.features) {
      const layer = f.properties.layer;
      if (layer === 'coast') {
        L.geoJSON(f, { pane: 'basemap', interactive: false, style: { color: '#5b7896', weight: 1.2 } }).addTo(this.basemap);
      } else if (layer === 'border') {
        L.geoJSON(f, { pane: 'basemap', interactive: false, style: { color: '#6b5b78', weight: 1, dashArray: '5 3' } }).addTo(this.basemap);
      } else if (layer === 'place') {
        const [lon, lat] = f.geometry.coordinates;
        L.circleMarker([lat, lon], { pane: 'basemap', radius: 2.5, color: '#9fb0c2', weight: 1, fillOpacity: 1, interactive: false }).addTo(this.places);
        L.marker([lat, lon], {
          pane: 'basemap', interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'place-label', html: escapeHtml(f.properties.name), iconSize: null, iconAnchor: [-5, 7] }),
        }).addTo(this.places);
      }
    }
    this.togglePlaces();
  }

  togglePlaces() {
    if (this.map.getZoom() >= 4) this.places.addTo(this.map);
    else this.places.remove();
  }

  drawGrid() {
    this.grid.clearLayers();
    const b = this.map.getBounds();
    const z = this.map.getZoom();
    const step = z >= 10 ? 0.1 : z >= 8 ? 0.25 : z >= 7 ? 0.5 : z >= 5 ? 1 : z >= 4 ? 5 : 10;
    const style = { pane: 'basemap', color: '#2a3a4a', weight: 0.7, interactive: false };
    const west = Math.floor(b.getWest() / step) * step;
    const south = Math.max(-85, Math.floor(b.getSouth() / step) * step);
    const north = Math.min(85, b.getNorth());
    const fmt = (v, pos, neg) => `${Math.abs(v).toFixed(step < 1 ? 2 : 0).replace(/\.?0+$/, '')}°${v >= 0 ? pos : neg}`;
    for (let lon = west; lon <= b.getEast(); lon += step) {
      L.polyline([[south, lon], [north, lon]], style).addTo(this.grid);
      const wrapped = ((lon + 540) % 360) - 180;
      L.marker([b.getSouth(), lon], { pane: 'basemap', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'grid-label', html: fmt(wrapped, 'E', 'W'), iconSize: null, iconAnchor: [-2, 14] }) }).addTo(this.grid);
    }
    for (let lat = south; lat <= north; lat += step) {
      L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style).addTo(this.grid);
      L.marker([lat, b.getWest()], { pane: 'basemap', interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'grid-label', html: fmt(lat, 'N', 'S'), iconSize: null, iconAnchor: [-2, 12] }) }).addTo(this.grid);
    }
  }

  style(n) {
    const mine = n.issuer === this.me;
    const ended = n.state !== 'active';
    const colour = ended ? GREY : partyColour(n.issuer, this.me);
    return {
      color: colour,
      weight: n.kind === 'protected_site' ? 3 : mine ? 2.5 : 2,
      dashArray: ended ? '2 6' : mine ? null : '8 4',
      fillColor: colour,
      fillOpacity: ended ? 0.05 : n.kind === 'protected_site' ? 0.35 : 0.18,
      opacity: ended ? 0.6 : 0.95,
    };
  }

  showNotice(n) {
    this.removeNotice(n.id);
    const group = L.featureGroup();
    const style = this.style(n);
    for (const v of n.volumes || []) {
      for (const layer of footprintLayers(v, style)) layer.addTo(group);
    }
    const tip = h('div', {}, h('strong', {}, n.title || n.id), h('br'),
      `${n.issuer} · ${kindText(n.kind)} · v${n.version} · ${n.state}`,
      ...(n.volumes || []).flatMap((v) => [h('br'), `${bandText(v)} · ${windowText(v.time_start, v.time_end)}`]));
    group.bindTooltip(tip, { sticky: true });
    group.bindPopup(() => noticePopup(n, this.me), { maxWidth: 360 });
    group.on('click', () => this.onSelectNotice?.(n.id));
    this.noticeLayers.set(n.id, { group, notice: n });
    this.applyTime(n.id);
  }

  removeNotice(id) {
    const e = this.noticeLayers.get(id);
    if (e) {
      e.group.remove();
      this.noticeLayers.delete(id);
    }
  }

  showConflict(c) {
    this.removeConflict(c.id);
    const group = L.featureGroup();
    const open = c.state === 'open' || c.state === 'would_open';
    for (const o of c.overlaps || []) {
      const tip = `Conflict with ${c.other.issuer} · ${overlapBand(o)} · ${overlapWindow(o)}`;
      if (!o.region) {
        if (o.closest_points) {
          L.polyline(o.closest_points.map(ll), { pane: 'conflicts', color: open ? '#ff3b3b' : GREY, weight: 3, dashArray: '4 4' })
            .bindPopup(() => conflictPopup(c, o)).bindTooltip(tip, { sticky: true }).addTo(group);
        }
        continue;
      }
      L.geoJSON(o.region, {
        pane: 'conflicts',
        style: () => ({ color: open ? '#ff3b3b' : GREY, weight: 2, dashArray: '6 3', fillColor: open ? '#ff2020' : GREY, fillOpacity: open ? 0.45 : 0.1 }),
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
      if (show) n.group.addTo(this.noticeLayer); else n.group.remove();
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
    if (b.isValid()) this.map.fitBounds(b, { maxZoom: 10, padding: [40, 40] });
    e.group.openPopup(b.isValid() ? b.getCenter() : undefined);
  }

  fitAll() {
    const b = L.latLngBounds([]);
    for (const { group } of this.noticeLayers.values()) {
      const gb = group.getBounds();
      if (gb.isValid()) b.extend(gb);
    }
    if (b.isValid()) this.map.fitBounds(b, { maxZoom: 9, padding: [30, 30] });
  }
}

export function overlapBand(o) {
  return o.altitude_band ? metresBand(o.altitude_band) : `${Math.round(o.vertical_gap_m)} m apart vertically`;
}

export function overlapWindow(o) {
  return o.time_window ? windowText(o.time_window.start, o.time_window.end) : `${Math.round(o.time_gap_s / 60)} min apart`;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function within(t, start, end) {
  const x = t.getTime();
  return new Date(start).getTime() <= x && x <= new Date(end).getTime();
}
