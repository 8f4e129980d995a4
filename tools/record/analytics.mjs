#!/usr/bin/env node
// Records tests/fixtures/analytics/*.json: the real rrweb recorder (the npm `rrweb` package, as
// record.mjs) plus the SDK's own error capture (sdk/errors.js, bundled as the recorder bundles
// it) in headless Chromium, across page loads, while Playwright plays scenarios with planted
// signals: a rage run, a dead click, a click that mutates the DOM, clicks that throw and reject,
// a double click into a text field, scrolling, a quick back. Events are exactly as emitted.
//
//   node_modules/.bin/node tools/record/analytics.mjs
//
// Offline like record.mjs: pages come from 127.0.0.1, every other request is aborted.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { RRWEB_DIR, LAUNCH_ARGS } from './record.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const { build } = require('esbuild');
const RRWEB_PKG = JSON.parse(fs.readFileSync(path.join(RRWEB_DIR, 'package.json'), 'utf8'));
const RRWEB_UMD = fs.readFileSync(path.join(RRWEB_DIR, 'dist/rrweb.umd.cjs'), 'utf8');
const OUT_DIR = path.join(ROOT, 'tests/fixtures/analytics');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ROUTES = { '/shop/': 'shop.html', '/product/8812345': 'product.html' };
const ENTRY = '/shop/?utm_source=mail&email=jane.analytics.planted%40example.com';
export const PLANTED = ['jane.analytics.planted', '8812345', 'Zebulon Analytica'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The recorder as the SDK starts it on every page load, events sent to Node as emitted.
async function recorderScript() {
  const r = await build({
    stdin: { contents: "import { captureErrors } from './sdk/errors.js'; window.__vgCaptureErrors = captureErrors;", resolveDir: ROOT },
    bundle: true, write: false, format: 'iife', target: ['es2019'], logLevel: 'warning',
  });
  return RRWEB_UMD + '\n;' + r.outputFiles[0].text + `
;(function () {
  if (window.top !== window || location.protocol === 'about:') return;
  var stop = window.rrweb.record({ emit: function (e) { window.__vgEmit(JSON.stringify(e)); },
    maskAllInputs: true, maskInputOptions: { password: true }, slimDOMOptions: 'all' });
  window.__vgCaptureErrors(window.rrweb.record.addCustomEvent);
})();`;
}

const SCENARIOS = {
  async shop(page, base) {
    await page.goto(base + ENTRY, { waitUntil: 'load' });
    await sleep(400);
    await page.mouse.move(100, 100, { steps: 5 });
    // Rage: four clicks on the same spot, 150 ms apart.
    const tile = await page.locator('#promo-tile').boundingBox();
    for (let i = 0; i < 4; i++) { await page.mouse.click(tile.x + 50, tile.y + 40); await sleep(150); }
    await sleep(1500);
    // A click that changes the DOM, then 3 s of recording: not dead.
    await page.click('#live');
    await sleep(600);
    await page.mouse.move(300, 400, { steps: 10 });
    await sleep(2600);
    // A click on a button without handler, then 3 s of mouse moves only: dead.
    await page.click('#dead');
    for (let i = 0; i < 6; i++) { await page.mouse.move(200 + i * 20, 300, { steps: 3 }); await sleep(500); }
    // Clicks whose handlers throw and reject: errors, error clicks.
    await page.click('#broken');
    await sleep(400);
    await page.click('#reject');
    await sleep(400);
    // A double click into a text field, then typing: never rage, the value never kept.
    await page.dblclick('#q');
    await page.locator('#q').pressSequentially('Zebulon Analytica', { delay: 30 });
    await sleep(300);
    await page.mouse.wheel(0, 1500);
    await sleep(600);
    // To the product, and back within 5 s: a quick back.
    await page.click('#to-product');
    await page.waitForURL('**/product/8812345');
    await sleep(1500);
    await page.click('#back');
    await page.waitForURL('**/shop/');
    await sleep(3000);
    await page.mouse.move(150, 150, { steps: 5 });
    await sleep(1200);
  },
};

async function main() {
  const server = http.createServer((req, res) => {
    const file = ROUTES[new URL(req.url, 'http://x').pathname];
    if (!file) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(HERE, 'pages/analytics', file)));
  });
  await new Promise((r) => server.listen(Number(process.env.RECORD_PORT || 0), '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  fs.mkdirSync(OUT_DIR, { recursive: true });
  try {
    for (const [name, play] of Object.entries(SCENARIOS)) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
      await context.route('**/*', (route) =>
        route.request().url().startsWith(base) ? route.continue() : route.abort());
      const events = [];
      await context.exposeBinding('__vgEmit', (_src, e) => { events.push(JSON.parse(e)); });
      await context.addInitScript({ content: await recorderScript() });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await play(page, base);
      await context.close();
      const fixture = {
        page: base + ENTRY,
        meta: { recorded_with: `rrweb ${RRWEB_PKG.version} + sdk/errors.js`, chromium: browser.version(),
          scenario: name, page_errors: errors, recorded_at: new Date(events[0].timestamp).toISOString() },
        events,
      };
      const file = path.join(OUT_DIR, `${name}.json`);
      fs.writeFileSync(file, JSON.stringify(fixture) + '\n');
      console.log(`${path.relative(ROOT, file)}: ${events.length} events, ${fs.statSync(file).size} bytes, page errors ${JSON.stringify(errors)}`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
