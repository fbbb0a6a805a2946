// Create or amend a notice: draw or type the footprint, altitude band in FT/M/FL,
// UTC window shown as Zulu, addressees from the directory; "Check" is a dry run
// (POST /v1/check); the server's validation errors are shown at their fields.

import { api, ApiError } from './api.js';
import { Drawer } from './draw.js';
import { applyStatic, t } from './i18n.js';
import { CONFLICT_RED, fromInputUtc, h, KINDS, kindText, toInputUtc, windowText } from './util.js';

// A text that follows the language: its key is kept on the element (see i18n.applyStatic).
const tx = (key) => ({ 'data-i18n': key });
import { overlapBand, overlapWindow } from './map.js';

const SHAPES = [['Polygon', 'shape.polygon_name'], ['Point', 'shape.circle_name'], ['LineString', 'shape.corridor_name']];

export class Editor {
  constructor({ panel, mapView, state, onSaved, onClose }) {
    this.panel = panel;
    this.mv = mapView;
    this.state = state;
    this.onSaved = onSaved;
    this.onClose = onClose;
    this.drawer = new Drawer(mapView, { onChange: (d) => this.fromDrawing(d) });
    this.notice = null;
    this.checkLayerIds = [];
  }

  open(notice = null) {
    this.notice = notice;
    this.render();
    const v = notice?.volumes?.[0];
    if (v) {
      const g = v.geometry;
      const pts = g.type === 'Point' ? [g.coordinates] : g.type === 'LineString' ? g.coordinates : g.coordinates[0].slice(0, -1);
      this.drawer.set(g.type, pts.map(([lon, lat]) => [lat, lon]), v.radius_m);
      this.fromDrawing({ shape: g.type, points: this.drawer.points, radius: v.radius_m });
    } else {
      this.drawer.clear();
    }
    this.field('title').focus();
  }

  close() {
    this.drawer.clear();
    this.clearCheck();
    this.notice = null;
    this.onClose?.();
  }

  field(name) {
    return this.panel.querySelector(`[name="${name}"]`);
  }

  render() {
    const n = this.notice;
    const v = n?.volumes?.[0];
    const now = new Date();
    const start = v ? new Date(v.time_start) : new Date(Math.ceil(now.getTime() / 3600e3) * 3600e3);
    const end = v ? new Date(v.time_end) : new Date(start.getTime() + 3 * 3600e3);
    const shape = v?.geometry.type || 'Polygon';
    const others = this.state.parties.filter((p) => p.id !== this.state.me);
    const addressed = new Set(n?.addressees || []);
    const err = (path) => h('div', { class: 'field-error', 'data-path': path, role: 'alert' });
    const alt = (which, a) => h('fieldset', {},
      h('legend', tx(`editor.alt_${which}`), t(`editor.alt_${which}`)),
      h('div', { class: 'grid3' },
        h('div', {}, h('label', { for: `f-${which}-value`, ...tx('editor.value') }, t('editor.value')),
          h('input', { id: `f-${which}-value`, name: `${which}_value`, type: 'number', step: 'any', required: true, value: a ? a.value : which === 'lower' ? 0 : 10000 })),
        h('div', {}, h('label', { for: `f-${which}-units`, ...tx('editor.units') }, t('editor.units')),
          select(`f-${which}-units`, `${which}_units`, [['FT', 'FT'], ['M', 'M'], ['FL', 'FL']], a?.units || 'FT')),
        h('div', {}, h('label', { for: `f-${which}-ref`, ...tx('editor.reference') }, t('editor.reference')),
          select(`f-${which}-ref`, `${which}_ref`, [['AMSL', 'AMSL'], ['W84', 'W84']], a?.reference && a.reference !== 'STD' ? a.reference : 'AMSL'))),
      err(`volumes[0].altitude_${which}`));

    const heading = n ? t('editor.amend_title', { title: n.title || n.id, v: n.version, next: n.version + 1 }) : t('btn.new');
    const form = h('form', { class: 'editor', novalidate: true, 'aria-labelledby': 'editor-heading' },
      h('h3', { id: 'editor-heading', dir: 'auto' }, heading),
      h('div', { class: 'field-error', 'data-path': '', role: 'alert', id: 'editor-general' }),
      h('div', { class: 'grid' },
        h('div', {}, h('label', { for: 'f-kind', ...tx('editor.kind') }, t('editor.kind')), select('f-kind', 'kind', KINDS.map((k) => [k, kindText(k), `kind.${k}`]), n?.kind || 'air_activity'), err('kind')),
        h('div', {}, h('label', { for: 'f-priority', ...tx('editor.priority') }, t('editor.priority')), h('input', { id: 'f-priority', name: 'priority', type: 'number', step: '1', value: n?.priority ?? 0 }), err('priority'))),
      h('label', { for: 'f-title', ...tx('editor.title') }, t('editor.title')),
      h('input', { id: 'f-title', name: 'title', required: true, dir: 'auto', value: n?.title || '' }), err('title'),
      h('label', { for: 'f-remarks', ...tx('editor.remarks') }, t('editor.remarks')),
      h('textarea', { id: 'f-remarks', name: 'remarks', rows: 2, dir: 'auto' }, n?.remarks || ''), err('remarks'),
      h('fieldset', {}, h('legend', tx('editor.addressees'), t('editor.addressees')),
        h('div', { class: 'checks' },
          h('label', {}, h('input', { type: 'checkbox', name: 'addr', value: '*', checked: addressed.has('*') }), h('span', tx('addr.every'), t('addr.every'))),
          others.map((p) => h('label', { title: p.name }, h('input', { type: 'checkbox', name: 'addr', value: p.id, checked: addressed.has(p.id) }), p.id))),
        err('addressees')),
      h('fieldset', {}, h('legend', tx('editor.footprint'), t('editor.footprint')),
        h('div', { class: 'checks', role: 'radiogroup', 'aria-label': t('editor.shape'), 'data-i18n-attr': 'aria-label:editor.shape' },
          SHAPES.map(([val, key]) => h('label', {}, h('input', { type: 'radio', name: 'shape', value: val, checked: shape === val }), h('span', tx(key), t(key))))),
        h('div', { class: 'buttons' },
          h('button', { type: 'button', id: 'f-draw', onclick: () => this.draw(), ...tx('editor.draw') }, t('editor.draw'))),
        h('label', { for: 'f-coords', ...tx('editor.points') }, t('editor.points')),
        h('textarea', { id: 'f-coords', name: 'coords', rows: 4, class: 'mono', dir: 'ltr', spellcheck: 'false', oninput: () => this.fromText() }),
        err('volumes[0].geometry'),
        h('label', { for: 'f-radius', id: 'f-radius-label' }, t('editor.radius')),
        h('input', { id: 'f-radius', name: 'radius', type: 'number', min: 0, step: 'any', value: v?.radius_m || 5000, oninput: () => this.fromText() }),
        err('volumes[0].radius_m')),
      alt('lower', v?.altitude_lower), alt('upper', v?.altitude_upper),
      h('fieldset', {}, h('legend', tx('editor.window'), t('editor.window')),
        h('div', { class: 'grid' },
          h('div', {}, h('label', { for: 'f-start', ...tx('editor.start') }, t('editor.start')),
            h('input', { id: 'f-start', name: 'start', type: 'text', placeholder: 'YYYY-MM-DD HH:MMZ', spellcheck: 'false', class: 'mono', dir: 'ltr', required: true, value: toInputUtc(start), oninput: () => this.zuluPreview() }), err('volumes[0].time_start')),
          h('div', {}, h('label', { for: 'f-end', ...tx('editor.end') }, t('editor.end')),
            h('input', { id: 'f-end', name: 'end', type: 'text', placeholder: 'YYYY-MM-DD HH:MMZ', spellcheck: 'false', class: 'mono', dir: 'ltr', required: true, value: toInputUtc(end), oninput: () => this.zuluPreview() }), err('volumes[0].time_end'))),
        h('div', { class: 'muted zulu', id: 'f-zulu' }),
        h('label', { for: 'f-deadline', ...tx('editor.deadline') }, t('editor.deadline')),
        h('input', { id: 'f-deadline', name: 'deadline', type: 'text', placeholder: 'YYYY-MM-DD HH:MMZ', spellcheck: 'false', class: 'mono', dir: 'ltr', value: n?.ack_deadline ? toInputUtc(n.ack_deadline) : '' }),
        err('ack_deadline')),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'f-check', onclick: () => this.submit(true), ...tx('editor.check') }, t('editor.check')),
        h('button', { type: 'submit', class: 'primary', id: 'f-send', ...tx(n ? 'editor.send_amend' : 'editor.send') }, t(n ? 'editor.send_amend' : 'editor.send')),
        h('button', { type: 'button', onclick: () => this.close(), ...tx('editor.close') }, t('editor.close'))),
      h('div', { class: 'check-result', id: 'f-check-result', 'aria-live': 'polite' }));
    form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(false); });
    form.addEventListener('change', (e) => {
      if (e.target.name === 'shape') this.fromText();
      if (e.target.name?.endsWith('_units')) this.refs();
    });
    this.panel.replaceChildren(form);
    this.refs();
    this.zuluPreview();
    this.shapeLabels();
  }

  // A new language: the labels change, what was typed stays.
  relabel() {
    applyStatic(this.panel);
    const n = this.notice;
    this.panel.querySelector('#editor-heading').textContent = n ? t('editor.amend_title', { title: n.title || n.id, v: n.version, next: n.version + 1 }) : t('btn.new');
    this.zuluPreview();
    this.shapeLabels();
  }

  refs() {
    for (const which of ['lower', 'upper']) {
      const fl = this.field(`${which}_units`).value === 'FL';
      this.field(`${which}_ref`).disabled = fl;
    }
  }

  zuluPreview() {
    const s = fromInputUtc(this.field('start').value);
    const e = fromInputUtc(this.field('end').value);
    this.panel.querySelector('#f-zulu').textContent = s && e && !Number.isNaN(new Date(s).getTime()) && !Number.isNaN(new Date(e).getTime()) ? windowText(s, e) : '';
  }

  shape() {
    return this.panel.querySelector('input[name="shape"]:checked')?.value || 'Polygon';
  }

  shapeLabels() {
    const s = this.shape();
    const r = this.field('radius');
    const label = this.panel.querySelector('#f-radius-label');
    r.disabled = s === 'Polygon';
    label.textContent = t(s === 'LineString' ? 'editor.half_width' : s === 'Point' ? 'editor.radius' : 'editor.radius_none');
  }

  draw() {
    this.drawer.start(this.shape(), Number(this.field('radius').value) || 0);
  }

  fromDrawing({ shape, points, radius }) {
    const radio = this.panel.querySelector(`input[name="shape"][value="${shape}"]`);
    if (radio) radio.checked = true;
    this.field('coords').value = points.map(([lat, lon]) => `${lat}, ${lon}`).join('\n');
    if (shape === 'Point' && radius) this.field('radius').value = radius;
    this.shapeLabels();
  }

  fromText() {
    const pts = this.field('coords').value.split('\n').map((line) => line.trim()).filter(Boolean)
      .map((line) => line.split(/[\s,;]+/).map(Number)).filter((p) => p.length >= 2 && p.every(Number.isFinite));
    this.shapeLabels();
    this.drawer.set(this.shape(), pts, Number(this.field('radius').value) || 0);
  }

  document() {
    const shape = this.shape();
    this.fromText();
    const geometry = this.drawer.geometry() || { type: shape, coordinates: [] };
    const altitude = (which) => {
      const units = this.field(`${which}_units`).value;
      const raw = this.field(`${which}_value`).value;
      const a = { value: raw === '' ? null : Number(raw), units };
      if (units !== 'FL') a.reference = this.field(`${which}_ref`).value;
      return a;
    };
    const volume = {
      geometry,
      altitude_lower: altitude('lower'),
      altitude_upper: altitude('upper'),
      time_start: fromInputUtc(this.field('start').value),
      time_end: fromInputUtc(this.field('end').value),
    };
    if (shape !== 'Polygon') volume.radius_m = Number(this.field('radius').value) || 0;
    const addressees = [...this.panel.querySelectorAll('input[name="addr"]:checked')].map((c) => c.value);
    const doc = {
      kind: this.field('kind').value,
      title: this.field('title').value.trim(),
      remarks: this.field('remarks').value,
      priority: Number(this.field('priority').value) || 0,
      addressees: addressees.includes('*') ? ['*'] : addressees,
      volumes: [volume, ...(this.notice?.volumes?.slice(1) || [])],
    };
    const deadline = fromInputUtc(this.field('deadline').value);
    if (deadline) doc.ack_deadline = deadline;
    return doc;
  }

  clearErrors() {
    for (const el of this.panel.querySelectorAll('.field-error')) el.textContent = '';
    for (const el of this.panel.querySelectorAll('.invalid')) el.classList.remove('invalid');
  }

  // Put each {path, message} next to the field whose path is the longest prefix.
  showErrors(err) {
    const slots = [...this.panel.querySelectorAll('.field-error[data-path]')];
    const general = this.panel.querySelector('#editor-general');
    const lines = [];
    for (const e of err.errors) {
      const path = String(e.path || '').replace(/^body\.?/, '');
      let best = null;
      for (const s of slots) {
        const p = s.dataset.path;
        if (p && (path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) && (!best || p.length > best.dataset.path.length)) best = s;
      }
      const text = `${path}: ${e.message}`;
      if (best) {
        best.textContent = best.textContent ? `${best.textContent}; ${text}` : text;
        best.previousElementSibling?.classList?.add('invalid');
      } else {
        lines.push(text);
      }
    }
    general.textContent = [err.errors.length ? null : err.message, ...lines].filter(Boolean).join('; ');
    const first = [...slots].find((s) => s.textContent);
    (first || general).scrollIntoView({ block: 'nearest' });
  }

  clearCheck() {
    for (const id of this.checkLayerIds) this.mv.removeConflict(id);
    this.checkLayerIds = [];
  }

  async submit(dryRun) {
    this.clearErrors();
    this.clearCheck();
    const doc = this.document();
    const result = this.panel.querySelector('#f-check-result');
    result.replaceChildren();
    try {
      let answer;
      if (dryRun) answer = await api('POST', '/v1/check', doc);
      else if (this.notice) answer = await api('PUT', `/v1/notices/${this.notice.id}`, { ...doc, version: this.notice.version });
      else answer = await api('POST', '/v1/notices', doc);
      const conflicts = answer.conflicts || [];
      if (dryRun) {
        conflicts.forEach((c, i) => {
          const id = `check-${i}`;
          this.checkLayerIds.push(id);
          this.mv.showConflict({ ...c, id });
        });
        result.replaceChildren(h('p', { 'data-testid': 'check-result' }, conflicts.length
          ? t('check.conflicts', { n: conflicts.length }) : t('check.none')),
        // issue 15: who else will read it, told before it is sent
        ...(answer.relayed || []).map((r) => h('p', { class: 'meta', 'data-testid': 'relayed-note', dir: 'auto' }, t('check.relayed', { addressee: r.addressee, relay: r.relay }))),
        ...conflicts.map((c) => h('div', { class: 'item', style: `--c:${CONFLICT_RED}` },
          h('h3', { dir: 'auto' }, this.state.notices.get(c.other.notice)?.title ? t('conflict.their_titled', { party: c.other.issuer, title: this.state.notices.get(c.other.notice).title }) : t('conflict.their_kind', { party: c.other.issuer, kind: kindText(c.other.kind) })),
          ...(c.overlaps || []).map((o) => h('div', { class: 'meta' }, `${overlapBand(o)} · ${overlapWindow(o)}`)))));
        return;
      }
      this.drawer.clear();
      this.onSaved?.(answer, Boolean(this.notice));
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status === 409 && err.problem.current_version) {
          err.errors = [{ path: '', message: t('editor.amended_first', { v: err.problem.current_version }) }];
        }
        this.showErrors(err);
      } else {
        this.showErrors({ errors: [], message: String(err) });
      }
    }
  }
}

function select(id, name, options, value) {
  return h('select', { id, name }, options.map(([v, text, key]) => h('option', { value: v, selected: v === value, 'data-i18n': key }, text)));
}
