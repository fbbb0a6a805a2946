// Checking a shown notice against the hub's ledger, in the browser (issue 12).
//
// The hub serves each notice with the index of the ledger entry that records it. Here
// the page fetches that entry, its inclusion proof and a signed tree head, and checks,
// with WebCrypto only: that the entry hashes into the head's root (RFC 9162 inclusion,
// SHA-256), that the head is signed by the hub's Ed25519 key, and that the entry says
// what the card shows (title, remarks, kind, priority, addressees, volumes, deadline,
// issuer, state). The hub key is pinned in this browser on first use (and its
// fingerprint shown, to compare with the one the other side reads out); a key that
// changes afterwards is a warning. What cannot be checked here is said so, never
// passed over: a browser without Ed25519 gets "signature not checked in the browser".

import { api } from './api.js';

const PIN = 'deconflict.hubkey';
const FIELDS = ['kind', 'title', 'remarks', 'priority', 'addressees', 'volumes', 'ack_deadline'];
const enc = new TextEncoder();

// base64url without padding, as the hub writes it
const b64d = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
const b64e = (b) => btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
async function sha256(...parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let at = 0;
  for (const p of parts) { buf.set(p, at); at += p.length; }
  return new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
}
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
export async function inclusionRoot(leaf, index, size, path) {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  const one = Uint8Array.of(1);
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(one, p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(one, r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// RFC 8785 for the values a tree head holds (text and integers): sorted keys, and
// ECMAScript's own number and string forms, which is what RFC 8785 prescribes.
export function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function equal(a, b) {
  if (a === b) return true;
  if ((a === null || a === undefined || a === '') && (b === null || b === undefined || b === '')) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && equal(a[k], b[k]));
}

// true: verified; false: does not verify; null: this browser has no Ed25519 (not checked)
async function verifyHead(head, publicKey) {
  const statement = { type: 'tree_head', tree_size: head.tree_size, root_hash: head.root_hash, timestamp: head.timestamp, key_id: head.key_id };
  let key;
  try {
    key = await crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  } catch {
    return null;
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, key, b64d(head.signature), enc.encode(canonical(statement)));
}

let headCache = null; // one signed head (and the key) for all the cards of a render
async function signedHead() {
  if (headCache && Date.now() - headCache.at < 5000) return headCache.value;
  const value = Promise.all([api('GET', '/v1/ledger/key'), api('GET', '/v1/ledger/head')]);
  headCache = { at: Date.now(), value };
  return value;
}

// The result: {ok, index, size, signature: 'verified'|'unchecked', fingerprint, problems}
export async function checkNotice(n) {
  const index = n.ledger_index;
  if (!Number.isInteger(index)) return { ok: false, index, problems: ['no ledger entry named'] };
  const [key, head] = await signedHead();
  const problems = [];
  const pinned = localStorage.getItem(PIN);
  if (!pinned) localStorage.setItem(PIN, key.public_key);
  else if (pinned !== key.public_key) problems.push('the hub key changed since this browser pinned it');
  const publicKey = b64d(key.public_key);
  const keyId = b64e(await sha256(publicKey));
  if (keyId !== head.key_id) problems.push('the head is signed by another key');
  const signed = await verifyHead(head, publicKey);
  if (signed === false) problems.push('the head signature does not verify');
  const size = head.tree_size;
  if (index >= size) return { ok: false, index, size, problems: [...problems, 'the entry is beyond the signed head'] };
  const [page, proof] = await Promise.all([
    api('GET', `/v1/ledger/entries?start=${index}&end=${index + 1}`),
    api('GET', `/v1/ledger/proof/inclusion?index=${index}&tree_size=${size}`),
  ]);
  const item = page.entries[0];
  if (!item || typeof item.entry !== 'string') return { ok: false, index, size, problems: [...problems, 'the entry is not readable'] };
  const leaf = await sha256(Uint8Array.of(0), enc.encode(item.entry));
  const root = await inclusionRoot(leaf, index, size, proof.proof.map(b64d));
  if (!root || !same(root, b64d(head.root_hash))) problems.push('the entry is not in the signed log');
  const entry = JSON.parse(item.entry);
  if (entry.type !== 'notice_version' || entry.notice_id !== n.id || entry.version !== n.version) {
    problems.push('the entry is about another notice version');
  } else {
    const content = entry.content || {};
    for (const f of FIELDS) if (!equal(n[f], content[f])) problems.push(`${f} differs`);
    if (n.issuer !== entry.issuer) problems.push('issuer differs');
    if (n.state !== 'expired' && n.state !== (entry.state || 'active')) problems.push('state differs');
  }
  return { ok: !problems.length, index, size, signature: signed ? 'verified' : 'unchecked', fingerprint: key.fingerprint, problems };
}
