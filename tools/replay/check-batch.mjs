#!/usr/bin/env node
// Replays many rrweb event files with rrweb's Replayer in one headless Chromium (one page each)
// and reports, per file, what tools/replay/check.mjs reports as errors plus the structure the
// replay ended with, so a caller can compare a raw stream with its masked copy.
//
//   node_modules/.bin/node tools/replay/check-batch.mjs [--speed N] [--timeout S] [--jobs N] <events.json>...
//
// Each file: a JSON array of events or an object with an "events" array. Prints one JSON object
// { "<file>": { ok, errors, finished, full_snapshots, rebuilt, nodes, elements, text_nodes } }:
// full_snapshots = type-2 events in the input, rebuilt = "fullsnapshot-rebuilded" events the
// Replayer emitted, nodes = every node of the final replayed document (nested same-origin iframes
// and open shadow roots included). Offline like check.mjs. Exit 0 if every file is ok, else 1.
import { readEvents, rrwebCss, serve, launch, offlineContext } from './harness.mjs';

const argv = process.argv.slice(2);
const files = [];
const opt = { speed: 32, timeout: 60, jobs: 4 };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--speed') opt.speed = Number(argv[++i]);
  else if (argv[i] === '--timeout') opt.timeout = Number(argv[++i]);
  else if (argv[i] === '--jobs') opt.jobs = Math.max(1, Number(argv[++i]) || 1);
  else files.push(argv[i]);
}
if (!files.length || !(opt.speed > 0)) {
  console.error('usage: check-batch.mjs [--speed N] [--timeout S] [--jobs N] <events.json>...');
  process.exit(2);
}
const streams = files.map((f) => {
  const events = readEvents(f);
  if (!events) { console.error(`${f}: no events array`); process.exit(2); }
  return JSON.stringify(events);
});
const html = `<!doctype html><html><head><meta charset="utf-8"><style>${rrwebCss}</style></head>
<body><div id="root"></div><script src="/rrweb.js"></script></body></html>`;
const { server, base } = await serve(html, (p) => {
  const m = /^\/events\/(\d+)$/.exec(p);
  return m ? streams[+m[1]] : undefined;
});

const report = {};
const browser = await launch();
try {
  const context = await offlineContext(browser, base, { viewport: { width: 1300, height: 900 } });
  // Pages mostly wait on the Replayer's timers, so a few run side by side (--jobs).
  let next = 0;
  const one = async (i) => {
    const errors = [];
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push('pageerror: ' + (e.stack || e.message).split('\n').slice(0, 3).join(' | ')));
    page.on('console', (m) => {
      const text = m.text();
      // Same classification as check.mjs: refused (offline) resources are not replay errors;
      // "[replayer]" warnings mean the stream no longer replays faithfully.
      if (m.type() === 'error' && !/Failed to load resource|ERR_BLOCKED_BY_CLIENT/.test(text)) errors.push('console.error: ' + text);
      else if (m.type() === 'warning' && /^\[replayer\]/.test(text)) errors.push('replayer: ' + text);
    });
    await page.goto(base + '/', { waitUntil: 'load' });
    const r = await page.evaluate(async ({ idx, speed, timeoutMs }) => {
      const events = await (await fetch('/events/' + idx)).json();
      const replayer = new window.rrweb.Replayer(events, {
        root: document.getElementById('root'), speed, mouseTail: false, skipInactive: false,
        showWarning: true, showDebug: false, triggerFocus: false,
      });
      let rebuilt = 0;
      replayer.on('fullsnapshot-rebuilded', () => { rebuilt++; });
      const finished = new Promise((resolve) => replayer.on('finish', () => resolve(true)));
      const timeout = new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs));
      replayer.play();
      const ok = await Promise.race([finished, timeout]);
      await new Promise((res) => setTimeout(res, 100));
      const count = { nodes: 0, elements: 0, text_nodes: 0 };
      const seen = new Set();
      const walk = (root) => {
        if (!root || seen.has(root)) return;
        seen.add(root);
        const it = root.ownerDocument ? root.ownerDocument.createTreeWalker(root) : root.createTreeWalker(root);
        for (let n = it.currentNode; n; n = it.nextNode()) {
          count.nodes++;
          if (n.nodeType === 1) {
            count.elements++;
            if (n.shadowRoot) walk(n.shadowRoot);
            if (n.tagName === 'IFRAME') { try { walk(n.contentDocument); } catch (e) { /* cross-origin */ } }
          } else if (n.nodeType === 3) count.text_nodes++;
        }
      };
      walk(replayer.iframe.contentDocument);
      return { finished: ok, rebuilt, full_snapshots: events.filter((e) => e.type === 2).length, ...count };
    }, { idx: i, speed: opt.speed, timeoutMs: opt.timeout * 1000 });
    if (!r.finished) errors.push(`replay did not finish within ${opt.timeout}s`);
    if (r.rebuilt !== r.full_snapshots) errors.push(`rebuilt ${r.rebuilt} of ${r.full_snapshots} full snapshots`);
    report[files[i]] = { ok: errors.length === 0, errors, ...r };
    await page.close();
  };
  await Promise.all(Array.from({ length: Math.min(opt.jobs, files.length) }, async () => {
    while (next < files.length) await one(next++);
  }));
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(report, null, 1));
process.exit(Object.values(report).every((r) => r.ok) ? 0 : 1);
