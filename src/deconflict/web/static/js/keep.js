// Panels are redrawn from state on every event; what the officer is typing must
// survive that. Each field that holds typing carries `data-keep="<stable key>"`
// (e.g. "ack:<notice id>"): its value, the focus and the caret are carried over
// to the field of the same key in the redrawn panel.

const drafts = new Map(); // key -> text typed into a field that has since gone

export function keepTyping(box, redraw) {
  const active = document.activeElement;
  const focused = active && box.contains(active) ? active.dataset?.keep : null;
  const caret = focused ? [active.selectionStart, active.selectionEnd, active.selectionDirection] : null;
  for (const el of box.querySelectorAll('[data-keep]')) {
    if (el.value) drafts.set(el.dataset.keep, el.value);
    else drafts.delete(el.dataset.keep);
  }
  redraw();
  for (const el of box.querySelectorAll('[data-keep]')) {
    const text = drafts.get(el.dataset.keep);
    if (text !== undefined && !el.value) el.value = text;
    el.addEventListener('input', () => {
      if (el.value) drafts.set(el.dataset.keep, el.value);
      else drafts.delete(el.dataset.keep);
    });
  }
  if (focused) {
    const el = box.querySelector(`[data-keep="${CSS.escape(focused)}"]`);
    if (el) {
      el.focus({ preventScroll: true });
      if (caret && caret[0] !== null) el.setSelectionRange(caret[0], caret[1], caret[2] || 'none');
    }
  }
}

// Forget a draft once it was sent.
export function dropDraft(key) {
  drafts.delete(key);
}
