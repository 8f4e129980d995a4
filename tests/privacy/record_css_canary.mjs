#!/usr/bin/env node
// Records, with the real rrweb recorder in headless Chromium, a page whose script writes an
// email into CSS after recording started, in every way a page can: a <style> element appended
// with its text (a mutation add carrying `_cssText`), a text node appended to a <style>, a rule
// inserted through the CSSOM (StyleSheetRule), a declaration set through the CSSOM
// (StyleDeclaration), an adopted constructed sheet (AdoptedStyleSheet), and a `style`
// attribute (attribute mutation). Prints one JSON report: {rrweb, canary, events}.
// Run by tests/privacy/recorded_css.rs; offline (the page is served from 127.0.0.1).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { RRWEB_DIR, LAUNCH_ARGS } from '../../tools/record/record.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const RRWEB_PKG = JSON.parse(fs.readFileSync(path.join(RRWEB_DIR, 'package.json'), 'utf8'));
const RRWEB_UMD = fs.readFileSync(path.join(RRWEB_DIR, 'dist/rrweb.umd.cjs'), 'utf8');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CANARY = 'canary.8473@example.org';

const PAGE = `<!doctype html><html><head><title>badge</title><style id="base">.x{color:red}</style></head>
<body><p class="user-badge" id="badge">Signed in</p></body></html>`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(PAGE);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  try {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    await context.route('**/*', (route) =>
      route.request().url().startsWith(base) ? route.continue() : route.abort());
    await context.addInitScript({ content: RRWEB_UMD + '\n;window.__rrEvents = [];' });
    const page = await context.newPage();
    await page.goto(base + '/account', { waitUntil: 'load' });
    await page.evaluate(() => {
      window.__rrStop = window.rrweb.record({ emit: (e) => window.__rrEvents.push(e) });
    });
    await sleep(100);
    await page.evaluate((canary) => {
      const style = document.createElement('style');
      style.textContent = `.user-badge::after { content: "${canary}"; }`;
      document.head.appendChild(style);
    }, CANARY);
    await sleep(100);
    await page.evaluate((canary) => {
      const style = document.createElement('style');
      document.head.appendChild(style);
      style.appendChild(document.createTextNode(`#badge::before { content: "${canary}"; }`));
    }, CANARY);
    await sleep(100);
    await page.evaluate((canary) => {
      const sheet = document.getElementById('base').sheet;
      sheet.insertRule(`.user-badge::after { content: "${canary}"; }`, 0);
      sheet.cssRules[1].style.setProperty('--who', `"${canary}"`);
      const adopted = new CSSStyleSheet();
      adopted.replaceSync(`p::after { content: "${canary}"; }`);
      document.adoptedStyleSheets = [adopted];
      document.getElementById('badge').setAttribute('style', `--who: "${canary}"`);
    }, CANARY);
    await sleep(200);
    const events = JSON.parse(await page.evaluate(() => { window.__rrStop(); return JSON.stringify(window.__rrEvents); }));
    console.log(JSON.stringify({ rrweb: RRWEB_PKG.version, chromium: browser.version(), canary: CANARY, events }));
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
