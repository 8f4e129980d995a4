// Sample the CPU of a worker running under `wrangler dev` through its inspector (V8's
// Profiler domain), for SECONDS, and print the hottest functions by self time. Used by hand
// while a load run is going, to see where a request's isolate time goes on workerd:
//   node tools/bench/cpuprof.mjs INSPECTOR_PORT SECONDS [OUT.cpuprofile]
// Build the worker with names kept (CARGO_PROFILE_RELEASE_STRIP=false) for readable wasm frames.
import { writeFileSync } from "node:fs";
import WebSocket from "ws";

const [port, secs = "10", out] = process.argv.slice(2);
const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl) ?? process.exit(1);
// wrangler's inspector proxy refuses upgrades without an Origin header.
const ws = new WebSocket(target.webSocketDebuggerUrl, { origin: `http://127.0.0.1:${port}` });
await new Promise((ok, err) => ((ws.onopen = ok), (ws.onerror = err)));
let next = 1;
const pending = new Map();
ws.onmessage = (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
};
const call = (method, params = {}) =>
  new Promise((ok) => {
    const id = next++;
    pending.set(id, ok);
    ws.send(JSON.stringify({ id, method, params }));
  });

await call("Profiler.enable");
await call("Profiler.setSamplingInterval", { interval: 200 });
await call("Profiler.start");
await new Promise((r) => setTimeout(r, Number(secs) * 1000));
const { result } = await call("Profiler.stop");
ws.close();
const profile = result.profile;
if (out) writeFileSync(out, JSON.stringify(profile));

// Self time per function from the sample counts; inclusive time by walking parents.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map();
for (const s of profile.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const total = profile.samples.length;
const self = new Map();
const incl = new Map();
for (const [id, h] of hits) {
  const name = label(byId.get(id));
  self.set(name, (self.get(name) ?? 0) + h);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const nm = label(byId.get(cur));
    if (!seen.has(nm)) {
      seen.add(nm);
      incl.set(nm, (incl.get(nm) ?? 0) + h);
    }
  }
}
function label(n) {
  const f = n.callFrame;
  return `${f.functionName || "(anonymous)"} ${f.url ? f.url.split("/").pop() : ""}`.trim();
}
const top = (m, k) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([nm, h]) => `${((100 * h) / total).toFixed(1).padStart(5)}%  ${nm}`)
    .join("\n");
console.log(`samples: ${total}\n--- self ---\n${top(self, 45)}\n--- inclusive ---\n${top(incl, 45)}`);
