#!/usr/bin/env node
// Records the rrweb fixtures in tests/fixtures/rrweb/ with the real rrweb recorder in headless
// Chromium, then writes tests/fixtures/planted.json (only values found in the raw fixtures).
//
//   node_modules/.bin/node tools/record/record.mjs            # all pages, all variants
//   node_modules/.bin/node tools/record/record.mjs signup     # only some pages
//
// Offline: pages are served from a node http server on 127.0.0.1 (random port); every other
// request is aborted. Chromium: /usr/bin/chromium (Debian package), or $CHROMIUM.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { URLS, TYPED, CANDIDATES, NEAR_MISSES } from './planted.mjs';
import { verifyPlanted } from './verify.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
// rrweb's package "exports" hide package.json and the UMD build: locate the package directory.
export const RRWEB_DIR = path.resolve(path.dirname(require.resolve('rrweb')), '..');
const RRWEB_PKG = JSON.parse(fs.readFileSync(path.join(RRWEB_DIR, 'package.json'), 'utf8'));
const RRWEB_UMD = fs.readFileSync(path.join(RRWEB_DIR, 'dist/rrweb.umd.cjs'), 'utf8');
const OUT_DIR = path.join(ROOT, 'tests/fixtures/rrweb');
const PLANTED = path.join(ROOT, 'tests/fixtures/planted.json');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// rrweb option sets. Functions cannot cross page.evaluate, so these are plain data.
export const VARIANTS = {
  // rrweb's own defaults: only type=password inputs are masked on the client.
  default: {},
  // A strict client: every input value masked, every text node masked, canvas recorded
  // (so the server sees canvas payloads: rr_dataURL pixels and 2D command arguments).
  strict: { maskAllInputs: true, maskTextSelector: '*', recordCanvas: true },
};

const ROUTES = {
  '/signup': 'signup.html',
  '/checkout': 'checkout.html',
  '/account/profile': 'account.html',
  '/account/frame.html': 'frame.html',
  '/admin/catalog': 'large.html',
};

function startServer() {
  const server = http.createServer((req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const file = ROUTES[p];
    if (!file) { res.writeHead(404, { 'content-type': 'text/plain' }); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(HERE, 'pages', file)));
  });
  // A fixed port keeps the recorded URLs stable between regenerations; any free port otherwise.
  const want = Number(process.env.RECORD_PORT || 43117);
  return new Promise((resolve, reject) => {
    server.once('error', (e) => {
      if (e.code !== 'EADDRINUSE') return reject(e);
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
    server.listen(want, '127.0.0.1', () => resolve(server));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function wander(page, points) {
  for (const [x, y] of points) { await page.mouse.move(x, y, { steps: 8 }); await sleep(40); }
}

async function typeInto(locator, text, delay = 25) {
  await locator.click();
  await locator.pressSequentially(text, { delay });
  await sleep(80);
}

const SCENARIOS = {
  async signup(page) {
    const t = TYPED.signup;
    await wander(page, [[200, 120], [420, 200], [380, 260]]);
    await typeInto(page.locator('#full_name'), t.full_name);
    await typeInto(page.locator('#email'), t.email);
    await typeInto(page.locator('#phone'), t.phone);
    await typeInto(page.locator('#password'), t.password);
    await typeInto(page.locator('#password_confirm'), t.password);
    await page.locator('#dob').fill(t.dob);
    await sleep(100);
    await page.locator('#country').selectOption(t.country);
    await sleep(100);
    await typeInto(page.locator('#bio'), t.bio, 12);
    await page.mouse.wheel(0, 250);
    await sleep(300);
    await page.locator('#newsletter').check();
    await page.locator('#terms').check();
    await sleep(150);
    await page.mouse.wheel(0, 200);
    await sleep(300);
    await page.locator('#submit').click();
    await sleep(400);
    await page.mouse.wheel(0, -300);
    await sleep(300);
  },
  async checkout(page) {
    const t = TYPED.checkout;
    await wander(page, [[150, 150], [300, 180]]);
    for (const k of ['cc_number', 'cc_exp', 'cc_csc', 'iban', 'billing_name', 'billing_street', 'billing_zip', 'billing_city']) {
      await typeInto(page.locator('#' + k), t[k]);
    }
    await wander(page, [[700, 200], [820, 260], [300, 600]]);
    await page.mouse.wheel(0, 200);
    await sleep(300);
    await page.locator('#place_order').click();
    await sleep(2600); // confirmation (700 ms), receipt (1400 ms), status/title change (2100 ms)
    await page.mouse.wheel(0, -200);
    await sleep(300);
  },
  async account(page) {
    const t = TYPED.account;
    await wander(page, [[200, 150], [500, 250], [450, 300]]);
    await page.mouse.wheel(0, 300);
    await sleep(300);
    await typeInto(page.locator('#sl_note'), t.sl_note);
    await typeInto(page.locator('#ignored_input'), t.ignored_input);
    const frame = page.frameLocator('#profile_frame');
    await typeInto(frame.locator('#work_email'), t.work_email);
    await typeInto(frame.locator('#mobile'), t.mobile);
    await page.mouse.wheel(0, 300);
    await sleep(300);
    await typeInto(page.locator('#contact_card #alt_email'), t.alt_email); // pierces the open shadow root
    await page.mouse.wheel(0, 300);
    await sleep(300);
    await page.locator('#sign_btn').click();
    await sleep(800); // canvas fillText now, marked-element mutations after 300 ms
    await page.mouse.wheel(0, 400);
    await sleep(400);
  },
  async large(page) {
    const t = TYPED.large;
    await wander(page, [[200, 100], [600, 300]]);
    await typeInto(page.locator('#q'), t.q, 60);       // 3 re-renders of the filtered table
    await sleep(200);
    await page.locator('#sort').selectOption('price');
    await page.locator('#resort').click();             // re-render of the filtered rows, sorted by price
    await sleep(200);
    await page.locator('#q').fill('');                 // one full re-render: 500 rows removed and re-added
    await sleep(200);
    await page.locator('#ticker').click();             // 40 price cells changed every 100 ms
    for (let i = 0; i < 8; i++) { await page.mouse.wheel(0, 600); await sleep(250); }
    await page.locator('#ticker').click();
    await page.mouse.wheel(0, -10000);
    await sleep(300);
    await typeInto(page.locator('#admin_name'), t.admin_name);
    await typeInto(page.locator('#admin_email'), t.admin_email);
    await typeInto(page.locator('#admin_notes'), t.admin_notes, 10);
    await sleep(300);
  },
};

async function recordOne(browser, base, name, variant) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'Europe/Vienna',
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(base) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    return route.abort();
  });
  await context.addInitScript({ content: RRWEB_UMD + '\n;window.__rrEvents = [];' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  const url = base + URLS[name];
  await page.goto(url, { waitUntil: 'load' });
  await sleep(200);
  const options = VARIANTS[variant];
  await page.evaluate((opts) => {
    window.__rrStop = window.rrweb.record(Object.assign({}, opts, { emit: (e) => window.__rrEvents.push(e) }));
  }, options);
  await sleep(300);
  await SCENARIOS[name](page);
  await sleep(300);
  const json = await page.evaluate(() => { window.__rrStop(); return JSON.stringify(window.__rrEvents); });
  await context.close();
  const events = JSON.parse(json);
  return { url, options, events, problems };
}

async function main() {
  const only = process.argv.slice(2);
  const plan = [
    ['signup', 'default'], ['signup', 'strict'],
    ['checkout', 'default'], ['checkout', 'strict'],
    ['account', 'default'], ['account', 'strict'],
    ['large', 'default'],
  ].filter(([n]) => only.length === 0 || only.includes(n));
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const server = await startServer();
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  const chromiumVersion = browser.version();
  let failed = false;
  try {
    for (const [name, variant] of plan) {
      const r = await recordOne(browser, base, name, variant);
      const fixture = {
        page: r.url,
        meta: {
          recorded_with: `rrweb ${RRWEB_PKG.version}`,
          chromium: chromiumVersion,
          variant,
          options: r.options,
          recorded_at: new Date(r.events[0].timestamp).toISOString(),
        },
        events: r.events,
      };
      const file = path.join(OUT_DIR, `${name}.${variant}.json`);
      fs.writeFileSync(file, JSON.stringify(fixture) + '\n');
      const size = fs.statSync(file).size;
      console.log(`${path.relative(ROOT, file)}: ${r.events.length} events, ${size} bytes${r.problems.length ? ', PROBLEMS: ' + r.problems.join(' | ') : ''}`);
      if (r.problems.length) failed = true;
    }
  } finally {
    await browser.close();
    server.close();
  }
  // planted.json: only values really present in some raw fixture.
  const report = verifyPlanted({ write: true });
  console.log(`planted.json: ${report.must_not_appear} must_not_appear, ${report.near_misses} near_misses, ` +
    `${report.client_side_only.length} client-side only (${report.client_side_only.join(', ')})`);
  if (failed) process.exit(1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => { console.error(e); process.exit(1); });
}
