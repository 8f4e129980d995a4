// veilgate loader (GET /v1/sdk.js): decides consent on the page before anything is recorded.
// It downloads the recorder only once recording is allowed, and never throws into the page.
(() => {
  const w = window, d = document;
  const prev = w.veilgate;
  if (prev && prev.version) return;
  const OPT = 'veilgate_optout';
  const script = d.currentScript;
  let opts = null, cfg = null, rec = null, loading = false, stopped = false;
  // Per-source consent: true grants, false refuses, undefined says nothing.
  const sig = {};
  const pending = [];
  const safe = (f) => (...a) => { try { return f(...a); } catch (e) { warn('internal error', e); } };
  let warned = false;
  const warn = (m, e) => { if (!warned) { warned = true; console.warn('[veilgate] ' + m, e || ''); } };
  const ls = (k, v) => { try { return v === undefined ? localStorage.getItem(k) : v === null ? localStorage.removeItem(k) : localStorage.setItem(k, v); } catch (e) { return null; } };
  const optedOut = () => ls(OPT) === '1' || d.cookie.split('; ').includes(OPT + '=1');
  const all = (list, ok) => list.length ? list.every(ok) : undefined;

  const allowed = () => {
    if (!cfg || stopped || optedOut()) return false;
    const c = cfg.consent;
    if (c.honor_gpc && navigator.globalPrivacyControl === true) return false;
    const vals = Object.values(sig);
    if (vals.includes(false) && (c.honor_cmp_refusal || c.mode === 'opt-in')) return false;
    return c.mode !== 'opt-in' || vals.includes(true);
  };

  const decide = safe(() => {
    if (allowed()) {
      if (rec) return rec.start(ctx());
      if (loading) return;
      loading = true;
      const s = d.createElement('script');
      s.async = true;
      s.src = opts.endpoint + '/v1/recorder.js';
      s.onload = safe(() => { rec = w.__veilgateRecorder; if (rec) decide(); });
      s.onerror = () => { loading = false; warn('recorder could not be loaded'); };
      d.head.appendChild(s);
    } else if (rec) {
      rec.stop(true);
    }
  });

  const ctx = () => ({ key: opts.key, endpoint: opts.endpoint, config: cfg, options: opts, consent: consentReport(), pending });
  const consentReport = () => {
    const g = Object.values(sig);
    return g.includes(false) ? { analytics_storage: 'denied' } : g.includes(true) ? { analytics_storage: 'granted' } : undefined;
  };

  // The CMPs on the page. Each listener only records its verdict and calls decide().
  const cmps = () => {
    const c = cfg.consent;
    const tcf = () => {
      if (typeof w.__tcfapi !== 'function') return false;
      w.__tcfapi('addEventListener', 2, safe((t, ok) => {
        if (!ok || !t || (t.eventStatus !== 'tcloaded' && t.eventStatus !== 'useractioncomplete')) return;
        const p = (t.purpose && t.purpose.consents) || {};
        let v = all(c.tcf_purposes, (n) => p[n] === true);
        if (v !== false && c.tcf_vendor) v = !!(t.vendor && t.vendor.consents && t.vendor.consents[c.tcf_vendor]);
        sig.tcf = v; decide();
      }));
      return true;
    };
    if (!tcf()) {
      // A CMP stub may appear after us; look again once the page has loaded.
      w.addEventListener('load', safe(tcf), { once: true });
    }
    const cb = safe(() => {
      const k = w.Cookiebot && w.Cookiebot.consent;
      if (k) { sig.cookiebot = all(c.cookiebot, (n) => k[n] === true); decide(); }
    });
    w.addEventListener('CookiebotOnAccept', cb);
    w.addEventListener('CookiebotOnDecline', cb);
    w.addEventListener('CookiebotOnConsentReady', cb);
    cb();
    const ot = safe(() => {
      const g = w.OnetrustActiveGroups;
      if (typeof g === 'string' && (w.OneTrust || g)) {
        const groups = g.split(',').filter(Boolean);
        sig.onetrust = all(c.onetrust_groups, (n) => groups.includes(n));
        decide();
      }
    });
    w.addEventListener('OneTrustGroupsUpdated', ot);
    const orig = w.OptanonWrapper;
    w.OptanonWrapper = function () { ot(); if (typeof orig === 'function') return orig.apply(this, arguments); };
    ot();
  };

  const init = safe((o) => {
    if (opts) return;
    o = o || {};
    const base = script && script.src ? new URL(script.src).origin : location.origin;
    opts = Object.assign({}, o, { key: o.key, endpoint: (o.endpoint || base).replace(/\/$/, '') });
    if (!opts.key) return warn('no project key');
    // With credentials: the worker's own opt-out cookie is HttpOnly, so only the worker can
    // see it and answer opted_out before the recorder is downloaded.
    fetch(opts.endpoint + '/v1/config/' + encodeURIComponent(opts.key), { credentials: 'include' })
      .then((r) => r.ok ? r.json() : Promise.reject(r.status))
      .then(safe((c) => {
        // Chunks queued before the visitor opted out (on another tab, the worker's page) stay unsent.
        if (c.opted_out || optedOut()) ls('veilgate_queue', null);
        if (c.opted_out) return;
        if (!c.enabled || !c.web) return warn('project "' + opts.key + '" is disabled or not a web project; not recording');
        if (c.origin_allowed === false) return warn('this site is not in the allowed_origins of "' + opts.key + '"; not recording');
        cfg = c;
        cmps();
        decide();
      }), (e) => warn('unknown project "' + opts.key + '" or worker unreachable; not recording', e));
  });

  const api = {
    version: '1',
    init,
    consent: safe((c) => {
      const want = (cfg && cfg.consent.sdk) || { analytics_storage: 'granted' };
      const keys = Object.keys(want);
      sig.sdk = keys.length ? keys.every((k) => String(c[k] || '').toLowerCase() === String(want[k]).toLowerCase()) : c.analytics_storage === 'granted';
      decide();
    }),
    optOut: safe(() => { ls(OPT, '1'); ls('veilgate_queue', null); if (rec) rec.stop(true); }),
    optIn: safe(() => { ls(OPT, null); decide(); }),
    stop: safe(() => { stopped = true; if (rec) rec.stop(false); }),
    flush: safe(() => rec ? rec.flush() : Promise.resolve()),
    sessionId: safe(() => rec ? rec.sessionId() : null),
    track: safe((name, props) => { if (rec) rec.track(name, props); else if (pending.length < 100) pending.push([name, props, Date.now()]); }),
  };
  w.veilgate = api;
  // Calls made before the loader arrived: `veilgate = {q: [['init', {...}], ...]}`.
  const queued = (prev && prev.q) || [];
  const key = script && script.getAttribute('data-key');
  if (key) init({ key, endpoint: script.getAttribute('data-endpoint') || undefined });
  queued.forEach((c) => { if (api[c[0]]) api[c[0]].apply(null, c.slice(1)); });
})();
