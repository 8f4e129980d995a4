// The viewer: one page for replay services (read token) and compliance officers (audit
// token). The token lives in sessionStorage only and travels only as `Authorization: Bearer`;
// every request goes to this worker (the page's CSP allows nothing else).
import rrwebPlayer from 'rrweb-player';
import 'rrweb-player/dist/style.css';
import './viewer.css';

const TOKEN = 'veilgate_viewer_token';
const $ = (id) => document.getElementById(id);
const DAY = 86400000;
const enc = encodeURIComponent;

const state = { key: '', cursor: null, range: null, player: null, current: null, events: null, time: 0 };

function status(msg, error = false) {
  const s = $('status');
  s.textContent = msg;
  s.className = error ? 'error' : '';
}

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

const svgNS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// One request: the token only in the Authorization header, never in the URL.
async function api(path, accept = 'application/json') {
  const token = sessionStorage.getItem(TOKEN);
  const r = await fetch(path, { headers: { Authorization: 'Bearer ' + token, Accept: accept }, credentials: 'omit', cache: 'no-store' });
  return r;
}

async function json(r) {
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const msg = body && body.error ? body.error.message : 'HTTP ' + r.status;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return body;
}

function range() {
  const to = $('to').valueAsNumber;
  const from = $('from').valueAsNumber;
  // Dates are UTC midnights; `to` covers its whole day.
  return { from: isNaN(from) ? Date.now() - 7 * DAY : from, to: isNaN(to) ? Date.now() + 1 : to + DAY - 1 };
}

function base() { return '/v1/projects/' + enc(state.key); }

// ---- sessions (read token) -------------------------------------------------------------

async function loadSessions(first) {
  const { from, to } = state.range;
  let q = `?from=${from}&to=${to}&limit=50`;
  if (!first && state.cursor) q += '&cursor=' + enc(state.cursor);
  showSessions(await json(await api(base() + '/sessions' + q)), first);
}

const COLS = 10;

function fmtDuration(ms) {
  const s = Math.round(ms / 1000);
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
}

// The summary kept with the day index (absent on entries written before summaries existed).
function summaryCells(sum) {
  if (!sum) return ['—', '—', '—', '—', '—', '—', '—'];
  const d = sum.device;
  const c = sum.consent;
  return [
    fmtTime(sum.started_at),
    fmtDuration(sum.duration_ms),
    sum.pages + ' / ' + sum.events,
    d ? [d.browser, d.os, d.class].join(' · ') : '—',
    sum.platform,
    c ? (c.store ? 'stored' : 'dropped') + ': ' + c.reason : '—',
    sum.status === 'active' ? 'live' : 'complete',
  ];
}

function showSessions(body, first) {
  if (first) $('rows').textContent = '';
  for (const s of body.sessions) {
    const tr = el('tr', null, { 'data-row': s.session });
    const code = el('td');
    code.append(el('code', s.session));
    tr.append(code, el('td', s.day));
    for (const v of summaryCells(s.summary)) tr.append(el('td', v));
    const b = el('button', 'Replay', { type: 'button', 'data-session': s.session });
    b.addEventListener('click', () => openSession(s.session).catch((e) => status(e.message, true)));
    tr.append(el('td'));
    tr.lastChild.append(b);
    $('rows').append(tr);
  }
  if (first && body.sessions.length === 0) {
    const tr = el('tr');
    tr.append(el('td', 'No sessions in this range.', { colspan: String(COLS) }));
    $('rows').append(tr);
  }
  state.cursor = body.cursor;
  $('more').hidden = !body.cursor;
}

function fmtTime(ms) { return typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : String(ms); }

function describe(m) {
  const rows = [];
  const add = (k, v) => { if (v !== undefined && v !== null && v !== '') rows.push([k, v]); };
  add('First beacon', m.created_at != null ? fmtTime(m.created_at) : undefined);
  if (m.created_at != null && m.updated_at != null) add('Beacons over', Math.round((m.updated_at - m.created_at) / 1000) + ' s');
  add('Chunks', m.chunks);
  add('Events', m.events);
  add('Bytes', m.bytes);
  add('Pages', Array.isArray(m.pages) ? m.pages.join(' ') : m.pages);
  add('Device', m.device ? Object.entries(m.device).map(([k, v]) => k + ' ' + v).join(', ') : undefined);
  add('Consent', m.consent ? (m.consent.reason || JSON.stringify(m.consent)) : undefined);
  add('State', isLive(m) ? 'live' : 'complete');
  add('Platform', m.platform);
  add('Segments', Array.isArray(m.segments) ? m.segments.length : undefined);
  return rows;
}

const isLive = (m) => m.status ? m.status === 'active' : !m.complete;

async function openSession(session) {
  state.current = session;
  status('Loading ' + session + '…');
  const path = base() + '/sessions/' + enc(session);
  const m = await json(await api(path));
  $('detail').hidden = false;
  $('detail-title').textContent = 'Session ' + session;
  const dl = $('manifest');
  dl.textContent = '';
  for (const [k, v] of describe(m)) dl.append(el('dt', k), el('dd', String(v)));
  $('reload').hidden = !isLive(m);
  const events = await json(await api(path + '/events'));
  if (state.player) { try { state.player.getReplayer().destroy(); } catch { /* already gone */ } }
  $('player').textContent = '';
  if (!Array.isArray(events) || events.length < 2) {
    status('This session has too few events to replay.', true);
    return;
  }
  state.events = events;
  mountPlayer(null);
  // Offsets are the player's: from the replay's first event.
  const meta = state.player.getMetaData();
  showPanels(events, meta.startTime);
  state.player.goto(meta.endTime - meta.startTime, false);
  status('Session ' + session + ': ' + events.length + ' events.');
}

function mountPlayer(at) {
  if (state.player) { try { state.player.getReplayer().destroy(); } catch { /* already gone */ } }
  $('player').textContent = '';
  const width = Math.min(1024, $('player').clientWidth || 1024);
  // The Replayer renders into an iframe sandboxed without allow-scripts (its default), so a
  // recorded page can never run code here.
  state.player = new rrwebPlayer({ target: $('player'), props: { events: state.events, width, height: Math.round(width * 0.56), autoPlay: false, showWarning: false, mouseTail: false } });
  state.time = 0;
  state.player.addEventListener('ui-update-current-time', ({ payload }) => { state.time = payload; syncPanels(payload); });
  if (at != null) state.player.goto(at, false);
}

// A panel row's time. Going back makes rrweb rebuild its last full snapshot inside the
// existing script-less sandbox, which Chromium reports as a blocked script; a fresh player
// replays forward to the moment instead.
function seek(t) {
  if (!state.player) return;
  if (t < state.time) mountPlayer(t);
  else state.player.goto(t, false);
}

// ---- network and console panels (rrweb plugin events, type 6) --------------------------

// Sessions stored before the plugin-aware masking (issue 12 item 1) have the version digit
// starred by the number detector (`rrweb/network@*`); their payload shape is the same.
const NETWORK = ['rrweb/network@1', 'rrweb/network@*'];
const CONSOLE = ['rrweb/console@1', 'rrweb/console@*'];

const short = (v, n = 200) => {
  const t = typeof v === 'string' ? v : v == null ? '' : JSON.stringify(v);
  return t.length > n ? t.slice(0, n) + '…' : t;
};

// One row per request / console call. Stored data goes in via textContent only.
function panelRows(events, start) {
  const net = [];
  const con = [];
  for (const e of events) {
    if (e.type !== 6 || !e.data || typeof e.data !== 'object') continue;
    const at = e.timestamp - start;
    const p = e.data.payload;
    if (NETWORK.includes(e.data.plugin) && p && Array.isArray(p.requests)) {
      for (const r of p.requests) {
        if (!r || typeof r !== 'object') continue;
        const took = typeof r.endTime === 'number' && typeof r.startTime === 'number' ? Math.round(r.endTime - r.startTime) + ' ms' : '';
        net.push({ at, cells: [String(r.method || 'GET'), r.status == null ? '' : String(r.status), short(r.url, 300), String(r.initiatorType || ''), took],
          detail: [['request headers', r.requestHeaders], ['request body', r.requestBody], ['response headers', r.responseHeaders], ['response body', r.responseBody]] });
      }
    } else if (CONSOLE.includes(e.data.plugin) && p && typeof p === 'object') {
      const args = Array.isArray(p.payload) ? p.payload.map((a) => short(a)).join(' ') : short(p.payload);
      con.push({ at, level: String(p.level || 'log'), cells: [String(p.level || 'log'), args],
        detail: Array.isArray(p.trace) && p.trace.length ? [['trace', p.trace.join('\n')]] : [] });
    }
  }
  // Chunks can arrive out of order; the panels (and their time marks) go by time.
  const byTime = (a, b) => a.at - b.at;
  return { net: net.sort(byTime), con: con.sort(byTime) };
}

// Per panel: its rows in time order, their offsets, and how many the player has passed.
const panels = { network: { trs: [], at: [], k: 0 }, console: { trs: [], at: [], k: 0 } };

function panelTable(id, rows, heads) {
  const box = $(id);
  box.textContent = '';
  box.hidden = rows.length === 0;
  panels[id] = { trs: [], at: rows.map((r) => r.at), k: 0 };
  if (!rows.length) return;
  const table = el('table');
  const head = el('tr');
  for (const h of ['Time', ...heads]) head.append(el('th', h));
  table.append(el('thead'), el('tbody'));
  table.firstChild.append(head);
  for (const r of rows) {
    const tr = el('tr', null, { 'data-offset': String(r.at) });
    if (r.level) tr.className = 'level-' + r.level.replace(/[^a-z]/g, '');
    const go = el('button', fmtOffset(r.at), { type: 'button', class: 'seek', title: 'Go to this moment of the replay' });
    go.addEventListener('click', () => seek(r.at));
    tr.append(el('td'));
    tr.firstChild.append(go);
    r.cells.forEach((c, i) => {
      const td = el('td', c);
      // The last column carries the details (headers, bodies or the trace), folded.
      if (i === r.cells.length - 1 && r.detail.some(([, v]) => v != null && v !== '')) {
        const d = el('details');
        d.append(el('summary', 'details'));
        for (const [k, v] of r.detail) if (v != null && v !== '') d.append(el('div', k + ': ' + short(v, 2000), { class: 'kv' }));
        td.append(d);
      }
      tr.append(td);
    });
    table.lastChild.append(tr);
    panels[id].trs.push(tr);
  }
  box.append(el('h4', heads === NET_HEADS ? 'Network (' + rows.length + ')' : 'Console (' + rows.length + ')'), table);
}

function fmtOffset(ms) {
  const s = Math.max(0, ms) / 1000;
  return Math.floor(s / 60) + ':' + (s % 60).toFixed(1).padStart(4, '0');
}

const NET_HEADS = ['Method', 'Status', 'URL', 'Initiator', 'Took'];

function showPanels(events, start) {
  const { net, con } = panelRows(events, start);
  panelTable('network', net, NET_HEADS);
  panelTable('console', con, ['Level', 'Message']);
  $('panels').hidden = !net.length && !con.length;
  syncPanels(0);
}

// What has happened by the player's time is marked; the latest row of each panel is current.
// The player reports its time every frame while playing: only rows whose mark changes are
// touched (a binary search for how many rows are passed).
function syncPanels(t) {
  $('panels').dataset.time = String(Math.round(t));
  for (const p of Object.values(panels)) {
    let lo = 0, hi = p.at.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (p.at[mid] <= t) lo = mid + 1; else hi = mid; }
    if (lo === p.k) continue;
    if (p.k > 0) p.trs[p.k - 1].removeAttribute('aria-current');
    for (let i = Math.min(lo, p.k); i < Math.max(lo, p.k); i++) p.trs[i].classList.toggle('past', i < lo);
    p.k = lo;
    if (lo > 0) p.trs[lo - 1].setAttribute('aria-current', 'true');
  }
}

// ---- audit (audit token) ---------------------------------------------------------------

const COLORS = ['#2a6fdb', '#17a673', '#e0a100', '#d9480f', '#8f3fd1', '#c2255c', '#0b7285', '#5c940d', '#868e96', '#364fc7'];

function drawChart(report) {
  const series = [];
  const seen = new Map();
  for (const d of report.days) {
    for (const [reason, c] of Object.entries(d.reasons)) {
      for (const outcome of ['stored', 'dropped']) {
        if (!c[outcome]) continue;
        const name = outcome + ': ' + reason;
        if (!seen.has(name)) { seen.set(name, series.length); series.push(name); }
      }
    }
  }
  const W = 760, H = 300, L = 48, B = 40, T = 10;
  const max = Math.max(1, ...report.days.map((d) => d.stored + d.dropped));
  const n = Math.max(1, report.days.length);
  const bw = Math.max(6, Math.min(60, (W - L - 10) / n - 6));
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Stacked bar chart of decisions per UTC day, stored and dropped by reason' });
  root.append(svg('line', { x1: L, y1: H - B, x2: W - 5, y2: H - B, stroke: '#444' }));
  for (const t of [0, 0.5, 1]) {
    const y = H - B - t * (H - B - T);
    root.append(svg('line', { x1: L - 4, y1: y, x2: L, y2: y, stroke: '#444' }));
    const lab = svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end', 'font-size': 11 });
    lab.textContent = String(Math.round(t * max));
    root.append(lab);
  }
  report.days.forEach((d, i) => {
    const x = L + 6 + i * ((W - L - 10) / n);
    let y = H - B;
    const g = svg('g', { class: 'bar', 'data-day': d.day, 'data-total': d.stored + d.dropped });
    for (const name of series) {
      const [outcome, ...rest] = name.split(': ');
      const c = d.reasons[rest.join(': ')];
      const v = c ? c[outcome] || 0 : 0;
      if (!v) continue;
      const h = (v / max) * (H - B - T);
      y -= h;
      const r = svg('rect', { x, y, width: bw, height: h, fill: COLORS[seen.get(name) % COLORS.length], 'data-count': v, 'data-series': name });
      const tip = svg('title');
      tip.textContent = `${d.day} ${name}: ${v}`;
      r.append(tip);
      g.append(r);
    }
    const lab = svg('text', { x: x + bw / 2, y: H - B + 14, 'text-anchor': 'middle', 'font-size': 10 });
    lab.textContent = d.day.slice(5);
    g.append(lab);
    root.append(g);
  });
  $('chart').textContent = '';
  $('chart').append(root);
  const legend = $('legend');
  legend.textContent = '';
  for (const name of series) {
    const li = el('li');
    const sw = el('span');
    sw.style.background = COLORS[seen.get(name) % COLORS.length];
    li.append(sw, name);
    legend.append(li);
  }
  if (report.days.length === 0) $('chart').textContent = 'No audit records in this range.';
}

async function verify() {
  const { from, to } = state.range;
  let r = await api(base() + `/audit/verify?from=${from}&to=${to}`);
  // A large range runs as a job: poll its URL a bounded number of times, spaced out.
  for (let i = 0; r.status === 202 && i < 30; i++) {
    const loc = r.headers.get('Location');
    $('verify').textContent = 'Verifying (running)…';
    await new Promise((res) => setTimeout(res, 2000));
    r = await api(new URL(loc, location.href).pathname);
  }
  const v = await json(r);
  const p = $('verify');
  const list = $('broken');
  list.textContent = '';
  if (v.status === 'running') { p.textContent = 'Verification still running; try again later.'; return; }
  p.className = v.ok ? 'ok' : 'bad';
  p.textContent = v.ok ? `Verified: ${v.chains} chains, ${v.records} records, no break.` : `Broken: ${v.broken.length} chain(s) with a break.`;
  for (const b of v.broken || []) {
    const { chain, index, key, problem, ...rest } = b;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    list.append(el('li', `${chain}: first broken record #${index} (${key}): ${problem}${extra}`));
  }
  for (const a of v.anchor_problems || []) list.append(el('li', 'anchor: ' + JSON.stringify(a)));
}

// The NDJSON of the range, one text per page, following `Link: rel="next"` (bounded).
async function auditPages() {
  const { from, to } = state.range;
  let path = base() + `/audit?from=${from}&to=${to}&limit=1000`;
  const parts = [];
  for (let pages = 0; path && pages < 1000; pages++) {
    const r = await api(path, 'application/x-ndjson');
    if (!r.ok) { await json(r); return null; }
    parts.push(await r.text());
    const link = r.headers.get('Link');
    const m = link && link.match(/<([^>]+)>;\s*rel="next"/);
    const next = m ? new URL(m[1], location.href) : null;
    // Only ever this worker: a Link to elsewhere is not followed.
    path = next && next.origin === location.origin ? next.pathname + next.search : null;
  }
  return parts;
}

async function erasures() {
  const parts = await auditPages();
  if (!parts) return;
  const list = $('erasures');
  list.textContent = '';
  const found = [];
  for (const line of parts.join('\n').split('\n')) {
    if (!line.trim()) continue;
    let r;
    try { r = JSON.parse(line); } catch { continue; }
    if (r && r.kind === 'erasure') found.push(r);
  }
  found.sort((a, b) => b.at - a.at);
  for (const r of found) {
    const li = el('li', null, { 'data-session': String(r.session) });
    li.append(el('code', String(r.session)), ' erased ' + fmtTime(r.at) + ' — ' + String(r.reason || 'no reason'));
    list.append(li);
  }
  $('erasures-none').hidden = found.length > 0;
}

async function download() {
  const { from, to } = state.range;
  const parts = await auditPages();
  if (!parts) return;
  const blob = new Blob(parts, { type: 'application/x-ndjson' });
  const a = el('a', null, { href: URL.createObjectURL(blob), download: `audit-${state.key}-${from}-${to}.ndjson` });
  document.body.append(a);
  a.click();
  a.remove();
  status('Downloaded ' + parts.join('').split('\n').filter(Boolean).length + ' audit records.');
}

// ---- token -------------------------------------------------------------------------------

async function open() {
  state.key = $('key').value.trim();
  state.range = range();
  state.cursor = null;
  $('sessions').hidden = true;
  $('audit').hidden = true;
  $('detail').hidden = true;
  status('Checking the token…');
  // The person says which kind of token it is, so a valid token never costs a 401; a 401 is
  // an answer, shown once and never retried.
  const kind = document.querySelector('input[name=kind]:checked').value;
  const { from, to } = state.range;
  const r = kind === 'read'
    ? await api(base() + `/sessions?from=${from}&to=${to}&limit=50`)
    : await api(base() + `/audit/report?from=${from}&to=${to}`);
  if (!r.ok) {
    const e = await r.json().catch(() => null);
    status(r.status === 401 || r.status === 403
      ? `This is not a valid ${kind} token of project "${state.key}" (${e && e.error ? e.error.message : 'HTTP ' + r.status}). Check the project key, the token and its kind, then submit again.`
      : (e && e.error ? e.error.message : 'HTTP ' + r.status), true);
    return;
  }
  if (kind === 'read') {
    $('sessions').hidden = false;
    showSessions(await r.json(), true);
  } else {
    $('audit').hidden = false;
    drawChart(await r.json());
    await verify();
    await erasures();
  }
  status(kind === 'read' ? 'Read token accepted.' : 'Audit token accepted.');
}

function submit(ev) {
  ev.preventDefault();
  const t = $('token').value.trim();
  if (t) sessionStorage.setItem(TOKEN, t);
  $('token').value = '';
  $('token').placeholder = sessionStorage.getItem(TOKEN) ? '(kept for this tab)' : '';
  if (!sessionStorage.getItem(TOKEN)) { status('Paste a token first.', true); return; }
  open().catch((e) => status(e.message, true));
}

function forget() {
  sessionStorage.removeItem(TOKEN);
  $('token').placeholder = '';
  $('sessions').hidden = true;
  $('audit').hidden = true;
  $('rows').textContent = '';
  $('player').textContent = '';
  $('panels').hidden = true;
  $('erasures').textContent = '';
  status('Token forgotten.');
}

function init() {
  const today = new Date();
  $('to').valueAsNumber = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
  $('from').valueAsNumber = $('to').valueAsNumber - 6 * DAY;
  $('auth').addEventListener('submit', submit);
  $('token').required = false;
  $('forget').addEventListener('click', forget);
  $('more').addEventListener('click', () => loadSessions(false).catch((e) => status(e.message, true)));
  $('reload').addEventListener('click', () => state.current && openSession(state.current).catch((e) => status(e.message, true)));
  $('download').addEventListener('click', () => download().catch((e) => status(e.message, true)));
  if (sessionStorage.getItem(TOKEN)) {
    $('token').placeholder = '(kept for this tab)';
    open().catch((e) => status(e.message, true));
  }
}

init();
