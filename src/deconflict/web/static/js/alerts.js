// Tactical alerts (DESIGN.md: separation, intrusion, nonconformance), fed by the
// `alert_raised`, `alert_updated` and `alert_cleared` events. The hub does not
// serve alerts yet (issue 5): the panel says so, listens for the events anyway,
// and turns on listing and acknowledging once the OpenAPI document of the hub
// it talks to has `/v1/alerts` and `/v1/alerts/{id}/ack`.
/* global L */

import { api } from './api.js';
import { h, toast, zulu } from './util.js';

export class Alerts {
  constructor({ panel, mapView, state, badge }) {
    this.panel = panel;
    this.mv = mapView;
    this.state = state;
    this.badge = badge;
    this.alerts = new Map();
    this.layers = new Map();
    this.listPath = null;
    this.ackPath = null;
    this.render();
  }

  // Find the alert endpoints in the hub's OpenAPI document (public, no token).
  async discover() {
    try {
      const r = await fetch('/openapi.json');
      const doc = await r.json();
      const paths = Object.keys(doc.paths || {});
      this.listPath = paths.includes('/v1/alerts') ? '/v1/alerts' : null;
      this.ackPath = paths.find((p) => /^\/v1\/alerts\/\{[^}]+\}\/ack$/.test(p)) || null;
      if (this.listPath) {
        const page = await api('GET', this.listPath);
        for (const a of page.alerts || []) this.upsert(a);
      }
    } catch {
      // the panel keeps working from events alone
    }
    this.render();
  }

  onEvent(e) {
    const a = { ...(e.data || {}) };
    if (e.type === 'alert_cleared') a.state = 'cleared';
    else if (!a.state) a.state = 'active';
    this.upsert(a);
    if (e.type === 'alert_raised') toast(`ALERT: ${a.kind || a.type || 'alert'} ${describe(a)}`, true);
    this.render();
  }

  upsert(a) {
    const id = a.id || a.alert_id;
    if (!id) return;
    const merged = { ...this.alerts.get(id), ...a, id };
    this.alerts.set(id, merged);
    this.draw(merged);
  }

  draw(a) {
    this.layers.get(a.id)?.remove();
    const group = L.featureGroup();
    const colour = a.state === 'cleared' ? '#7d8590' : '#ff3b3b';
    const geoms = [a.geometry, a.region, a.area].filter((g) => g && g.type);
    for (const g of geoms) L.geoJSON(g, { style: () => ({ color: colour, weight: 3, fillOpacity: 0.3 }) }).addTo(group);
    const points = [a.position, a.location, a.cpa, ...(Array.isArray(a.positions) ? a.positions : [])]
      .filter((p) => p && Number.isFinite(p.lat) && Number.isFinite(p.lon));
    if (Number.isFinite(a.lat) && Number.isFinite(a.lon)) points.push({ lat: a.lat, lon: a.lon });
    for (const p of points) L.circleMarker([p.lat, p.lon], { radius: 9, color: colour, weight: 3, fillOpacity: 0.5 }).addTo(group);
    group.bindTooltip(`${a.kind || 'alert'} · ${a.state} · ${describe(a)}`, { sticky: true });
    group.addTo(this.mv.map);
    this.layers.set(a.id, group);
  }

  render() {
    const list = [...this.alerts.values()].sort((x, y) => (x.state === 'cleared') - (y.state === 'cleared'));
    const live = list.filter((a) => a.state !== 'cleared').length;
    this.badge.textContent = live ? String(live) : '';
    const note = h('p', { class: 'muted' }, this.listPath
      ? 'Live tactical alerts from the hub.'
      : 'This hub does not serve tactical alerts yet; alerts arriving on the event stream are shown here.');
    this.panel.replaceChildren(note, ...(list.length ? list.map((a) => this.item(a)) : [h('p', { class: 'empty' }, 'No alerts.')]));
  }

  item(a) {
    const acked = a.acknowledged_by?.includes?.(this.state.me) || a.acknowledged === true;
    const actions = [];
    if (this.layers.get(a.id)?.getBounds().isValid()) {
      actions.push(h('button', { type: 'button', onclick: () => this.mv.map.fitBounds(this.layers.get(a.id).getBounds(), { maxZoom: 10 }) }, 'Show on map'));
    }
    if (this.ackPath && a.state !== 'cleared' && !acked) {
      actions.push(h('button', {
        type: 'button', class: 'primary',
        onclick: async () => {
          try {
            this.upsert(await api('POST', this.ackPath.replace(/\{[^}]+\}/, encodeURIComponent(a.id)), {}));
          } catch (err) {
            toast(`Acknowledge failed: ${err.message}`, true);
          }
          this.render();
        },
      }, 'Acknowledge'));
    }
    return h('div', { class: `item${a.state === 'cleared' ? ' inactive' : ''}`, style: '--c:#ff3b3b', 'data-id': a.id },
      h('h3', {}, h('span', { class: `chip st-${a.state === 'cleared' ? 'resolved' : 'open'}` }, a.state), ` ${a.kind || 'alert'}`),
      h('div', { class: 'meta' }, describe(a)),
      h('div', { class: 'meta' }, [a.raised_at && `raised ${zulu(a.raised_at)}`, a.updated_at && `updated ${zulu(a.updated_at)}`, a.cleared_at && `cleared ${zulu(a.cleared_at)}`].filter(Boolean).join(' · ')),
      acked ? h('div', { class: 'meta' }, 'acknowledged by you') : null,
      actions.length ? h('div', { class: 'actions' }, actions) : null);
  }
}

function describe(a) {
  const parts = [];
  if (a.parties) parts.push(`parties ${[].concat(a.parties).join(', ')}`);
  if (Number.isFinite(a.t_los_s)) parts.push(`loss of separation in ${Math.round(a.t_los_s)} s`);
  if (Number.isFinite(a.tcpa_s)) parts.push(`CPA in ${Math.round(a.tcpa_s)} s`);
  if (Number.isFinite(a.dcpa_m)) parts.push(`CPA ${Math.round(a.dcpa_m)} m`);
  if (a.notice) parts.push(`notice ${a.notice.id || a.notice}`);
  if (a.track_id) parts.push(`track ${a.track_id}`);
  return parts.join(' · ') || a.id;
}
