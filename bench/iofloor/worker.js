// The I/O floor of benchmark 5 (issue 6): everything veilgate's ingest does through the runtime
// and nothing it does to the bytes. It inflates the body (the runtime's native zlib), sends it
// to a Durable Object per session, which writes it to R2 as the chunk and records the seq in
// its storage, then answers 202 — one DO request, one R2 put of the decompressed size and one
// storage write per beacon, as veilgate does on a session's 2nd to 30th chunk. veilgate's
// req/s against this worker's is the cost of its own work (parse, validate, mask, write the
// chunk document); this worker's against the echo worker's is what the runtime's I/O costs.
export default {
  async fetch(request, env) {
    if (request.method !== "POST") return new Response("ok");
    const gz = request.headers.get("content-encoding") === "gzip" || new URL(request.url).searchParams.get("enc") === "gzip";
    const stream = gz ? request.body.pipeThrough(new DecompressionStream("gzip")) : request.body;
    const body = new Uint8Array(await new Response(stream).arrayBuffer());
    // The load generator writes the envelope head before the events.
    const head = new TextDecoder().decode(body.subarray(0, 512));
    const session = /"session":"([^"]+)"/.exec(head)?.[1] ?? "none";
    const seq = /"seq":(\d+)/.exec(head)?.[1] ?? "0";
    const stub = env.SESSION.get(env.SESSION.idFromName(`bench:${session}`));
    const resp = await stub.fetch(`https://session.internal/ingest?seq=${seq}&session=${session}`, { method: "POST", body });
    return new Response(await resp.arrayBuffer(), { status: 202, headers: { "content-type": "application/json" } });
  },
};

export class SessionObject {
  constructor(state, env) {
    this.state = state;
    this.env = env;
  }
  async fetch(request) {
    const url = new URL(request.url);
    const seq = Number(url.searchParams.get("seq"));
    const session = url.searchParams.get("session");
    const body = await request.arrayBuffer();
    const key = `sessions/bench/${session}/chunks/${String(seq).padStart(8, "0")}.json`;
    await this.env.RECORDINGS.put(key, body, { httpMetadata: { contentType: "application/json" } });
    const seqs = (await this.state.storage.get("seqs")) ?? [];
    seqs.push(seq);
    await this.state.storage.put("seqs", seqs);
    return new Response(JSON.stringify({ stored: true, seq }));
  }
}
