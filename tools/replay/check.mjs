#!/usr/bin/env node
// Replays rrweb events with rrweb's Replayer in headless Chromium and reports what it saw.
//
//   node_modules/.bin/node tools/replay/check.mjs <events.json> <out.png> [--speed N] [--canvas] [--timeout S]
//
// <events.json>: a JSON array of rrweb events, a fixture file ({"page","meta","events"}), or any
// object with an "events" array (e.g. the read API's merged events). Fully offline: the replay
// page is served from 127.0.0.1 and every other request is aborted (counted in "blocked_requests").
// Prints one JSON summary on stdout:
//   { ok, errors, warnings, events, duration_ms, replay_ms, masked_inputs, input_values, inputs, plugin_events, blocked_requests }
// Exit code: 0 ok, 1 replay errors, 2 usage / load failure.
import fs from 'node:fs';
import path from 'node:path';
import { readEvents, rrwebCss, serve, launch, offlineContext } from './harness.mjs';

function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: check.mjs <events.json> <out.png> [--speed N] [--canvas] [--timeout S]');
  process.exit(2);
}

const argv = process.argv.slice(2);
const pos = [];
const opt = { speed: 16, canvas: false, timeout: 120 };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--speed') opt.speed = Number(argv[++i]);
  else if (a === '--canvas') opt.canvas = true;
  else if (a === '--timeout') opt.timeout = Number(argv[++i]);
  else if (a.startsWith('--')) usage('unknown option ' + a);
  else pos.push(a);
}
if (pos.length !== 2) usage();
const [inFile, outPng] = pos;
if (!(opt.speed > 0)) usage('--speed must be > 0');

let events;
try {
  events = readEvents(inFile);
  if (!events) throw new Error('no events array (expected an array or an object with "events")');
  if (events.length < 2) throw new Error(`rrweb needs at least 2 events, got ${events.length}`);
  if (!events.some((e) => e && e.type === 2)) throw new Error('no full snapshot (type 2) event');
} catch (e) {
  usage(`cannot load ${inFile}: ${e.message}`);
}

const ts = events.map((e) => e.timestamp).filter((t) => typeof t === 'number');
const durationMs = ts.length ? Math.max(...ts) - Math.min(...ts) : 0;
const eventsJson = JSON.stringify(events);
const html = `<!doctype html><html><head><meta charset="utf-8"><title>replay check</title>
<style>${rrwebCss}\nhtml,body{margin:0;padding:0;background:#fff}</style></head>
<body><div id="root"></div><script src="/rrweb.js"></script></body></html>`;

const { server, base } = await serve(html, (p) => (p === '/events.json' ? eventsJson : undefined));

const meta = events.find((e) => e.type === 4);
const vw = Math.max(320, (meta && meta.data && meta.data.width) || 1280);
const vh = Math.max(240, (meta && meta.data && meta.data.height) || 800);

const errors = [];
const warnings = [];
const blocked = [];
let summary;
const browser = await launch();
try {
  const context = await offlineContext(browser, base, { viewport: { width: vw + 20, height: vh + 20 } },
    (u) => blocked.push(u.length > 200 ? u.slice(0, 200) + '…' : u));
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push('pageerror: ' + (e.stack || e.message).split('\n').slice(0, 3).join(' | ')));
  page.on('console', (m) => {
    const text = m.text();
    if (m.type() === 'error') {
      // Resources of the recorded page that we refused to fetch (offline) are not replay errors.
      if (/Failed to load resource|ERR_BLOCKED_BY_CLIENT/.test(text)) return;
      errors.push('console.error: ' + text);
    } else if (m.type() === 'warning') {
      // rrweb's Replayer reports broken event streams as console warnings prefixed "[replayer]"
      // (e.g. "Node with id N not found"): those mean the recording no longer replays faithfully.
      if (/^\[replayer\]/.test(text)) errors.push('replayer: ' + text);
      else warnings.push(text);
    }
  });
  await page.goto(base + '/', { waitUntil: 'load' });
  const t0 = Date.now();
  const result = await page.evaluate(async ({ speed, canvas, timeoutMs }) => {
    const events = await (await fetch('/events.json')).json();
    // Plugin events (type 6) as a replay plugin sees them: rrweb hands each to every plugin,
    // which matches the exact name (e.g. "rrweb/console@1") and parses the console
    // arguments back with JSON.parse, as the console replay plugin does.
    const pluginEvents = {};
    const pluginErrors = [];
    const observer = {
      handler(event) {
        if (event.type !== 6 || !event.data) return;
        const name = String(event.data.plugin);
        pluginEvents[name] = (pluginEvents[name] || 0) + 1;
        if (name !== 'rrweb/console@1') return;
        const p = event.data.payload || {};
        if (typeof p.level !== 'string') pluginErrors.push('console event without a level');
        for (const arg of Array.isArray(p.payload) ? p.payload : [null]) {
          try { JSON.parse(arg); } catch (e) { pluginErrors.push('console argument is not JSON: ' + String(arg).slice(0, 80)); }
        }
      },
    };
    const replayer = new window.rrweb.Replayer(events, {
      plugins: [observer],
      root: document.getElementById('root'),
      speed, mouseTail: false, skipInactive: false, showWarning: true, showDebug: false,
      triggerFocus: false, UNSAFE_replayCanvas: canvas,
    });
    const finished = new Promise((resolve) => replayer.on('finish', () => resolve(true)));
    const timeout = new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs));
    replayer.play();
    const ok = await Promise.race([finished, timeout]);
    await new Promise((r) => setTimeout(r, 300));
    // Walk the replayed DOM: the replay iframe, nested iframes, open shadow roots.
    const inputs = [];
    const seen = new Set();
    const walk = (root, where) => {
      if (!root || seen.has(root)) return;
      seen.add(root);
      for (const el of root.querySelectorAll('*')) {
        const tag = el.tagName.toLowerCase();
        if (tag === 'input' || tag === 'textarea' || tag === 'select') {
          const type = tag === 'input' ? (el.getAttribute('type') || 'text').toLowerCase() : tag;
          if (['checkbox', 'radio', 'submit', 'button', 'hidden', 'image', 'reset'].includes(type)) {
            if (type === 'checkbox' || type === 'radio') inputs.push({ where, tag, type, id: el.id || null, name: el.getAttribute('name'), checked: el.checked });
            continue;
          }
          inputs.push({ where, tag, type, id: el.id || null, name: el.getAttribute('name'), value: el.value });
        }
        if (el.shadowRoot) walk(el.shadowRoot, where + ' >> #shadow(' + (el.id || tag) + ')');
        if (tag === 'iframe') { try { walk(el.contentDocument, where + ' >> iframe(' + (el.id || '') + ')'); } catch (e) { /* cross-origin */ } }
      }
    };
    const doc = replayer.iframe.contentDocument;
    walk(doc, 'document');
    const textLength = doc && doc.body ? doc.body.innerText.length : 0;
    return { finished: ok, inputs, textLength, hasBody: !!(doc && doc.body), pluginEvents, pluginErrors };
  }, { speed: opt.speed, canvas: opt.canvas, timeoutMs: opt.timeout * 1000 });
  const replayMs = Date.now() - t0;
  if (!result.finished) errors.push(`replay did not finish within ${opt.timeout}s`);
  if (!result.hasBody) errors.push('replayed document has no <body>');
  for (const e of result.pluginErrors) errors.push('plugin: ' + e);
  fs.mkdirSync(path.dirname(path.resolve(outPng)), { recursive: true });
  await page.locator('#root iframe').first().screenshot({ path: outPng });
  const values = result.inputs.filter((i) => typeof i.value === 'string').map((i) => i.value);
  summary = {
    ok: errors.length === 0,
    errors,
    warnings,
    events: events.length,
    duration_ms: durationMs,
    replay_ms: replayMs,
    speed: opt.speed,
    masked_inputs: values.filter((v) => v.length > 0 && /^\*+$/.test(v)),
    input_values: values.filter((v) => v.length > 0),
    inputs: result.inputs,
    text_length: result.textLength,
    plugin_events: result.pluginEvents,
    blocked_requests: blocked,
    screenshot: outPng,
  };
} catch (e) {
  errors.push('checker: ' + (e.stack || e.message));
  summary = { ok: false, errors, warnings, events: events.length, duration_ms: durationMs, blocked_requests: blocked };
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok ? 0 : 1);
