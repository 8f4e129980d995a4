// Uncaught exceptions and unhandled rejections as rrweb custom events (tag `error`), for the
// analytics' errors and error clicks (docs/ANALYTICS.md). Only what a developer needs to find
// the bug and nothing more: the message (bounded), the script's file name without its query,
// line and column. The worker masks the payload like any other (an email in a message is
// starred before it is stored). Capped per page load so a loop of errors cannot flood beacons.
const MAX_MESSAGE = 200;
const MAX_FILE = 100;
export const MAX_ERRORS_PER_PAGE = 10;

const text = (v, n) => String(v == null ? '' : v).slice(0, n);
// `https://cdn.example/js/app.js?v=3#x` → `app.js`
const fileName = (u) => text(String(u || '').split(/[?#]/)[0].split('/').pop(), MAX_FILE);

// Starts listening; `emit(tag, payload)` adds the custom event. Returns the function that stops.
export function captureErrors(emit) {
  let n = 0;
  const seen = new Set();
  const send = (payload) => {
    const key = payload.message + '|' + (payload.source || '') + '|' + (payload.line || 0);
    if (n >= MAX_ERRORS_PER_PAGE || seen.has(key)) return;
    n++;
    seen.add(key);
    try { emit('error', payload); } catch (e) { /* not recording: nothing to add to */ }
  };
  const onError = (e) => {
    // Resource load failures reach window listeners too: they are no script errors.
    if (!e || typeof e.message !== 'string' || !e.message) return;
    send({ kind: 'error', message: text(e.message, MAX_MESSAGE), source: fileName(e.filename),
      line: e.lineno | 0, col: e.colno | 0 });
  };
  const onRejection = (e) => {
    const r = e && e.reason;
    const m = r && typeof r === 'object' && 'message' in r ? r.message : r;
    send({ kind: 'rejection', message: text(m, MAX_MESSAGE) });
  };
  window.addEventListener('error', onError);
  window.addEventListener('unhandledrejection', onRejection);
  return () => {
    window.removeEventListener('error', onError);
    window.removeEventListener('unhandledrejection', onRejection);
  };
}
