// The signed-in party's own live tracks, polled from `GET /v1/tracks` (the hub
// emits no events for own tracks). Each is drawn at its reported position with
// a one-minute heading vector and a label; a track not heard from for a while is
// faded, and one the hub has dropped disappears. Other parties' tracks never
// come here: the hub does not serve them (only alerts tell of them).
/* global L */

import { api } from './api.js';
import { altLabel, destination, escapeHtml, speedLabel } from './geo.js';
import { t as tr } from './i18n.js';
import { partyColour } from './util.js';

export const POLL_MS = 1500;
export const STALE_S = 10; // faded when the latest report is older than this
const VECTOR_S = 60; // the heading vector shows where the track is in one minute

export class Tracks {
  constructor({ mapView, me, onChange, onFirst }) {
    this.mv = mapView;
    this.me = me;
    this.onChange = onChange;
    this.onFirst = onFirst;
    this.polled = false;
    this.tracks = new Map(); // track_id -> {track, group, stale}
    this.inFlight = false;
    this.failed = false;
    this.layer = L.layerGroup().addTo(this.mv.map);
    this.timer = null;
  }

  start() {
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
  }

  async poll() {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const page = await api('GET', '/v1/tracks');
      this.failed = false;
      this.update(page.tracks || []);
      // The first time own tracks are there (at sign-in, or when the feed starts).
      if (!this.polled && this.tracks.size) { this.polled = true; this.onFirst?.(this); }
    } catch {
      // offline or the hub restarting: keep the last picture (it fades) and retry
      this.failed = true;
      this.refade();
    } finally {
      this.inFlight = false;
    }
  }

  update(list) {
    const seen = new Set();
    for (const t of list) {
      if (!t || !t.track_id || !Number.isFinite(t.lat) || !Number.isFinite(t.lon)) continue;
      seen.add(t.track_id);
      const old = this.tracks.get(t.track_id);
      if (old && old.track.time === t.time && !old.stale && !isStale(t)) continue;
      this.draw(t);
    }
    for (const id of [...this.tracks.keys()]) {
      if (!seen.has(id)) {
        this.layer.removeLayer(this.tracks.get(id).group);
        this.tracks.delete(id);
      }
    }
    this.onChange?.(this);
  }

  refade() {
    for (const { track, stale } of [...this.tracks.values()]) {
      if (stale || isStale(track)) this.draw(track);
    }
    this.onChange?.(this);
  }

  draw(t) {
    const stale = isStale(t);
    const colour = partyColour(this.me, this.me);
    const opacity = stale ? 0.35 : 1;
    const pos = [t.lat, t.lon];
    const moving = Number.isFinite(t.gs_mps) && t.gs_mps > 0.5 && Number.isFinite(t.trk_deg);
    const end = moving ? destination(t.lat, t.lon, t.trk_deg, t.gs_mps * VECTOR_S) : null;
    const side = east(t) ? { direction: 'left', offset: [-8, 0] } : { direction: 'right', offset: [8, 0] };
    const drawn = this.tracks.get(t.track_id);
    if (drawn) {
      // Updated in place: a new marker at every poll (a silent track's age changes each
      // time) would leave its old label fading out beside the new one (Leaflet removes an
      // overlay 200 ms after fading it) and grow the layer by one group a poll.
      drawn.marker.setLatLng(pos).setStyle({ fillOpacity: opacity, opacity });
      drawn.marker.getElement()?.classList.toggle('stale', stale);
      if (end && drawn.vector) drawn.vector.setLatLngs([pos, end]).setStyle({ opacity });
      else if (end) drawn.vector = this.vector(pos, end, colour, opacity).addTo(drawn.group);
      else if (drawn.vector) { drawn.group.removeLayer(drawn.vector); drawn.vector = null; }
      const tip = drawn.marker.getTooltip();
      Object.assign(tip.options, side);
      tip.getElement()?.classList.toggle('stale', stale);
      drawn.marker.setTooltipContent(this.label(t, stale));
      tip.update();
      Object.assign(drawn, { track: t, stale });
      return;
    }
    const group = L.featureGroup();
    const vector = end ? this.vector(pos, end, colour, opacity).addTo(group) : null;
    const marker = L.circleMarker(pos, {
      pane: 'tracks', radius: 6, color: '#0d1117', weight: 1.5, fillColor: colour, fillOpacity: opacity, opacity,
      className: `own-track${stale ? ' stale' : ''}`,
    }).addTo(group);
    marker.bindTooltip(this.label(t, stale), {
      // On the side the heading vector does not point to.
      permanent: true, ...side, className: `track-label${stale ? ' stale' : ''}`,
    });
    group.addTo(this.layer);
    this.tracks.set(t.track_id, { track: t, group, marker, vector, stale });
  }

  vector(pos, end, colour, opacity) {
    return L.polyline([pos, end], { pane: 'tracks', color: colour, weight: 2, opacity, interactive: false });
  }

  label(t, stale) {
    const age = ageS(t);
    const parts = [altLabel(t.alt_m), speedLabel(t.gs_mps), Number.isFinite(t.trk_deg) ? `${String(Math.round(t.trk_deg) % 360).padStart(3, '0')}°` : ''];
    return `<span class="tid" data-track="${escapeHtml(t.track_id)}">${escapeHtml(t.track_id)}</span> ${parts.filter(Boolean).join(' ')}`
      + (stale ? ` <em>${escapeHtml(Number.isFinite(age) ? tr('tracks.age', { s: Math.round(age) }) : tr('tracks.stale'))}</em>` : '');
  }

  redraw() {
    for (const { track } of [...this.tracks.values()]) this.draw(track);
  }

  bounds() {
    const b = L.latLngBounds([]);
    for (const { track } of this.tracks.values()) b.extend([track.lat, track.lon]);
    return b;
  }

  get size() {
    return this.tracks.size;
  }
}

function ageS(t) {
  const when = typeof t.time === 'number' ? t.time * 1000 : new Date(t.time).getTime();
  return (Date.now() - when) / 1000;
}

function east(t) {
  const a = ((Number(t.trk_deg) % 360) + 360) % 360;
  return Number(t.gs_mps) > 0.5 && a > 10 && a < 170;
}

function isStale(t) {
  return ageS(t) > STALE_S;
}
