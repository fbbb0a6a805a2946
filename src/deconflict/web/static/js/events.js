// The party's event stream: SSE read with fetch() so that the token goes in the
// Authorization header (EventSource cannot send it). Reconnects with backoff and
// resumes with Last-Event-ID, so nothing is missed across a drop.

import { token } from './api.js';

const STALL_MS = 60000;

export class EventStream {
  constructor({ onEvent, onState, lastId = 0 }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.lastId = lastId;
    this.stopped = false;
    this.delay = 1000;
    this.controller = null;
    this.wake = null;
    this.lastData = Date.now();
    // The browser knows before TCP does: drop at once when the network goes,
    // and reconnect at once (resuming) when it comes back.
    window.addEventListener('offline', () => this.reconnect());
    window.addEventListener('online', () => this.wake?.());
    // The hub sends a heartbeat at least every few seconds: silence means a dead link.
    setInterval(() => {
      if (this.controller && Date.now() - this.lastData > STALL_MS) this.reconnect();
    }, 5000);
  }

  start() {
    this.stopped = false;
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  // Drop the current connection (the loop reconnects and resumes).
  reconnect() {
    if (this.controller) this.controller.abort();
  }

  async loop() {
    let first = true;
    while (!this.stopped) {
      this.onState(first ? 'connecting' : 'reconnecting');
      first = false;
      try {
        await this.connect();
      } catch (err) {
        if (this.stopped) return;
        if (err && err.status === 401) {
          this.onState('offline', 'token refused');
          return;
        }
      }
      if (this.stopped) return;
      this.onState(navigator.onLine === false ? 'offline' : 'reconnecting', navigator.onLine === false ? 'no network' : '');
      await new Promise((r) => {
        const timer = setTimeout(r, this.delay);
        this.wake = () => { clearTimeout(timer); r(); };
      });
      this.wake = null;
      this.delay = Math.min(this.delay * 2, 10000);
    }
  }

  async connect() {
    this.controller = new AbortController();
    const headers = { Authorization: `Bearer ${token.get()}`, Accept: 'text/event-stream' };
    if (this.lastId) headers['Last-Event-ID'] = String(this.lastId);
    const r = await fetch('/v1/events', { headers, signal: this.controller.signal, cache: 'no-store' });
    if (!r.ok) {
      const err = new Error(`HTTP ${r.status}`);
      err.status = r.status;
      throw err;
    }
    this.lastData = Date.now();
    this.onState('live');
    this.delay = 1000;
    const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.lastData = Date.now();
      buf += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        this.frame(frame);
      }
    }
  }

  frame(text) {
    let id = null;
    let type = 'message';
    const data = [];
    for (const line of text.split('\n')) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
    }
    if (!data.length) return;
    let event;
    try {
      event = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    if (id !== null && /^\d+$/.test(id)) {
      const n = Number(id);
      if (n <= this.lastId) return; // at-least-once: drop repeats
      this.lastId = n;
    }
    event.type = event.type || type;
    this.onEvent(event);
  }
}
