// Tactical alerts (DESIGN.md: separation, intrusion, nonconformance) as the hub
// shows them to this party (`GET /v1/alerts`, events `alert_raised`,
// `alert_updated`, `alert_cleared`, `alert_acknowledged`, `alert_unacknowledged`).
//
// What is drawn is what is disclosed: the own track, and of the other side only
// the relative geometry (a bearing line of the disclosed distance from the own
// track, the altitude difference and the predicted closest approach in text).
// The other track itself only when the alert carries it (a pair that shares).
// Cleared alerts are greyed, then leave the map for the panel's history.
/* global L */

import { api } from './api.js';
import { altLabel, bearingLabel, destination, distLabel, escapeHtml, secondsLabel, speedLabel } from './geo.js';
import { footprintLayers } from './map.js';
import { h, kindText, partyColour, toast, zulu, zuluShort } from './util.js';

export const LINGER_MS = 60000; // a cleared alert stays on the map, greyed, this long
const RED = '#ff3b3b';
const ORANGE = '#ff9f1c';
const GREY = '#7d8590';

export class Alerts {
  constructor({ panel, mapView, state, badge, onHotline, fetchNotice }) {
    this.panel = panel;
    this.mv = mapView;
    this.state = state;
    this.badge = badge;
    this.onHotline = onHotline;
    this.fetchNotice = fetchNotice;
    this.fetching = new Set();
    this.alerts = new Map(); // id -> the alert as this party sees it, plus `escalated` and `archived`
    this.layers = new Map();
    this.layer = L.layerGroup().addTo(this.mv.map);
    this.tracks = null; // the own-tracks view, for the panel's header
    this.render();
  }

  async load() {
    try {
      const page = await api('GET', '/v1/alerts?limit=200');
      for (const a of page.alerts || []) this.upsert(a, { initial: true });
    } catch (err) {
      toast(`Alerts: ${err.message}`, true);
    }
    this.render();
  }

  onEvent(e) {
    const d = { ...(e.data || {}) };
    const id = d.id || d.alert_id;
    if (!id) return;
    d.id = id;
    if (e.type === 'alert_cleared') d.state = 'cleared';
    const old = this.alerts.get(id);
    const escalated = new Set([...(old?.escalated || []), ...(d.escalated || [])]);
    if (e.type === 'alert_unacknowledged' && d.unacknowledged_by) escalated.add(d.unacknowledged_by);
    this.upsert({ ...d, escalated: [...escalated] });
    const a = this.alerts.get(id);
    if (!a) return;
    if (e.type === 'alert_raised') toast(`ALERT ${headline(a, this.state.me)}`, true);
    if (e.type === 'alert_cleared') toast(`Alert cleared: ${headline(a, this.state.me)}`);
    if (e.type === 'alert_unacknowledged') {
      toast(d.unacknowledged_by === this.state.me
        ? `UNACKNOWLEDGED: you have not acknowledged ${headline(a, this.state.me)}`
        : `${d.unacknowledged_by} has not acknowledged ${headline(a, this.state.me)}`, true);
    }
    if (e.type === 'alert_acknowledged' && d.acknowledged && d.acknowledged !== this.state.me) {
      toast(`${d.acknowledged} acknowledged ${headline(a, this.state.me)}`);
    }
    this.render();
  }

  upsert(a, { initial = false } = {}) {
    const old = this.alerts.get(a.id);
    if (old && Number(old.revision) > Number(a.revision)) return; // an older view, late
    const merged = { ...old, ...a };
    if (!a.escalated) merged.escalated = old?.escalated || [];
    if (merged.state === 'cleared' && !old?.clearSeen) {
      const since = merged.cleared_at ? Date.now() - new Date(merged.cleared_at).getTime() : 0;
      merged.clearSeen = true;
      merged.archived = initial && since > LINGER_MS;
      if (!merged.archived) setTimeout(() => this.archive(a.id), Math.max(1000, LINGER_MS - Math.max(0, since)));
    }
    this.alerts.set(a.id, merged);
    this.draw(merged);
  }

  archive(id) {
    const a = this.alerts.get(id);
    if (!a || a.state !== 'cleared') return;
    a.archived = true;
    this.draw(a);
    this.render();
  }

  ackedByMe(a) {
    return Boolean(a.acks?.[this.state.me]) || (a.acknowledged_by || []).includes(this.state.me);
  }

  // Parties that were told they had not acknowledged in time, and still have not.
  overdue(a) {
    return (a.escalated || []).filter((p) => !a.acks?.[p] && !(a.acknowledged_by || []).includes(p));
  }

  // ---------- map ----------

  draw(a) {
    this.layers.get(a.id)?.remove();
    this.layers.delete(a.id);
    if (a.archived) return;
    const cleared = a.state === 'cleared';
    const colour = cleared ? GREY : (a.severity === 'predicted' ? ORANGE : RED);
    const dash = cleared ? '3 6' : null;
    const group = L.featureGroup();
    const own = a.own_track;
    const other = a.other || {};
    if (own && Number.isFinite(own.lat) && Number.isFinite(own.lon)) {
      L.circleMarker([own.lat, own.lon], {
        pane: 'alerts', radius: 13, color: colour, weight: this.overdue(a).length ? 4 : 2.5, dashArray: dash, fill: false,
        className: `alert-ring${cleared ? ' cleared' : ''}`,
      }).addTo(group);
      // The other side as disclosed: an advisory (clock position from the own track,
      // range to 0.1 NM, relative altitude to 100 ft), drawn as a line that far that way.
      if (Number.isFinite(other.clock) && Number.isFinite(other.range_nm) && Number.isFinite(own.trk_deg)) {
        const bearing = (own.trk_deg + other.clock * 30) % 360;
        const end = destination(own.lat, own.lon, bearing, other.range_nm * 1852);
        L.polyline([[own.lat, own.lon], end], { pane: 'alerts', color: colour, weight: 2, dashArray: dash || '8 6' }).addTo(group);
        const tip = L.circleMarker(end, { pane: 'alerts', radius: 5, color: colour, weight: 2, fillOpacity: 0.2, className: 'alert-other' }).addTo(group);
        if (!cleared) {
          const alt = Number.isFinite(other.rel_alt_ft) ? `${other.rel_alt_ft > 0 ? '+' : ''}${other.rel_alt_ft} ft` : '?';
          tip.bindTooltip(`${escapeHtml(other.party || '?')} ${other.clock} o'clock ${other.range_nm.toFixed(1)} NM<br>${escapeHtml(alt)} ${escapeHtml(other.vertical || '')}`
            + (Number.isFinite(a.tcpa_s) ? `<br>CPA ${secondsLabel(a.tcpa_s)} · ${Number.isFinite(a.dcpa_nm) ? a.dcpa_nm.toFixed(1) : '?'} NM` : ''),
          { permanent: true, direction: 'top', offset: [0, -6], className: 'alert-label' });
        }
      }
    }
    // Only a pair configured to share sends the other track itself.
    const theirs = other.track;
    if (theirs && Number.isFinite(theirs.lat) && Number.isFinite(theirs.lon)) {
      const c = cleared ? GREY : partyColour(other.party || '?', this.state.me);
      if (Number.isFinite(theirs.gs_mps) && theirs.gs_mps > 0.5 && Number.isFinite(theirs.trk_deg)) {
        L.polyline([[theirs.lat, theirs.lon], destination(theirs.lat, theirs.lon, theirs.trk_deg, theirs.gs_mps * 60)],
          { pane: 'alerts', color: c, weight: 2 }).addTo(group);
      }
      L.circleMarker([theirs.lat, theirs.lon], { pane: 'alerts', radius: 6, color: '#0d1117', weight: 1.5, fillColor: c, fillOpacity: 1, className: 'other-track' })
        .bindTooltip(`${escapeHtml(theirs.track_id || other.party)} (${escapeHtml(other.party || '')}) ${altLabel(theirs.alt_m)} ${speedLabel(theirs.gs_mps)}`,
          { permanent: true, direction: 'right', offset: [8, 0], className: 'track-label other' })
        .addTo(group);
    }
    // An intrusion: the notice's volume concerned (or all of them), in alert colour.
    for (const vol of this.noticeVolumes(a)) {
      for (const layer of footprintLayers(vol, { pane: 'alerts', color: colour, weight: 2, dashArray: dash || '6 4', fillColor: colour, fillOpacity: cleared ? 0.05 : 0.15 })) {
        layer.addTo(group);
      }
    }
    group.bindTooltip(() => `${escapeHtml(headline(a, this.state.me))} · ${escapeHtml(a.state)}`, { sticky: true });
    group.on('click', () => this.select(a.id));
    group.addTo(this.layer);
    this.layers.set(a.id, group);
  }

  // The volumes of the notice an intrusion alert names, as far as this party may see
  // it: the issuer gets the volume's index, the track's side the notice's id only
  // when it was addressed (then it is in the inbox). A notice not loaded yet is
  // fetched once, and the alert redrawn.
  noticeVolumes(a) {
    const ref = a.notice;
    if (a.kind !== 'intrusion' || !ref) return [];
    if (ref.volume && ref.volume.geometry) return [ref.volume];
    if (!ref.id) return [];
    const n = this.state.notices.get(ref.id);
    if (!n?.volumes) {
      if (this.fetchNotice && !this.fetching.has(ref.id)) {
        this.fetching.add(ref.id);
        this.fetchNotice(ref.id).then(() => {
          const cur = this.alerts.get(a.id);
          if (cur) { this.draw(cur); this.render(); }
        }).catch(() => {});
      }
      return [];
    }
    const i = ref.volume;
    return Number.isInteger(i) && n.volumes[i] ? [n.volumes[i]] : n.volumes;
  }

  select(id) {
    const el = this.panel.querySelector(`[data-id="${CSS.escape(id)}"]`);
    el?.scrollIntoView({ block: 'nearest' });
    el?.classList.add('flash');
  }

  focus(id) {
    const b = this.layers.get(id)?.getBounds();
    if (b?.isValid()) this.mv.map.fitBounds(b.pad(0.3), { maxZoom: 10 });
  }

  // The own tracks, and the live alerts' geometry with them.
  showTracks() {
    const b = this.tracks?.bounds() || L.latLngBounds([]);
    for (const [id, group] of this.layers) {
      if (this.alerts.get(id)?.state === 'cleared') continue;
      const gb = group.getBounds();
      if (gb.isValid()) b.extend(gb);
    }
    if (b.isValid()) this.mv.map.fitBounds(b.pad(0.25), { maxZoom: 10 });
  }

  // ---------- panel ----------

  render() {
    const list = [...this.alerts.values()];
    const live = list.filter((a) => a.state !== 'cleared')
      .sort((x, y) => (this.ackedByMe(x) - this.ackedByMe(y)) || String(y.raised_at).localeCompare(String(x.raised_at)));
    const recent = list.filter((a) => a.state === 'cleared' && !a.archived);
    const old = list.filter((a) => a.state === 'cleared' && a.archived);
    const pending = live.filter((a) => !this.ackedByMe(a)).length;
    this.badge.textContent = live.length ? String(live.length) : '';
    this.badge.classList.toggle('info', live.length > 0 && pending === 0);
    const n = this.tracks?.size || 0;
    const head = h('div', { class: 'alerts-head' },
      h('span', { class: 'muted', 'data-testid': 'own-tracks' }, n ? `${n} own track${n > 1 ? 's' : ''} live` : 'No own tracks reported.'),
      n ? h('button', { type: 'button', onclick: () => this.showTracks() }, 'Show own tracks') : null);
    const body = live.length || recent.length ? [...live, ...recent].map((a) => this.item(a)) : [h('p', { class: 'empty' }, 'No live alerts.')];
    const history = old.length ? h('details', { class: 'history' }, h('summary', {}, `Cleared earlier (${old.length})`), ...old.map((a) => this.item(a))) : null;
    this.panel.replaceChildren(head, ...body, ...(history ? [history] : []));
  }

  item(a) {
    const me = this.state.me;
    const cleared = a.state === 'cleared';
    const acked = this.ackedByMe(a);
    const overdue = this.overdue(a);
    const cls = ['item', 'alert', cleared ? 'inactive' : '', !cleared && overdue.includes(me) ? 'escalated' : '', !cleared && !acked ? 'unacked' : ''];
    const actions = [];
    if (this.layers.get(a.id)?.getBounds().isValid()) {
      actions.push(h('button', { type: 'button', onclick: () => this.focus(a.id) }, 'Show on map'));
    }
    if (a.kind === 'intrusion' && a.notice?.id && this.state.notices.has(a.notice.id)) {
      actions.push(h('button', { type: 'button', onclick: () => this.mv.focus(a.notice.id) }, 'Show notice'));
    }
    if (!cleared && !acked) {
      const comment = h('input', { type: 'text', placeholder: 'comment (optional)', 'aria-label': `Comment on alert ${a.id}` });
      actions.unshift(comment, h('button', {
        type: 'button', class: 'primary', 'data-action': 'ack-alert',
        onclick: async (e) => {
          e.target.disabled = true;
          try {
            const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
            this.upsert(await api('POST', `/v1/alerts/${encodeURIComponent(a.id)}/ack`, body));
          } catch (err) {
            toast(`Acknowledge failed: ${err.message}`, true);
          }
          this.render();
        },
      }, 'Acknowledge'));
    }
    const other = a.other?.party;
    if (other && this.onHotline) actions.push(h('button', { type: 'button', onclick: () => this.onHotline(other, { type: 'alert', id: a.id }) }, `Hotline ${other}`));
    const stateChip = cleared ? h('span', { class: 'chip st-resolved' }, 'cleared')
      : h('span', { class: `chip st-${a.severity === 'predicted' ? 'predicted' : 'open'}` }, a.severity || 'active');
    return h('div', { class: cls.filter(Boolean).join(' '), style: `--c:${cleared ? GREY : RED}`, 'data-id': a.id, 'data-state': a.state, 'data-kind': a.kind },
      h('h3', {}, stateChip, ` ${headline(a, me)}`),
      ...geometryLines(a, me).map((t, i) => h('div', { class: 'meta geometry', 'data-testid': 'alert-geometry' }, cleared && i === 0 ? `last known: ${t}` : t)),
      h('div', { class: 'meta acks', 'data-testid': 'alert-acks' }, 'acknowledged: ', ...(a.parties || []).flatMap((p, i) => {
        const at = a.acks?.[p];
        const late = overdue.includes(p);
        return [i ? ' · ' : '', h('span', { 'data-party': p, class: `chip st-${at ? 'acknowledged' : late ? 'overdue' : 'pending'}` },
          `${p === me ? 'you' : p} ${at ? `✓ ${zuluShort(at)}` : late ? 'OVERDUE' : 'not yet'}`)];
      })),
      h('div', { class: 'meta' }, [`raised ${zulu(a.raised_at, { seconds: true })}`, !cleared && a.updated_at !== a.raised_at ? `updated ${zulu(a.updated_at, { seconds: true })}` : '',
        cleared ? `cleared ${zulu(a.cleared_at, { seconds: true })}${a.clear_reason ? ` (${a.clear_reason})` : ''}` : ''].filter(Boolean).join(' · ')),
      actions.length ? h('div', { class: 'actions' }, actions) : null);
  }
}

// "separation with russia", "intrusion: your track VIPER11 into russia's protected site" ...
export function headline(a, me) {
  const own = a.own_track?.track_id || a.track_id;
  if (a.kind === 'separation') return `separation${own ? ` ${own}` : ''} with ${a.other?.party || (a.parties || []).filter((p) => p !== me).join(', ') || '?'}`;
  if (a.kind === 'intrusion') {
    if (own) return `intrusion: ${own} ${a.inside_now ? 'inside' : 'entering'} ${a.notice?.issuer || '?'}'s ${kindText(a.notice?.kind) || 'notice'}`;
    return `intrusion: ${a.other?.party || '?'} ${a.inside_now ? 'inside' : 'entering'} your notice ${a.notice?.id || ''}`.trim();
  }
  if (a.kind === 'nonconformance') return `nonconformance: ${own || 'own track'}`;
  return `${a.kind || 'alert'} ${a.id}`;
}

function geometryLines(a, me) {
  const lines = [];
  const own = a.own_track;
  const other = a.other || {};
  if (own) lines.push(`own ${own.track_id} ${altLabel(own.alt_m)} ${speedLabel(own.gs_mps)} ${bearingLabel(own.trk_deg)}`);
  if (a.kind === 'separation') {
    const alt = Number.isFinite(other.rel_alt_ft) ? `${other.rel_alt_ft > 0 ? '+' : ''}${other.rel_alt_ft} ft` : '?';
    const range = Number.isFinite(other.range_nm) ? `${other.range_nm.toFixed(1)} NM` : '?';
    lines.push(`${other.party || '?'} ${other.category || ''} at ${other.clock ?? '?'} o'clock, ${range} · ${alt} ${other.vertical || ''}`);
    const cpa = [`CPA in ${secondsLabel(a.tcpa_s)} at ${Number.isFinite(a.dcpa_nm) ? a.dcpa_nm.toFixed(1) : '?'} NM`];
    if (Number.isFinite(a.t_los_s)) cpa.push(a.t_los_s <= 0 ? 'separation LOST' : `loss of separation in ${secondsLabel(a.t_los_s)}`);
    if (a.minima) cpa.push(`minima ${distLabel(a.minima.h_sep_m)} / ${Math.round(a.minima.v_sep_m / 0.3048).toLocaleString('en-US')} ft`);
    lines.push(cpa.join(' · '));
  } else if (a.kind === 'intrusion') {
    const when = a.inside_now ? 'inside now' : `entry in ${secondsLabel(a.t_entry_s)}`;
    if (own) {
      lines.push(`${a.notice?.issuer || '?'}'s ${kindText(a.notice?.kind)}${a.notice?.id ? ` ${a.notice.id}` : ' (not addressed to you: no details)'} · ${when}`);
    } else {
      lines.push(`${other.party || '?'} ${other.category || ''} track · ${when} · your notice ${a.notice?.id || ''}${a.notice?.version ? ` v${a.notice.version}` : ''}`);
    }
  } else if (a.kind === 'nonconformance') {
    lines.push(`outside your own notices${a.reason ? `: ${a.reason}` : ''}`);
  }
  if (other.track) lines.push(`shared track ${other.track.track_id || ''} ${altLabel(other.track.alt_m)} ${speedLabel(other.track.gs_mps)}`);
  if (me && a.parties && !a.parties.includes(me)) lines.push(`parties ${a.parties.join(', ')}`);
  return lines;
}
