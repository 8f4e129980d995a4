#!/usr/bin/env node
// Drives the viewer (/viewer/) in headless Chromium against a running worker and prints one
// JSON report; tests/e2e/viewer.rs checks it against the worker's read and audit APIs.
//   [VIEWER_MODE=verify] node tools/viewer/e2e.mjs <base URL> <project key> <read token> <audit token> <session> <artifacts dir> <planted values JSON>
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(path.join(ROOT, 'package.json'));
const { chromium } = require('playwright-core');
const [base, key, readToken, auditToken, session, outDir, plantedJson] = process.argv.slice(2);
const planted = JSON.parse(plantedJson);
fs.mkdirSync(outDir, { recursive: true });

const report = { ok: false, requests: [], foreign_requests: [], token_in_url: [], console_errors: [], page_errors: [] };
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.on('request', (r) => {
    const u = r.url();
    report.requests.push(r.method() + ' ' + u);
    if (!u.startsWith(base + '/') && !u.startsWith('blob:') && !u.startsWith('data:') && !u.startsWith('about:')) report.foreign_requests.push(u);
    if ([readToken, auditToken, 'wrong-token-x'].some((t) => u.includes(t))) report.token_in_url.push(u);
  });
  page.on('console', (m) => { if (m.type() === 'error') { report.console_errors.push(m.text()); (report.console_error_at ||= []).push(m.location()); } });
  page.on('pageerror', (e) => report.page_errors.push(String(e.message || e)));

  if (process.env.VIEWER_MODE === 'ux') {
    await ux(ctx, page);
    report.ok = true;
    throw null;
  }
  const resp = await page.goto(base + '/viewer/');
  if (process.env.VIEWER_MODE === 'verify') {
    // Only the audit view's verify status (after a test edited a stored record).
    await page.fill('#key', key);
    await page.check('input[name=kind][value=audit]');
    await page.fill('#token', auditToken);
    await page.press('#token', 'Enter');
    await page.waitForFunction(() => /Verified|Broken/.test(document.getElementById('verify').textContent));
    report.verify_text = await page.textContent('#verify');
    report.broken = await page.$$eval('#broken li', (ls) => ls.map((l) => l.textContent));
    await page.screenshot({ path: path.join(outDir, 'verify-broken.png'), fullPage: true });
    report.ok = true;
    throw null;
  }
  report.csp = resp.headers()['content-security-policy'] || null;
  await page.fill('#key', key);

  // Read token: the list shows the session; its replay renders.
  await page.fill('#token', readToken);
  await page.press('#token', 'Enter');
  await page.waitForSelector(`button[data-session="${session}"]`);
  report.listed = await page.$$eval('#rows button[data-session]', (bs) => bs.map((b) => b.dataset.session));
  // Each row's summary cells, as shown (session → cell texts after Session and Day).
  report.rows = await page.$$eval('#rows tr[data-row]', (trs) => Object.fromEntries(trs.map((tr) =>
    [tr.dataset.row, [...tr.children].slice(2, -1).map((td) => td.textContent)])));
  await page.click(`button[data-session="${session}"]`);
  await page.waitForSelector('#player .replayer-wrapper iframe');
  const frameEl = await page.$('#player .replayer-wrapper iframe');
  report.iframe_sandbox = await frameEl.getAttribute('sandbox');
  const frame = await frameEl.contentFrame();
  await frame.waitForFunction(() => document.body && document.body.querySelectorAll('*').length > 3);
  report.manifest_text = await page.textContent('#manifest');
  await page.waitForTimeout(500); // let the player paint its last frame
  const shot = path.join(outDir, 'replay.png');
  await page.screenshot({ path: shot, fullPage: true });
  const playerShot = await (await page.$('#player')).screenshot({ path: path.join(outDir, 'player.png') });
  // Non-blank: the player area has many distinct colours (decoded in a page without CSP).
  const probe = await ctx.newPage();
  report.player_colors = await probe.evaluate(async (b64) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + b64;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width; c.height = img.height;
    const g = c.getContext('2d');
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < d.length; i += 4) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
    return seen.size;
  }, playerShot.toString('base64'));
  await probe.close();
  // The planted values are nowhere in the page or the replay's DOM, nor in any input value.
  const doms = [await page.content()];
  for (const f of page.frames()) {
    try { doms.push(await f.content()); doms.push((await f.$$eval('input,textarea', (es) => es.map((e) => e.value))).join('\n')); } catch { /* detached */ }
  }
  report.replay_text_len = (await frame.content()).length;
  report.planted_found = planted.filter((v) => doms.some((d) => d.includes(v)));
  report.local_storage = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  report.session_storage_has_token = await page.evaluate((t) => Object.values(sessionStorage).includes(t), readToken);

  // Network and console panels: their rows; a click on a row's time seeks the player there.
  const panelRows = (id) => page.$$eval(`#${id} tr[data-offset]`, (trs) => trs.map((tr) => ({
    offset: Number(tr.dataset.offset), cells: [...tr.children].slice(1).map((td) => td.firstChild ? td.firstChild.textContent : '') })));
  report.network_rows = await panelRows('network');
  report.console_rows = await panelRows('console');
  report.panel_html_has_script = await page.$$eval('#panels script, #panels img', (es) => es.length);
  const seekRow = (await page.$$('#network tr[data-offset] button.seek'))[0];
  if (seekRow) {
    const want = await seekRow.evaluate((b) => b.closest('tr').dataset.offset);
    await seekRow.click();
    await page.waitForFunction((w) => document.getElementById('panels').dataset.time === String(Math.round(Number(w))), want);
    report.seek_to = Number(want);
    report.seek_time = Number(await page.getAttribute('#panels', 'data-time'));
    report.seek_current = await page.$$eval('#network tr[aria-current]', (trs) => trs.map((t) => Number(t.dataset.offset)));
    report.seek_past_console = await page.$$eval('#console tr.past', (trs) => trs.length);
    report.seek_player_time = await page.textContent('.rr-timeline__time');
    // Forward to the last console call, then back to the first request: both land.
    const con = await page.$$('#console tr[data-offset] button.seek');
    const conAt = await con[con.length - 1].evaluate((b) => b.closest('tr').dataset.offset);
    await con[con.length - 1].click();
    await page.waitForFunction((w) => document.getElementById('panels').dataset.time === w, conAt);
    await page.click('#network tr[data-offset] button.seek');
    await page.waitForFunction((w) => document.getElementById('panels').dataset.time === w, want);
    report.seek_back_current = await page.$$eval('#network tr[aria-current]', (trs) => trs.map((t) => Number(t.dataset.offset)));
    await page.screenshot({ path: path.join(outDir, 'panels.png'), fullPage: true });
  }
  // Forget, then the audit token: the chart's bars.
  await page.click('#forget');
  report.after_forget = await page.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
  await page.check('input[name=kind][value=audit]');
  await page.fill('#token', auditToken);
  await page.click('#go');
  await page.waitForSelector('#chart svg g.bar');
  await page.waitForFunction(() => /Verified|Broken/.test(document.getElementById('verify').textContent));
  report.bars = await page.$$eval('#chart g.bar', (gs) => gs.map((g) => ({ day: g.dataset.day,
    total: [...g.querySelectorAll('rect')].reduce((n, r) => n + Number(r.dataset.count), 0),
    series: Object.fromEntries([...g.querySelectorAll('rect')].map((r) => [r.dataset.series, Number(r.dataset.count)])) })));
  report.verify_text = await page.textContent('#verify');
  await page.waitForFunction(() => document.querySelectorAll('#erasures li').length > 0 || !document.getElementById('erasures-none').hidden);
  report.erasures = await page.$$eval('#erasures li', (ls) => ls.map((l) => ({ session: l.dataset.session, text: l.textContent })));
  await page.screenshot({ path: path.join(outDir, 'audit.png'), fullPage: true });
  const dl = page.waitForEvent('download');
  await page.click('#download');
  const file = await dl;
  const p = path.join(outDir, 'audit.ndjson');
  await file.saveAs(p);
  report.ndjson_lines = fs.readFileSync(p, 'utf8').split('\n').filter(Boolean).length;
  // A wrong token: one clear message, and no more than the one try of each kind.
  const before = report.requests.length;
  await page.click('#forget');
  report.console_errors_before_wrong = report.console_errors.length;
  await page.check('input[name=kind][value=read]');
  await page.fill('#token', 'wrong-token-x');
  await page.press('#token', 'Enter');
  await page.waitForSelector('#status.error');
  await page.waitForTimeout(1500); // a retry loop would show up as more requests by now
  report.wrong_token_message = await page.textContent('#status');
  report.wrong_token_requests = report.requests.slice(before).filter((r) => r.includes('/v1/')).length;

  report.local_storage_end = await page.evaluate(() => JSON.stringify(Object.entries(localStorage)));
  report.ok = true;
} catch (e) {
  if (e !== null) report.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
// Phone width, keyboard only and a live session's Reload (a worker whose sessions stay live).
async function ux(ctx, page) {
  const layout = (p) => p.evaluate(() => ({ scroll_width: document.documentElement.scrollWidth, inner_width: innerWidth }));
  const visible = async (p, sels) => Object.fromEntries(await Promise.all(sels.map(async (s) => [s, await p.isVisible(s)])));
  const CONTROLS = ['#key', '#token', 'input[name=kind][value=read]', '#from', '#to', '#go', '#forget'];

  // Keyboard only at 1280×800: Tab to the key and the token, Enter opens, Tab reaches the
  // session's Replay button, Enter opens the replay.
  await page.goto(base + '/viewer/');
  report.desktop_start = await layout(page);
  const active = () => page.evaluate(() => { const a = document.activeElement;
    return { id: a.id, session: a.dataset.session || null, outline: getComputedStyle(a).outlineStyle, outline_width: getComputedStyle(a).outlineWidth }; });
  await page.keyboard.press('Tab');
  report.kb_first = await active();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(key);
  await page.keyboard.press('Tab');
  report.kb_second = await active();
  await page.keyboard.type(readToken);
  await page.keyboard.press('Enter');
  await page.waitForSelector(`button[data-session="${session}"]`);
  report.kb_tabs = null;
  for (let i = 1; i <= 60; i++) {
    await page.keyboard.press('Tab');
    const a = await active();
    if (a.session === session) { report.kb_tabs = i; report.kb_replay_focus = a; break; }
  }
  await page.keyboard.press('Enter');
  await page.waitForSelector('#player .replayer-wrapper iframe');
  await page.waitForFunction(() => /: \d+ events\.$/.test(document.getElementById('status').textContent));
  const manifest = () => page.$$eval('#manifest dt', (dts) => Object.fromEntries(dts.map((d) => [d.textContent, d.nextElementSibling.textContent])));
  const row = await page.$$eval(`#rows tr[data-row="${session}"] td`, (tds) => tds.map((t) => t.textContent));
  report.live_row_state = row[row.length - 2];
  report.reload_visible = await page.isVisible('#reload');
  report.before = await manifest();
  report.before_status = await page.textContent('#status');
  report.desktop_open = await layout(page);
  await page.screenshot({ path: path.join(outDir, 'keyboard-live.png'), fullPage: true });

  // One more beacon (the next seq) through the worker, then Reload (focused, Space).
  const r = await fetch(base + '/v1/ingest/' + key, { method: 'POST', body: fs.readFileSync(process.env.VIEWER_NEXT_BEACON),
    headers: { 'Content-Type': 'application/json', Origin: 'http://localhost:8787' } });
  report.next_beacon = { status: r.status, body: await r.json() };
  await page.focus('#reload');
  await page.keyboard.press('Space');
  await page.waitForFunction((s) => document.getElementById('status').textContent !== s && /: \d+ events\.$/.test(document.getElementById('status').textContent), report.before_status);
  report.after = await manifest();
  report.after_status = await page.textContent('#status');
  report.after_player = await page.isVisible('#player .replayer-wrapper iframe');

  // A phone (390×844): no page-wide horizontal overflow, the controls and the player usable.
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  phone.on('pageerror', (e) => report.page_errors.push(String(e.message || e)));
  await phone.goto(base + '/viewer/');
  report.phone_start = await layout(phone);
  report.phone_controls = await visible(phone, CONTROLS);
  await phone.fill('#key', key);
  await phone.fill('#token', readToken);
  await phone.tap('#go');
  await phone.waitForSelector(`button[data-session="${session}"]`);
  report.phone_list = await layout(phone);
  // The table scrolls inside its own box; the Replay button is reached there.
  await phone.tap(`button[data-session="${session}"]`);
  await phone.waitForSelector('#player .replayer-wrapper iframe');
  await phone.waitForFunction(() => /: \d+ events\.$/.test(document.getElementById('status').textContent));
  report.phone_open = await layout(phone);
  report.phone_player = await phone.$eval('#player', (p) => { const r = p.getBoundingClientRect(); return { left: r.left, right: r.right, height: r.height }; });
  report.phone_player_controls = await visible(phone, ['#player .rr-controller__btns button']);
  await phone.screenshot({ path: path.join(outDir, 'phone.png'), fullPage: true });
}

fs.writeFileSync(path.join(outDir, `report-${process.env.VIEWER_MODE || 'full'}.json`), JSON.stringify(report, null, 1));
console.log(JSON.stringify(report));
