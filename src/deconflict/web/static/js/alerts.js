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
import { altLabel, bearingLabel, destination, distLabel, escapeHtml, ftLabel, nmLabel, secondsLabel, speedLabel } from './geo.js';
import { footprintLayers } from './map.js';
import { t } from './i18n.js';
import { dropDraft, keepTyping } from './keep.js';
import { h, idTag, kindText, partyColour, stateText, toast, zulu, zuluShort } from './util.js';

export const LINGER_MS = 60000; // a cleared alert stays on the map, greyed, this long
const RED = '#ff3b3b';
const ORANGE = '#ff9f1c';
const GREY = '#7d8590';

export class Alerts {
  constructor({ panel, mapView, state, badge, onHotline, fetchNotice, noticeTitle }) {
    this.noticeTitle = noticeTitle || (() => null);
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
      toast(t('toast.alerts_failed', { error: err.message }), true);
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
    const what = this.name(id);
    if (e.type === 'alert_raised') toast(t('toast.alert', { what }), true);
    if (e.type === 'alert_cleared') toast(t('toast.alert_cleared', { what }));
    if (e.type === 'alert_unacknowledged') {
      toast(d.unacknowledged_by === this.state.me ? t('toast.alert_unacked_me', { what }) : t('toast.alert_unacked', { party: d.unacknowledged_by, what }), true);
    }
    if (e.type === 'alert_acknowledged' && d.acknowledged && d.acknowledged !== this.state.me) {
      toast(t('toast.alert_acked', { party: d.acknowledged, what }));
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
          tip.bindTooltip(`${escapeHtml(other.party || '?')} ${escapeHtml(t('alert.clock', { clock: other.clock ?? '?' }))} ${escapeHtml(nmLabel(other.range_nm))}<br>${escapeHtml(t('alert.dalt'))} ${escapeHtml(ftLabel(other.rel_alt_ft))} ${escapeHtml(verticalText(other.vertical))}`
            + (Number.isFinite(a.tcpa_s) ? `<br>${escapeHtml(t('alert.cpa'))} ${escapeHtml(secondsLabel(a.tcpa_s))} · ${escapeHtml(nmLabel(a.dcpa_nm))}` : ''),
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
    group.bindTooltip(() => `${escapeHtml(this.name(a.id))} · ${escapeHtml(stateText(a.state))}`, { sticky: true });
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

  // What the alert is about, in words this party may read: its own track's
  // callsign, the title of a notice it holds (its own, or addressed to it), and
  // otherwise only the other party and the kind of its notice.
  name(id) {
    const a = this.alerts.get(id);
    return a ? headline(a, this.state.me, this.noticeTitle) : '';
  }

  redraw() {
    for (const a of this.alerts.values()) this.draw(a);
    this.render();
  }

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
      h('span', { class: 'muted', 'data-testid': 'own-tracks' }, n ? t('tracks.live', { n }) : t('tracks.none')),
      n ? h('button', { type: 'button', onclick: () => this.showTracks() }, t('btn.show_tracks')) : null);
    const body = live.length || recent.length ? [...live, ...recent].map((a) => this.item(a)) : [h('p', { class: 'empty' }, t('alerts.empty'))];
    const openHistory = this.panel.querySelector('details.history')?.open;
    const history = old.length ? h('details', { class: 'history', open: Boolean(openHistory) }, h('summary', {}, t('alerts.history', { n: old.length })), ...old.map((a) => this.item(a))) : null;
    keepTyping(this.panel, () => this.panel.replaceChildren(head, ...body, ...(history ? [history] : [])));
  }

  item(a) {
    const me = this.state.me;
    const cleared = a.state === 'cleared';
    const acked = this.ackedByMe(a);
    const overdue = this.overdue(a);
    const cls = ['item', 'alert', cleared ? 'inactive' : '', !cleared && overdue.includes(me) ? 'escalated' : '', !cleared && !acked ? 'unacked' : ''];
    const actions = [];
    if (this.layers.get(a.id)?.getBounds().isValid()) {
      actions.push(h('button', { type: 'button', onclick: () => this.focus(a.id) }, t('btn.show_on_map')));
    }
    if (a.kind === 'intrusion' && a.notice?.id && this.state.notices.has(a.notice.id)) {
      actions.push(h('button', { type: 'button', onclick: () => this.mv.focus(a.notice.id) }, t('btn.show_notice')));
    }
    if (!cleared && !acked) {
      const key = `alert:${a.id}`;
      const comment = h('input', { type: 'text', dir: 'auto', placeholder: t('ack.comment_placeholder'), 'aria-label': t('alert.comment_for', { what: this.name(a.id) }), 'data-keep': key });
      const send = async (btn) => {
        btn.disabled = true;
        try {
          const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
          this.upsert(await api('POST', `/v1/alerts/${encodeURIComponent(a.id)}/ack`, body));
          dropDraft(key);
        } catch (err) {
          toast(t('toast.ack_failed', { error: err.message }), true);
        }
        this.render();
      };
      const button = h('button', { type: 'button', class: 'primary', 'data-action': 'ack-alert', onclick: (e) => send(e.currentTarget) }, t('btn.acknowledge'));
      comment.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); send(button); } });
      actions.unshift(comment, button);
    }
    const other = a.other?.party;
    if (other && this.onHotline) actions.push(h('button', { type: 'button', onclick: () => this.onHotline(other, { type: 'alert', id: a.id }) }, t('btn.hotline', { party: other })));
    const stateChip = cleared ? h('span', { class: 'chip st-resolved' }, t('state.cleared'))
      : h('span', { class: `chip st-${a.severity === 'predicted' ? 'predicted' : 'open'}` }, a.severity ? t(`severity.${a.severity}`) : t('state.active'));
    return h('div', { class: cls.filter(Boolean).join(' '), style: `--c:${cleared ? GREY : RED}`, 'data-id': a.id, 'data-state': a.state, 'data-kind': a.kind },
      h('h3', { dir: 'auto' }, stateChip, ` ${this.name(a.id)}`),
      ...geometryLines(a, me, this.noticeTitle).map((line, i) => h('div', { class: 'meta geometry', 'data-testid': 'alert-geometry' }, cleared && i === 0 ? t('alert.last_known', { what: line }) : line)),
      h('div', { class: 'meta acks', 'data-testid': 'alert-acks' }, `${t('alert.acknowledged')} `, ...(a.parties || []).flatMap((p, i) => {
        const at = a.acks?.[p];
        const late = overdue.includes(p);
        return [i ? ' · ' : '', h('span', { 'data-party': p, class: `chip st-${at ? 'acknowledged' : late ? 'overdue' : 'pending'}` },
          `${p === me ? t('party.you_short') : p} ${at ? `✓ ${zuluShort(at)}` : late ? t('alert.overdue') : t('alert.not_yet')}`)];
      })),
      h('div', { class: 'meta' }, [t('alert.raised', { time: zulu(a.raised_at, { seconds: true }) }),
        !cleared && a.updated_at !== a.raised_at ? t('alert.updated', { time: zulu(a.updated_at, { seconds: true }) }) : '',
        cleared ? `${t('alert.cleared', { time: zulu(a.cleared_at, { seconds: true }) })}${a.clear_reason ? ` (${a.clear_reason})` : ''}` : ''].filter(Boolean).join(' · '),
      ' · ', idTag(a.id)),
      actions.length ? h('div', { class: 'actions' }, actions) : null);
  }
}

// The notice an intrusion names, as this party may name it: by the title it
// holds, else only as "<party>'s <kind>" (a notice not addressed to it keeps its title).
function noticeName(a, noticeTitle, me) {
  const ref = a.notice || {};
  if (ref.id && noticeTitle) {
    const title = noticeTitle(ref.id);
    if (title) return ref.issuer === me || !ref.issuer ? t('notice.yours_titled', { title }) : t('notice.of_party_titled', { party: ref.issuer, title });
  }
  return t('notice.of_party', { party: ref.issuer || '?', kind: kindText(ref.kind) || t('notice.generic') });
}

// "separation: VIPER11 with russia", "intrusion: RAVEN2 entering coalition's “Tanker track”" ...
export function headline(a, me, noticeTitle = null) {
  const own = a.own_track?.track_id || a.track_id;
  if (a.kind === 'separation') {
    const other = a.other?.party || (a.parties || []).filter((p) => p !== me).join(', ') || '?';
    return own ? t('alert.separation_own', { track: own, party: other }) : t('alert.separation', { party: other });
  }
  if (a.kind === 'intrusion') {
    const where = noticeName(a, noticeTitle, me);
    if (own) return t(a.inside_now ? 'alert.intrusion_own_inside' : 'alert.intrusion_own_entering', { track: own, notice: where });
    return t(a.inside_now ? 'alert.intrusion_other_inside' : 'alert.intrusion_other_entering', { party: a.other?.party || '?', notice: where });
  }
  if (a.kind === 'nonconformance') return t('alert.nonconformance', { track: own || t('alert.own_track') });
  return `${a.kind || 'alert'} ${a.id}`;
}

function geometryLines(a, me, noticeTitle) {
  const lines = [];
  const own = a.own_track;
  const other = a.other || {};
  const cat = (c) => (c ? t(`category.${c}`) : '');
  if (own) lines.push(t('alert.own_line', { track: own.track_id, alt: altLabel(own.alt_m), speed: speedLabel(own.gs_mps), trk: bearingLabel(own.trk_deg) }));
  if (a.kind === 'separation') {
    lines.push(t('alert.advisory', { party: other.party || '?', category: cat(other.category), clock: other.clock ?? '?', dist: nmLabel(other.range_nm), dalt: ftLabel(other.rel_alt_ft), vertical: verticalText(other.vertical) }));
    const cpa = [t('alert.cpa_in', { time: secondsLabel(a.tcpa_s), dist: nmLabel(a.dcpa_nm) })];
    if (Number.isFinite(a.t_los_s)) cpa.push(a.t_los_s <= 0 ? t('alert.los_now') : t('alert.los_in', { time: secondsLabel(a.t_los_s) }));
    if (a.minima) cpa.push(t('alert.minima', { h: distLabel(a.minima.h_sep_m), v: Math.round(a.minima.v_sep_m / 0.3048) }));
    lines.push(cpa.join(' · '));
  } else if (a.kind === 'intrusion') {
    const when = a.inside_now ? t('alert.inside_now') : t('alert.entry_in', { time: secondsLabel(a.t_entry_s) });
    const addressed = Boolean(a.notice?.id && noticeTitle && noticeTitle(a.notice.id));
    if (own) {
      lines.push(`${noticeName(a, noticeTitle, me)}${addressed ? '' : ` ${t('alert.not_addressed')}`} · ${when}`);
    } else {
      lines.push(t('alert.other_track', { party: other.party || '?', category: cat(other.category), when }));
    }
  } else if (a.kind === 'nonconformance') {
    lines.push(`${t('alert.outside_own')}${a.reason ? `: ${a.reason}` : ''}`);
  }
  if (other.track) lines.push(t('alert.shared_track', { track: other.track.track_id || '', alt: altLabel(other.track.alt_m), speed: speedLabel(other.track.gs_mps) }));
  if (me && a.parties && !a.parties.includes(me)) lines.push(t('alert.parties', { parties: a.parties.join(', ') }));
  return lines;
}

// The advisory's vertical trend of the other side, in the reader's language.
function verticalText(v) {
  return v ? t(`vertical.${v}`) : '';
}
