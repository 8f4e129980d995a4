// veilgate recorder (GET /v1/recorder.js): rrweb's recorder plus the transport. Loaded by the
// loader only once recording is allowed; it registers itself and waits to be started.
import { record } from '@rrweb/record';
import { captureErrors } from './errors.js';

const w = window;
const VERSION = '1';
const IDLE_MS = 15 * 60 * 1000;
const MAX_MS = 60 * 60 * 1000;
const FLUSH_MS = 2000;
const FLUSH_EVENTS = 50;
// keepalive requests share a 64 KB budget per page.
const KEEPALIVE_MAX = 60 * 1024;
const QUEUE_KEY = 'veilgate_queue';
const QUEUE_MAX_BYTES = 1024 * 1024;
const QUEUE_MAX_ITEMS = 200;
// A queued chunk older than this is dropped unsent (docs/SDK.md): a visitor who never comes
// back must not leave recordings in the site's storage indefinitely.
const QUEUE_MAX_AGE_MS = 24 * 3600 * 1000;
const VISITOR_KEY = 'veilgate_vid';
const SESSION_KEY = 'veilgate_session';
const YEAR13 = 395 * 24 * 3600;

const safe = (f) => (...a) => { try { return f(...a); } catch (e) { /* a failing SDK leaves the site working */ } };
const store = (s, k, v) => { try { return v === undefined ? s.getItem(k) : v === null ? s.removeItem(k) : s.setItem(k, v); } catch (e) { return null; } };
const L = () => { try { return w.localStorage; } catch (e) { return null; } };
const S = () => { try { return w.sessionStorage; } catch (e) { return null; } };
const rid = (p) => {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return p + Array.from(b, (x) => x.toString(36).padStart(2, '0')).join('').slice(0, 24);
};

let offErrors = null;
let ctx = null, stopRec = null, buf = [], timer = 0, sending = false, dead = false, backoff = 0, retryAt = 0;

const visitor = () => {
  const m = document.cookie.match(/(?:^|; )veilgate_vid=([A-Za-z0-9_-]{8,64})/);
  let v = (m && m[1]) || store(L(), VISITOR_KEY);
  if (!v || !/^[A-Za-z0-9_-]{8,64}$/.test(v)) v = rid('v_');
  store(L(), VISITOR_KEY, v);
  document.cookie = `veilgate_vid=${v}; Max-Age=${YEAR13}; Path=/; SameSite=Lax` + (location.protocol === 'https:' ? '; Secure' : '');
  return v;
};

// One session per tab and site (sessionStorage survives reloads and navigations in the tab),
// rotated after 15 min idle or 60 min in all, like the worker.
const session = (now) => {
  let s = null;
  try { s = JSON.parse(store(S(), SESSION_KEY) || 'null'); } catch (e) { s = null; }
  const c = ctx.config.session || {};
  const idle = (c.idle_secs || 0) * 1000 || IDLE_MS, max = (c.max_secs || 0) * 1000 || MAX_MS;
  let fresh = false;
  if (!s || typeof s.id !== 'string' || now - s.last > idle || now - s.start > max) {
    s = { id: rid('s_'), seq: 0, start: now, last: now };
    fresh = true;
  }
  return { s, fresh };
};
const saveSession = (s) => store(S(), SESSION_KEY, JSON.stringify(s));

// Chunks without a time come from an SDK that queued raw page URLs: never sent, never kept.
const fresh = (x) => x && typeof x.t === 'number' && Date.now() - x.t < QUEUE_MAX_AGE_MS;
const readQueue = () => { try { const q = JSON.parse(store(L(), QUEUE_KEY) || '[]'); return Array.isArray(q) ? q.filter(fresh) : []; } catch (e) { return []; } };
const writeQueue = (q) => {
  // Bounded: the oldest chunks go first when the site's storage is tight.
  let text = JSON.stringify(q);
  while (q.length && (q.length > QUEUE_MAX_ITEMS || text.length > QUEUE_MAX_BYTES)) { q.shift(); text = JSON.stringify(q); }
  if (store(L(), QUEUE_KEY, text) === null && q.length) {
    while (q.length > 1) { q.shift(); if (store(L(), QUEUE_KEY, JSON.stringify(q)) !== null) return; }
  }
};

// The queue outlives the page in localStorage: page URLs go there with every query value
// and fragment masked (`?reset_token=…`, `#access_token=…`), parameter names kept, lengths
// kept, as the worker masks them when no allowlist keeps a value.
const star = (v) => v.replace(/[^]/gu, '*');
const maskParams = (p) => p.split('&').map((kv) => { const i = kv.indexOf('='); return i < 0 ? star(kv) : kv.slice(0, i + 1) + star(kv.slice(i + 1)); }).join('&');
const maskUrl = (u) => {
  if (typeof u !== 'string') return u;
  const h = u.indexOf('#'), f = h < 0 ? '' : u.slice(h + 1);
  const a = h < 0 ? u : u.slice(0, h), q = a.indexOf('?');
  return (q < 0 ? a : a.slice(0, q + 1) + maskParams(a.slice(q + 1))) + (h < 0 ? '' : '#' + (f.includes('=') ? maskParams(f) : star(f)));
};

// Move the buffered events into one numbered chunk in the queue. Synchronous, so it also
// works from pagehide.
const seal = () => {
  if (!buf.length || !ctx) return;
  const now = Date.now();
  const { s, fresh } = session(now);
  if (fresh && !buf.some((e) => e.type === 2)) {
    // A new session needs its own full snapshot to replay: take one and seal with it.
    saveSession(s);
    safe(() => record.takeFullSnapshot(true))();
  }
  const events = buf; buf = [];
  for (const e of events) if (e.type === 4 && e.data) e.data.href = maskUrl(e.data.href);
  const body = JSON.stringify({
    session: s.id, visitor: ctx.visitor, seq: s.seq, platform: 'web', page: maskUrl(location.href),
    sdk: { name: 'veilgate-web', version: VERSION }, consent: ctx.consent, events,
  });
  s.seq += 1; s.last = now;
  saveSession(s);
  const q = readQueue();
  q.push({ k: ctx.key, e: ctx.endpoint, s: s.id, n: s.seq - 1, t: now, b: body });
  writeQueue(q);
};

const gzip = async (text) => {
  if (typeof CompressionStream !== 'function') return null;
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
};

// A site admitted only by a wildcard is answered without credentials, so its beacons must
// go without them for the SDK to read the replies (the config says which).
const cred = () => (ctx && ctx.config.credentials === false ? 'omit' : 'include');

const drop = (item) => writeQueue(readQueue().filter((x) => !(x.s === item.s && x.n === item.n)));

// Send queued chunks one at a time, oldest first, so seqs arrive in order.
const pump = async () => {
  if (sending || dead || !ctx) return;
  sending = true;
  try {
    for (;;) {
      if (Date.now() < retryAt) { later(retryAt - Date.now()); break; }
      const item = readQueue()[0];
      if (!item) break;
      const gz = await gzip(item.b).catch(() => null);
      const url = `${item.e}/v1/ingest/${encodeURIComponent(item.k)}` + (gz ? '?enc=gzip' : '');
      const body = gz || item.b;
      let r;
      try {
        r = await fetch(url, { method: 'POST', body, credentials: cred(), keepalive: body.length < KEEPALIVE_MAX, headers: { 'Content-Type': 'text/plain' } });
      } catch (e) { r = null; }
      const st = r ? r.status : 0;
      if (st >= 200 && st < 300) { drop(item); backoff = 0; continue; }
      if (st === 401 || st === 403) { dead = true; store(L(), QUEUE_KEY, null); halt(); break; }
      if (st === 0 || st === 429 || st === 503 || st >= 500) {
        // Same seq again later: the worker stores a retried seq once.
        const ra = r && Number(r.headers.get('Retry-After'));
        backoff = Math.min(60000, backoff ? backoff * 2 : 1000);
        retryAt = Date.now() + (ra > 0 ? ra * 1000 : backoff * (0.5 + Math.random()));
        continue;
      }
      drop(item); // 400/413/415: this chunk can never be accepted; keep the rest flowing.
    }
  } finally { sending = false; }
};
let retryTimer = 0;
const later = (ms) => { clearTimeout(retryTimer); retryTimer = setTimeout(safe(pump), Math.max(50, ms)); };

const flush = () => { seal(); return pump(); };

// On pagehide there is no time for compression: send the plain body with keepalive. The
// chunk stays queued; if it did arrive, the next load's resend is acknowledged and stored once.
const unload = safe(() => {
  seal();
  if (dead) return;
  let budget = KEEPALIVE_MAX;
  for (const item of readQueue()) {
    if (item.b.length > budget) break;
    budget -= item.b.length;
    try {
      fetch(`${item.e}/v1/ingest/${encodeURIComponent(item.k)}`, { method: 'POST', body: item.b, credentials: cred(), keepalive: true, headers: { 'Content-Type': 'text/plain' } }).catch(() => {});
    } catch (e) { break; }
  }
});

const onVis = safe(() => { if (document.visibilityState === 'hidden') unload(); });

const halt = () => {
  if (stopRec) safe(stopRec)();
  stopRec = null;
  if (offErrors) offErrors();
  offErrors = null;
  clearInterval(timer);
  w.removeEventListener('pagehide', unload);
  document.removeEventListener('visibilitychange', onVis);
};

const start = safe((c) => {
  if (stopRec || dead) { if (ctx) ctx.consent = c.consent; return; }
  ctx = Object.assign({}, c, { visitor: visitor() });
  const r = (c.config.masking && c.config.masking.record) || {};
  const o = Object.assign({}, r, (c.options && c.options.record) || {});
  // Never less private than the project: the page may only mask more.
  const forms = !!(o.forms && r.forms);
  stopRec = record({
    emit: safe((e) => {
      buf.push(e);
      if (buf.length >= FLUSH_EVENTS) flush();
    }),
    maskAllInputs: !forms,
    maskInputOptions: { password: true },
    maskTextClass: /^(sl-mask|rr-mask)$/,
    maskTextSelector: '.sl-mask, [data-sl="mask"], [data-recording-mask]',
    blockClass: /^(sl-exclude|rr-block)$/,
    blockSelector: '[data-sl="exclude"]',
    ignoreClass: 'rr-ignore',
    recordCanvas: !!(o.canvas && r.canvas),
    collectFonts: false,
    inlineImages: false,
    slimDOMOptions: 'all',
  }) || null;
  if (stopRec) offErrors = captureErrors(record.addCustomEvent);
  timer = setInterval(safe(flush), FLUSH_MS);
  w.addEventListener('pagehide', unload);
  document.addEventListener('visibilitychange', onVis);
  for (const [name, props] of (c.pending || []).splice(0)) track(name, props);
  pump();
});

const stop = safe((discard) => {
  halt();
  if (discard) { buf = []; store(L(), QUEUE_KEY, null); } else flush();
});

const track = safe((name, props) => {
  if (!stopRec || typeof name !== 'string') return;
  record.addCustomEvent(name.slice(0, 100), props && typeof props === 'object' ? props : {});
});

w.__veilgateRecorder = {
  start, stop, track,
  flush: () => flush().catch(() => {}),
  sessionId: () => { try { return JSON.parse(store(S(), SESSION_KEY) || 'null').id; } catch (e) { return null; } },
};
// A queue left by an earlier load of this site goes out once the loader starts us.
