// What the replay checks (check.mjs, check-batch.mjs) share: headless Chromium and rrweb from
// the pinned npm packages, and a replay page on loopback that serves rrweb and the events
// only, so a replay is offline: every other request of the recorded page is refused.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const RRWEB_DIR = path.resolve(path.dirname(require.resolve('rrweb')), '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const rrwebCss = fs.readFileSync(path.join(RRWEB_DIR, 'dist/style.css'), 'utf8');
const rrwebJs = fs.readFileSync(path.join(RRWEB_DIR, 'dist/rrweb.umd.cjs'), 'utf8');

// The events of a file: a JSON array of events or an object with an "events" array; else null.
export function readEvents(file) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Array.isArray(j) ? j : j && Array.isArray(j.events) ? j.events : null;
}

// Serves `html` at /, rrweb at /rrweb.js, and `json(pathname)` (a JSON string, or undefined for
// 404) for any other path. Returns the server and its base URL.
export async function serve(html, json) {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const body = p === '/' || p === '/rrweb.js' ? undefined : json(p);
    if (p === '/') { res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }); res.end(html); }
    else if (p === '/rrweb.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); res.end(rrwebJs); }
    else if (body !== undefined) { res.writeHead(200, { 'content-type': 'application/json' }); res.end(body); }
    else { res.writeHead(404); res.end(); }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

export function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
}

// A browser context that reaches only `base` (and data:, blob:, about:blank); `blocked(url)`
// hears of each refused request.
export async function offlineContext(browser, base, options, blocked = () => {}) {
  const context = await browser.newContext(options);
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base + '/') || u.startsWith('data:') || u.startsWith('blob:') || u === 'about:blank') return route.continue();
    blocked(u);
    return route.abort('blockedbyclient');
  });
  return context;
}
