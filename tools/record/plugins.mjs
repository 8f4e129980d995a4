#!/usr/bin/env node
// Records tests/fixtures/plugins/console.json: rrweb with @rrweb/rrweb-plugin-console-record in
// headless Chromium, on tools/record/pages/console.html, whose sign-in button logs secrets
// (an object with password/token, session and csrf keys, an email in a string, an Error with
// an api key). Events are exactly as rrweb emitted them; nothing is edited afterwards.
//
//   node_modules/.bin/node tools/record/plugins.mjs
//
// Offline like record.mjs: the page comes from 127.0.0.1, every other request is aborted.
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
const RRWEB_PKG = JSON.parse(fs.readFileSync(path.join(RRWEB_DIR, 'package.json'), 'utf8'));
const RRWEB_UMD = fs.readFileSync(path.join(RRWEB_DIR, 'dist/rrweb.umd.cjs'), 'utf8');
const PLUGIN_DIR = path.join(ROOT, 'node_modules/@rrweb/rrweb-plugin-console-record');
const PLUGIN_PKG = JSON.parse(fs.readFileSync(path.join(PLUGIN_DIR, 'package.json'), 'utf8'));
const PLUGIN_UMD = fs.readFileSync(path.join(PLUGIN_DIR, 'dist/rrweb-plugin-console-record.umd.cjs'), 'utf8');
const OUT = path.join(ROOT, 'tests/fixtures/plugins/console.json');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGE = '/login?next=%2Faccount';

// What the page logs or the scenario types; the e2e test checks none of it is stored.
export const PLANTED = [
  'jane.console.planted', 'Pl4ntedConsolePw', 'tkconsoleplantedsecret', 'sessconsoleplanted',
  'csrfconsoleplanted', 'mia.console.planted@example.com', 'akconsoleplanted',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const server = http.createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname !== '/login') { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(path.join(HERE, 'pages/console.html')));
  });
  await new Promise((r) => server.listen(Number(process.env.RECORD_PORT || 43117), '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1024, height: 700 }, locale: 'en-US' });
    await context.route('**/*', (route) =>
      route.request().url().startsWith(base) ? route.continue() : route.abort());
    await context.addInitScript({ content: RRWEB_UMD + '\n;window.__rrEvents = [];' });
    // rrweb's UMD leaves `module`/`exports` behind; hide them so the plugin's UMD sets its global.
    await context.addInitScript({ content: '(function (exports, module, define) {\n' + PLUGIN_UMD + '\n}).call(window);' });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    page.on('console', (m) => { if (process.env.DEBUG) console.error('page:', m.type(), m.text()); });
    await page.goto(base + PAGE, { waitUntil: 'load' });
    await page.evaluate(() => {
      window.__rrStop = window.rrweb.record({
        emit: (e) => window.__rrEvents.push(e),
        plugins: [window.rrwebPluginConsoleRecord.getRecordConsolePlugin()],
      });
    });
    await sleep(200);
    await page.locator('#user').pressSequentially(PLANTED[0], { delay: 20 });
    await page.locator('#password').pressSequentially(PLANTED[1], { delay: 20 });
    await page.locator('#go').click();
    await sleep(400);
    const events = JSON.parse(await page.evaluate(() => { window.__rrStop(); return JSON.stringify(window.__rrEvents); }));
    const consoleEvents = events.filter((e) => e.type === 6 && e.data && e.data.plugin === 'rrweb/console@1');
    if (consoleEvents.length < 4) problems.push(`only ${consoleEvents.length} console events`);
    const raw = JSON.stringify(events);
    const absent = PLANTED.filter((v) => !raw.includes(v) && v !== PLANTED[1]);
    if (absent.length) problems.push('planted values not in the recording: ' + absent.join(', '));
    const fixture = {
      page: base + PAGE,
      meta: {
        recorded_with: `rrweb ${RRWEB_PKG.version}, @rrweb/rrweb-plugin-console-record ${PLUGIN_PKG.version}`,
        chromium: browser.version(),
        planted: PLANTED,
        recorded_at: new Date(events[0].timestamp).toISOString(),
      },
      events,
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(fixture) + '\n');
    console.log(`${path.relative(ROOT, OUT)}: ${events.length} events (${consoleEvents.length} console), ` +
      `${fs.statSync(OUT).size} bytes${problems.length ? ', PROBLEMS: ' + problems.join(' | ') : ''}`);
    if (problems.length) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
