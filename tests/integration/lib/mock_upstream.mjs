// A misbehaving OpenAI-compatible upstream for fault-injection tests. The request's `model`
// (the `upstream_model` of an openai_compat model in smmf's config) picks the behaviour:
//
//   ok            a correct answer (JSON, or SSE ending with [DONE])
//   hang          reads the request and never answers
//   hang-stream   sends the SSE header and one chunk, then goes silent (socket kept open)
//   drip          a correct answer written one byte at a time, `dripMs` apart
//   drip-forever  an endless SSE stream of valid chunks, one byte every `dripMs`
//   reset         the SSE header and one chunk, then a TCP reset
//   close-early   reads the request and closes the socket before the first byte
//   garbage       200 with a body that is not JSON / an SSE stream of broken JSON
//   garbage-bin   200 with random binary bytes, then a clean end of the body
//   error-503     503 with an OpenAI error body
//   error-500-html  500 with an HTML page
//
// `stats()` counts requests and the sockets still open (so tests can see smmf let go);
// `calls` lists each request as { model, stream, receivedAt, closedAt } (ms since the epoch;
// closedAt is set when the request's connection closes), and `waitCall(model, from)` resolves
// with the first call to `model` at index >= `from`.
import http from 'node:http';
import crypto from 'node:crypto';

const chunk = (content, finish = null) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: 1, model: 'mock',
    choices: [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
  })}\n\n`;

const okStream = () => chunk('Hello') + chunk(' world') + chunk(null, 'stop') + 'data: [DONE]\n\n';
const okJson = () => JSON.stringify({
  id: 'chatcmpl-mock', object: 'chat.completion', created: 1, model: 'mock',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello world' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
});

export async function startMockUpstream({ dripMs = 5 } = {}) {
  const sockets = new Set();
  const timers = new Set();
  const calls = [];
  let requests = 0;
  const later = (ms, fn) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const drip = (res, text, loop = false) => {
    let i = 0;
    const step = () => {
      if (res.destroyed || res.writableEnded) return;
      if (i >= text.length) {
        if (loop) { i = 0; } else { res.end(); return; }
      }
      res.write(text[i++]);
      later(dripMs, step);
    };
    step();
  };

  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests++;
      let parsed = {};
      try { parsed = JSON.parse(body); } catch { /* answered below as ok */ }
      const stream = parsed.stream === true;
      const rec = { model: parsed.model, stream, receivedAt: Date.now(), closedAt: null };
      calls.push(rec);
      if (req.socket.destroyed) rec.closedAt = rec.receivedAt;
      else req.socket.calls.push(rec);
      const sse = () => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const json = (status, text, type = 'application/json') => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      switch (parsed.model) {
        case 'hang':
          return;  // the socket stays open until smmf gives up
        case 'hang-stream':
          sse();
          res.write(chunk('Hello'));
          return;
        case 'drip':
          if (stream) { sse(); drip(res, okStream()); } else {
            const text = okJson();
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
            drip(res, text);
          }
          return;
        case 'drip-forever':
          sse();
          drip(res, chunk('la'), true);
          return;
        case 'reset':
          if (stream) { sse(); res.write(chunk('Hello')); } else {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': 1000 });
            res.write('{"id":"chatcmpl-mock","choices":[');
          }
          later(50, () => req.socket.resetAndDestroy());
          return;
        case 'close-early':
          req.socket.destroy();
          return;
        case 'garbage':
          if (stream) { sse(); res.end(chunk('Hello') + 'data: {"choices":[{"delta":\n\n'); } else {
            json(200, 'this is not JSON {', 'application/json');
          }
          return;
        case 'garbage-bin': {
          const bytes = crypto.randomBytes(4096);
          if (stream) { sse(); res.end(bytes); } else json(200, bytes.toString('latin1'), 'application/octet-stream');
          return;
        }
        case 'error-503':
          return json(503, JSON.stringify({ error: { message: 'upstream overloaded', type: 'server_error', param: null, code: null } }));
        case 'error-500-html':
          return json(500, '<html><body><h1>500 Internal Server Error</h1></body></html>', 'text/html');
        default:
          if (stream) { sse(); res.end(okStream()); } else json(200, okJson());
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.calls = [];  // the requests it carried, stamped when it closes
    s.on('close', () => {
      sockets.delete(s);
      const now = Date.now();
      for (const rec of s.calls) rec.closedAt = now;
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    port,
    base: `http://127.0.0.1:${port}/v1`,
    stats: () => ({ requests, openSockets: sockets.size }),
    calls,
    async waitCall(model, from = 0, { timeoutMs = 10000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const c = calls.slice(from).find((x) => x.model === model);
        if (c) return c;
        if (Date.now() > deadline) throw new Error(`no call to ${model} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/// TOML for one openai_compat model named `name` whose upstream behaves as `behaviour`.
export function tomlFaultModel(name, behaviour, base, timeouts = {}) {
  const params = { base_url: base, upstream_model: behaviour, ...timeouts };
  const kv = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
  return `[[models]]\nname = "${name}"\nengine = "openai_compat"\nparams = { ${kv} }\n\n`;
}
