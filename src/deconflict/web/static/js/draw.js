// Drawing on Leaflet primitives: click to place vertices (polygon, corridor) or a
// centre then a point on the edge (circle). Enter finishes, Backspace undoes the
// last point, Escape cancels. Vertices stay draggable afterwards, and the editor
// keeps a typed coordinate list in sync, so nothing needs a mouse.
/* global L */

import { t } from './i18n.js';
import { footprintLayers } from './map.js';

const DRAFT_STYLE = { color: '#ffd166', weight: 2, dashArray: '6 4', fillColor: '#ffd166', fillOpacity: 0.15, pane: 'draft', interactive: false };
const HINTS = { Polygon: 'draw.hint_polygon', Point: 'draw.hint_circle', LineString: 'draw.hint_corridor' };

export class Drawer {
  constructor(mapView, { onChange }) {
    this.mv = mapView;
    this.map = mapView.map;
    this.onChange = onChange;
    this.layer = L.layerGroup().addTo(this.map);
    this.shape = 'Polygon';
    this.points = []; // [lat, lon]
    this.radius = 0;
    this.active = false;
    this.bar = document.getElementById('drawbar');
    this.hint = document.getElementById('draw-hint');
    document.getElementById('draw-finish').addEventListener('click', () => this.finish());
    document.getElementById('draw-undo').addEventListener('click', () => this.undo());
    document.getElementById('draw-cancel').addEventListener('click', () => this.cancel());
    this.onClick = (e) => this.click(e.latlng);
    this.onMove = (e) => this.move(e.latlng);
    this.onKey = (e) => {
      if (!this.active || e.target.closest('input, textarea, select')) return;
      if (e.key === 'Enter') { e.preventDefault(); this.finish(); }
      else if (e.key === 'Backspace') { e.preventDefault(); this.undo(); }
      else if (e.key === 'Escape') { e.preventDefault(); this.cancel(); }
    };
    document.addEventListener('keydown', this.onKey);
  }

  // Show a shape without drawing (amend, typed coordinates).
  set(shape, points, radius) {
    this.shape = shape;
    this.points = points.map((p) => [p[0], p[1]]);
    this.radius = radius || 0;
    this.render();
  }

  start(shape, radius) {
    this.shape = shape;
    this.points = [];
    this.radius = radius || 0;
    this.active = true;
    this.saved = null;
    this.map.getContainer().classList.add('drawing');
    this.map.getContainer().style.cursor = 'crosshair';
    this.map.doubleClickZoom.disable();
    this.map.on('click', this.onClick);
    this.map.on('mousemove', this.onMove);
    this.hint.textContent = t(HINTS[shape]);
    this.bar.hidden = false;
    this.render();
    this.map.getContainer().focus();
  }

  stop() {
    this.active = false;
    this.map.getContainer().classList.remove('drawing');
    this.map.getContainer().style.cursor = '';
    this.map.doubleClickZoom.enable();
    this.map.off('click', this.onClick);
    this.map.off('mousemove', this.onMove);
    this.bar.hidden = true;
    this.preview = null;
  }

  click(latlng) {
    const p = [round(latlng.lat), round(latlng.lng)];
    if (this.shape === 'Point') {
      if (!this.points.length) {
        this.points = [p];
      } else {
        this.radius = Math.round(this.map.distance(this.points[0], latlng));
        this.finish();
        return;
      }
    } else {
      this.points.push(p);
    }
    this.render();
    this.emit();
  }

  move(latlng) {
    if (this.shape === 'Point' && this.points.length === 1) {
      this.preview = Math.round(this.map.distance(this.points[0], latlng));
      this.render();
    }
  }

  undo() {
    this.points.pop();
    this.render();
    this.emit();
  }

  finish() {
    const need = { Polygon: 3, Point: 1, LineString: 2 }[this.shape];
    if (this.points.length < need) {
      this.hint.textContent = `${t(HINTS[this.shape])} ${t('draw.more', { n: need - this.points.length })}`;
      return;
    }
    this.stop();
    this.render();
    this.emit();
  }

  cancel() {
    this.stop();
    this.render();
  }

  clear() {
    if (this.active) this.stop();
    this.points = [];
    this.layer.clearLayers();
  }

  emit() {
    this.onChange?.({ shape: this.shape, points: this.points.map((p) => [...p]), radius: this.radius });
  }

  geometry() {
    const lonlat = this.points.map(([lat, lon]) => [lon, lat]);
    if (this.shape === 'Polygon') {
      return lonlat.length ? { type: 'Polygon', coordinates: [[...lonlat, lonlat[0]]] } : null;
    }
    if (this.shape === 'Point') return lonlat.length ? { type: 'Point', coordinates: lonlat[0] } : null;
    return lonlat.length ? { type: 'LineString', coordinates: lonlat } : null;
  }

  render() {
    this.layer.clearLayers();
    const radius = this.preview ?? this.radius;
    const g = this.geometry();
    if (g && (g.type !== 'Polygon' || this.points.length >= 2)) {
      const vol = { geometry: g, radius_m: radius || (g.type === 'Point' ? 0 : 0) };
      if (g.type === 'Polygon' && this.points.length === 2) {
        L.polyline(this.points, DRAFT_STYLE).addTo(this.layer);
      } else if (g.type !== 'LineString' || this.points.length >= 2) {
        for (const l of footprintLayers(vol, DRAFT_STYLE)) l.addTo(this.layer);
      }
    }
    this.points.forEach((p, i) => {
      const m = L.marker(p, {
        draggable: true, pane: 'draft', keyboard: false, title: t('draw.point', { i: i + 1 }),
        icon: L.divIcon({ className: 'vertex', iconSize: [12, 12] }),
      });
      m.on('drag', (e) => {
        const ll = e.target.getLatLng();
        this.points[i] = [round(ll.lat), round(ll.lng)];
      });
      m.on('dragend', () => { this.render(); this.emit(); });
      m.addTo(this.layer);
    });
  }
}

function round(x) {
  return Math.round(x * 1e5) / 1e5;
}
