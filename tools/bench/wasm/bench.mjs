// Benchmarks 2 and 3 in wasm, run by tools/bench/run.sh with Node 22:
//   node tools/bench/wasm/bench.mjs PKG_DIR ROOT [--smoke]   → one JSON object on stdout
// The same loops as benches/core.rs (same iteration counts, warm-up of a tenth, per-iteration
// wall time, median / nearest-rank percentiles), timed with process.hrtime.bigint().
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [pkgDir, root] = process.argv.slice(2).map((p) => resolve(p));
const smoke = process.argv.includes("--smoke");
const require = createRequire(import.meta.url);
const w = require(join(pkgDir, "veilgate_bench_wasm.js"));

const fixture = (n) => readFileSync(join(root, `tests/fixtures/rrweb/${n}.default.json`));
const pct = (sorted, p) => sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
const median = (v) => pct([...v].sort((a, b) => a - b), 50);
const out = { runtime: `node ${process.version}` };
out.selectors_policy_differs_from_default = w.set_selectors(readFileSync(join(root, "tools/bench/policy.selectors.json"), "utf8"));
const slots = {};
for (const n of ["signup", "checkout", "account", "large"]) slots[n] = w.add_fixture(n, fixture(n));

const throughput = {};
for (const [name, iters] of [["signup", smoke ? 30 : 400], ["large", smoke ? 3 : 30]]) {
  const slot = slots[name];
  const bytes = w.slot_len(slot);
  const m = { bytes, iters };
  // Interleaved rounds, wall and process CPU time per iteration, medians (as benches/core.rs).
  const wls = [["baseline", 0], ["mask_default", 1], ["mask_selectors", 2]];
  const warm = Math.max(1, Math.floor(iters / 10));
  const wall = wls.map(() => []), cpu = wls.map(() => []);
  for (let round = 0; round < iters + warm; round++) {
    wls.forEach(([, code], i) => {
      const c = process.cpuUsage();
      const t = process.hrtime.bigint();
      w.run(slot, code);
      const dt = Number(process.hrtime.bigint() - t);
      const dc = process.cpuUsage(c);
      if (round >= warm) {
        wall[i].push(dt);
        cpu[i].push((dc.user + dc.system) * 1e3);
      }
    });
  }
  wls.forEach(([wl], i) => {
    const med = median(wall[i]), cmed = median(cpu[i]);
    m[`${wl}_median_ns`] = med;
    m[`${wl}_mb_s`] = bytes / 1e6 / (med / 1e9);
    m[`${wl}_cpu_median_ns`] = cmed;
    m[`${wl}_cpu_mb_s`] = bytes / 1e6 / (cmed / 1e9);
  });
  throughput[name] = m;
}
out.throughput = throughput;

const beacons = Array.from(w.make_beacons());
const rounds = smoke ? 20 : 400;
const path = [], cpu = [], floor = [];
for (let r = 0; r < rounds; r++) {
  for (const b of beacons) {
    const c = process.cpuUsage();
    let t = process.hrtime.bigint();
    w.run(b, 3);
    path.push(Number(process.hrtime.bigint() - t) / 1e3);
    const d = process.cpuUsage(c);
    cpu.push(d.user + d.system);
    t = process.hrtime.bigint();
    w.run(b, 4);
    floor.push(Number(process.hrtime.bigint() - t) / 1e3);
  }
}
for (const v of [path, cpu, floor]) v.sort((a, b) => a - b);
out.latency = {
  beacons: beacons.length, beacon_bytes: beacons.map((b) => w.slot_len(b)), samples: path.length,
  p50_us: pct(path, 50), p99_us: pct(path, 99), max_us: path[path.length - 1],
  // process.cpuUsage(): the whole Node process (µs resolution); the wasm call is synchronous.
  cpu_p50_us: pct(cpu, 50), cpu_p99_us: pct(cpu, 99),
  floor_p50_us: pct(floor, 50), floor_p99_us: pct(floor, 99),
};
console.log(JSON.stringify(out));
