// The echo worker of benchmark 5 (issue 6): the floor an ingest worker cannot go below on
// workerd — read the whole body, answer 202 with a small JSON body like veilgate's.
export default {
  async fetch(request) {
    if (request.method === "POST") {
      const body = await request.arrayBuffer();
      return new Response(JSON.stringify({ stored: true, seq: 0, bytes: body.byteLength }), {
        status: 202,
        headers: { "content-type": "application/json" },
      });
    }
    return new Response("ok");
  },
};
