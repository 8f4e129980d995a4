// Benchmark 6: the real worker (build/index.js, as deployed) with its bindings
// wrapped so that every billable operation is logged as one line `VGOPS <kind> <detail>`.
// Nothing in the worker changes: the wrappers forward every call to the real binding (local
// R2, DO, KV on workerd) and keep each binding's own constructor, so workers-rs's binding
// type checks still pass. tools/bench/run.sh counts the lines in wrangler's output.
import Worker, { SessionObject as Inner } from "../../../build/index.js";

// `--var VG_BENCH_MODE:null-r2` (diagnostic for benchmark 5): no logging, and R2 puts are
// acknowledged without being stored, to show what local R2 emulation costs end to end.
let MODE = "count";
const log = (kind, detail = "") => MODE === "count" && console.log(`VGOPS ${kind} ${detail}`);
const fakeObject = (key, body) => ({
  key, version: "bench", size: body?.byteLength ?? body?.length ?? 0, etag: "bench", httpEtag: '"bench"',
  uploaded: new Date(), httpMetadata: {}, customMetadata: {}, checksums: {}, storageClass: "Standard",
});
// Log when the call settles, with its duration (workerd's clock advances across I/O only, so
// this is the I/O wait as the worker sees it, in ms).
function timed(kind, detail, f, ...a) {
  const t = Date.now();
  const settle = () => log(kind, `${detail} ms=${Date.now() - t}`);
  const p = f(...a);
  return p && typeof p.then === "function" ? p.finally(settle) : (settle(), p);
}

// Forward everything; log and forward the named methods.
function wrap(target, methods) {
  return new Proxy(target, {
    get(t, k) {
      const v = Reflect.get(t, k, t);
      if (typeof v !== "function") return v;
      if (Object.hasOwn(methods, k)) return (...args) => methods[k](v.bind(t), ...args);
      return k === "constructor" ? v : v.bind(t);
    },
  });
}

const R2_CLASS_A = ["put", "delete", "list", "createMultipartUpload", "resumeMultipartUpload"];
const R2_CLASS_B = ["get", "head"];

function wrapEnv(env) {
  if (env.VG_BENCH_MODE) MODE = env.VG_BENCH_MODE;
  return new Proxy(env, {
    get(t, k) {
      const v = Reflect.get(t, k, t);
      if (k === "RECORDINGS") {
        const m = {};
        for (const op of R2_CLASS_A) m[op] = (f, ...a) => timed(`r2.A.${op}`, typeof a[0] === "string" ? a[0] : "", f, ...a);
        for (const op of R2_CLASS_B) m[op] = (f, ...a) => timed(`r2.B.${op}`, typeof a[0] === "string" ? a[0] : "", f, ...a);
        if (MODE === "null-r2") m.put = (_f, key, body) => Promise.resolve(fakeObject(key, body));
        return wrap(v, m);
      }
      if (k === "PROJECTS") return wrap(v, { get: (f, ...a) => (log("kv.get", a[0]), f(...a)) });
      if (k === "SESSION") {
        const stub = (s) => wrap(s, { fetch: (f, ...a) => timed("do.stub.fetch", "", f, ...a) });
        return wrap(v, {
          getByName: (f, ...a) => stub(f(...a)),
          get: (f, ...a) => stub(f(...a)),
        });
      }
      return v;
    },
  });
}

function wrapState(state) {
  return new Proxy(state, {
    get(t, k) {
      const v = Reflect.get(t, k, t);
      if (k !== "storage") return typeof v === "function" ? v.bind(t) : v;
      const rows = (a) => (typeof a[0] === "string" ? 1 : Array.isArray(a[0]) ? a[0].length : Object.keys(a[0] ?? {}).length);
      return wrap(v, {
        put: (f, ...a) => timed("do.storage.put", `rows=${rows(a)}`, f, ...a),
        delete: (f, ...a) => (log("do.storage.delete", `rows=${rows(a)}`), f(...a)),
        deleteAll: (f, ...a) => (log("do.storage.deleteAll"), f(...a)),
        setAlarm: (f, ...a) => timed("do.storage.setAlarm", "rows=1", f, ...a),
        deleteAlarm: (f, ...a) => (log("do.storage.deleteAlarm", "rows=1"), f(...a)),
        get: (f, ...a) => (log("do.storage.get", `rows=${rows(a)}`), f(...a)),
      });
    },
  });
}

export class SessionObject {
  constructor(state, env) {
    this.inner = new Inner(wrapState(state), wrapEnv(env));
  }
  fetch(req) {
    log("do.request.fetch", new URL(req.url).pathname);
    return this.inner.fetch(req);
  }
  alarm() {
    log("do.request.alarm");
    return this.inner.alarm();
  }
}

export default class extends Worker {
  constructor(ctx, env) {
    super(ctx, wrapEnv(env));
  }
  fetch(req) {
    const path = new URL(req.url).pathname;
    if (!path.startsWith("/v1/")) return super.fetch(req);
    return timed("worker.request", `${req.method}_${path}`, () => super.fetch(req));
  }
}
