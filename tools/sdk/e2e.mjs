#!/usr/bin/env node
// Drives the browser SDK in headless Chromium against a running worker and prints one JSON
// report; tests/e2e_sdk.rs checks it against the worker's storage and read API.
//   node tools/sdk/e2e.mjs <worker base URL> <scenario>
// The site is served from http://localhost:7399 (dev/site pages, with the loader pointed at
// the worker) through request interception, so the SDK talks to the worker cross-origin.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const [base, scenario] = process.argv.slice(2);
const SITE = 'http://localhost:7399';
const PLANTED = { name: 'Zebulon Quintavious', email: 'zebulon.q@planted.example', password: 'Pw-planted-77x',
  card: '4111111111111111', addr: '77 Plantedvalley Road' };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  // The site is fulfilled by interception, so Chromium cannot tell it is on loopback too.
  '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights'] });
const report = { scenario, recorder_requests: 0, ingest_requests: 0, ingest_ok: 0, page_errors: [], console: [] };

async function site(ctx, key, extraHead = '') {
  await ctx.route(SITE + '/**', (route) => {
    let p = new URL(route.request().url()).pathname;
    if (p.endsWith('/')) p += 'index.html';
    const file = path.join(ROOT, 'dev/site', path.normalize(p));
    if (!file.startsWith(path.join(ROOT, 'dev/site')) || !fs.existsSync(file)) return route.fulfill({ status: 404, body: 'no' });
    let html = fs.readFileSync(file, 'utf8')
      .replace('<script async src="/v1/sdk.js" data-key="demo">', `${extraHead}<script async src="${base}/v1/sdk.js" data-key="${key}">`);
    return route.fulfill({ status: 200, contentType: p.endsWith('.js') ? 'text/javascript' : 'text/html', body: html });
  });
}

async function newPage(ctx) {
  const page = await ctx.newPage();
  page.on('request', (r) => {
    if (r.url().includes('/v1/recorder.js')) report.recorder_requests++;
    if (r.url().includes('/v1/ingest/')) report.ingest_requests++;
  });
  page.on('response', (r) => { if (r.url().includes('/v1/ingest/') && r.status() === 202) report.ingest_ok++; });
  page.on('pageerror', (e) => report.page_errors.push(String(e.message || e)));
  page.on('console', (m) => { if (m.text().includes('veilgate')) report.console.push(m.text()); });
  return page;
}

// The loader has decided once its config request is answered (the decision is synchronous
// after it); for a deterministic "nothing loaded" check, wait for that response.
async function gotoDecided(page, url) {
  const cfg = page.waitForResponse((r) => r.url().includes('/v1/config/'));
  await page.goto(url);
  await cfg;
  await page.evaluate(() => new Promise((r) => setTimeout(r, 0)));
}

const queueEmpty = (page) => page.waitForFunction(() => {
  const q = localStorage.getItem('veilgate_queue');
  return window.__veilgateRecorder && (!q || q === '[]');
}, null, { timeout: 60000, polling: 200 });
const recording = (page) => page.waitForFunction(() => window.veilgate && window.veilgate.sessionId && window.__veilgateRecorder, null, { timeout: 30000 });

async function journey(ctx, page, offline) {
  await page.goto(SITE + '/demo/');
  await recording(page);
  if (offline) await ctx.route(base + '/v1/ingest/**', (r) => r.abort('internetdisconnected'));
  await page.click('#go-product');
  await recording(page);
  await page.fill('#qty', '3');
  await page.goto(SITE + '/demo/signup.html');
  await recording(page);
  await page.fill('#name', PLANTED.name);
  await page.fill('#email', PLANTED.email);
  await page.fill('#password', PLANTED.password);
  await page.click('button');
  await page.goto(SITE + '/demo/checkout.html');
  await recording(page);
  await page.fill('#card', PLANTED.card);
  await page.fill('#addr', PLANTED.addr);
  await page.evaluate(() => veilgate.track('checkout_filled', { step: 2 }));
  await page.reload();
  await recording(page);
  await page.goto(SITE + '/demo/account.html');
  await recording(page);
  if (offline) {
    report.queued_while_offline = await page.evaluate(() => JSON.parse(localStorage.getItem('veilgate_queue') || '[]').length);
    await ctx.unroute(base + '/v1/ingest/**');
  }
  await page.evaluate(() => veilgate.flush());
  await queueEmpty(page);
  const s = await page.evaluate(() => JSON.parse(sessionStorage.getItem('veilgate_session')));
  report.session = s.id;
  report.next_seq = s.seq;
}

try {
  const ctx = await browser.newContext();
  if (scenario === 'journey' || scenario === 'offline') {
    await site(ctx, 'demo');
    const page = await newPage(ctx);
    await journey(ctx, page, scenario === 'offline');
    report.planted = PLANTED;
  } else if (scenario === 'gpc' || scenario === 'optout') {
    if (scenario === 'gpc') await ctx.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true }));
    else await ctx.addCookies([{ name: 'veilgate_optout', value: '1', url: SITE }]);
    await site(ctx, 'demo');
    const page = await newPage(ctx);
    await gotoDecided(page, SITE + '/demo/');
    await page.fill('#qty', '1').catch(() => {});
    await page.evaluate(() => veilgate.flush());
    report.denied = { recorder_requests: report.recorder_requests, ingest_requests: report.ingest_requests };
  } else if (['tcf', 'cookiebot', 'onetrust', 'sdk'].includes(scenario)) {
    // A CMP that first refuses, then the visitor grants: recording starts without a reload.
    const stubs = {
      tcf: `<script>window.__l=[];window.__tcfapi=function(c,v,cb){if(c==='addEventListener'){__l.push(cb);cb({eventStatus:'tcloaded',purpose:{consents:{}},vendor:{consents:{}}},true);}};
        window.__grant=function(){__l.forEach(function(cb){cb({eventStatus:'useractioncomplete',purpose:{consents:{1:true}},vendor:{consents:{}}},true)})};</script>`,
      cookiebot: `<script>window.Cookiebot={consent:{statistics:false}};window.__grant=function(){Cookiebot.consent={statistics:true};window.dispatchEvent(new Event('CookiebotOnAccept'))};</script>`,
      onetrust: `<script>window.OneTrust={};window.OnetrustActiveGroups=',C0001,';window.__grant=function(){window.OnetrustActiveGroups=',C0001,C0002,';window.OptanonWrapper()};</script>`,
      sdk: `<script>window.__grant=function(){veilgate.consent({analytics_storage:'granted'})};</script>`,
    };
    await site(ctx, 'test-sdk-optin', stubs[scenario]);
    const page = await newPage(ctx);
    await gotoDecided(page, SITE + '/demo/product.html');
    await page.fill('#qty', '2');
    await page.evaluate(() => veilgate.flush());
    report.denied = { recorder_requests: report.recorder_requests, ingest_requests: report.ingest_requests };
    await page.evaluate(() => window.__grant());
    await recording(page);
    await page.fill('#qty', '5');
    await page.evaluate(() => veilgate.flush());
    await queueEmpty(page);
    report.session = await page.evaluate(() => veilgate.sessionId());
    // Withdrawal: stops and sends nothing more.
    const before = report.ingest_requests;
    await page.evaluate(() => veilgate.optOut());
    await page.fill('#qty', '9');
    await page.evaluate(() => veilgate.flush());
    report.after_withdrawal = report.ingest_requests - before;
  } else if (scenario === 'broken') {
    // The site throws in its own code and the recorder URL is blocked: the page still works.
    await ctx.route(base + '/v1/recorder.js', (r) => r.abort());
    await site(ctx, 'demo', `<script>setTimeout(function(){throw new Error('site bug')},0)</script>`);
    const page = await newPage(ctx);
    await gotoDecided(page, SITE + '/demo/signup.html');
    await page.fill('#name', 'x');
    await page.click('button');
    report.site_works = (await page.textContent('#done')) === 'Thanks!';
    report.api_calls_ok = await page.evaluate(() => { veilgate.track('x', {}); veilgate.consent({}); veilgate.flush(); return veilgate.sessionId() === null; });
  } else throw new Error('unknown scenario ' + scenario);
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
