// Mock Hugging Face servers for the tgi and tei engines: Text Generation Inference (native
// /generate, /generate_stream and the Messages API /v1/chat/completions) and Text Embeddings
// Inference (/embed, /rerank). They check request fields as TGI/TEI document them, answer with
// the documented shapes, stream events and error bodies ({"error", "error_type"}), and record
// every request for the tests to inspect.
import http from 'node:http';

const WORDS = [' alpha', ' beta', ' gamma', ' delta', ' epsilon', ' zeta', ' eta', ' theta'];

function readBody(req) {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { s += d; });
    req.on('end', () => resolve(s));
  });
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function listen(handler) {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((e) => { if (!res.headersSent) send(res, 500, { error: String(e), error_type: 'mock' }); });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    requests: [],
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/// TGI parameter validation, as TGI's router does (422, error_type "validation").
function validateTgi(body) {
  if (typeof body.inputs !== 'string' || body.inputs.length === 0) return '`inputs` must be a non-empty string';
  const p = body.parameters ?? {};
  if (typeof p !== 'object') return '`parameters` must be an object';
  const known = ['best_of', 'decoder_input_details', 'details', 'do_sample', 'frequency_penalty', 'grammar',
    'max_new_tokens', 'repetition_penalty', 'return_full_text', 'seed', 'stop', 'temperature', 'top_k',
    'top_n_tokens', 'top_p', 'truncate', 'typical_p', 'watermark', 'adapter_id'];
  for (const k of Object.keys(p)) if (!known.includes(k)) return `unknown parameter \`${k}\``;
  if (p.temperature !== undefined && !(p.temperature > 0)) return '`temperature` must be strictly positive';
  if (p.top_p !== undefined && !(p.top_p > 0 && p.top_p < 1)) return '`top_p` must be > 0.0 and < 1.0';
  if (p.top_k !== undefined && !(Number.isInteger(p.top_k) && p.top_k > 0)) return '`top_k` must be strictly positive';
  if (p.typical_p !== undefined && !(p.typical_p > 0 && p.typical_p < 1)) return '`typical_p` must be > 0.0 and < 1.0';
  if (p.repetition_penalty !== undefined && !(p.repetition_penalty > 0)) return '`repetition_penalty` must be strictly positive';
  if (p.max_new_tokens !== undefined && !(Number.isInteger(p.max_new_tokens) && p.max_new_tokens > 0)) return '`max_new_tokens` must be strictly positive';
  if (p.stop !== undefined && !(Array.isArray(p.stop) && p.stop.length <= 4 && p.stop.every((s) => typeof s === 'string'))) return '`stop` must be at most 4 strings';
  if (p.seed !== undefined && !Number.isInteger(p.seed)) return '`seed` must be an integer';
  if (p.do_sample !== undefined && typeof p.do_sample !== 'boolean') return '`do_sample` must be a boolean';
  return null;
}

/// The deterministic generation of the mock: words in order until max_new_tokens, a stop
/// sequence (kept in the text, as TGI does), or "EOS" in the prompt (ends after 3 tokens).
function generate(body) {
  const p = body.parameters ?? {};
  const max = p.max_new_tokens ?? 20;
  const tokens = [];
  let text = '';
  let finish = 'length';
  for (let i = 0; i < max; i++) {
    if (body.inputs.includes('EOS') && i === 3) {
      tokens.push({ id: 2, text: '</s>', logprob: -0.1, special: true });
      finish = 'eos_token';
      break;
    }
    const w = WORDS[i % WORDS.length];
    tokens.push({ id: 100 + i, text: w, logprob: -0.5, special: false });
    text += w;
    if ((p.stop ?? []).some((s) => text.endsWith(s))) { finish = 'stop_sequence'; break; }
  }
  const promptTokens = body.inputs.split(/\s+/).filter(Boolean).length;
  return { tokens, text, finish, promptTokens, seed: p.seed ?? null };
}

export async function startMockTgi({ tokenDelayMs = 0, firstTokenDelayMs = 0 } = {}) {
  const m = await listen(async (req, res) => {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, {});
    const raw = await readBody(req);
    let body;
    try { body = JSON.parse(raw); } catch { return send(res, 422, { error: 'invalid JSON', error_type: 'validation' }); }
    m.requests.push({ path: req.url, body, headers: req.headers });
    if (req.method === 'POST' && req.url === '/v1/chat/completions') return chat(body, res);
    if (req.method !== 'POST' || (req.url !== '/generate' && req.url !== '/generate_stream')) return send(res, 404, { error: 'not found', error_type: 'not_found' });
    const bad = validateTgi(body);
    if (bad) return send(res, 422, { error: `Input validation error: ${bad}`, error_type: 'validation' });
    if (body.inputs.includes('FAIL')) return send(res, 424, { error: 'Request failed during generation: Server error: boom', error_type: 'generation' });
    if (body.inputs.includes('OVERLOAD')) return send(res, 429, { error: 'Model is overloaded', error_type: 'overloaded' });
    const g = generate(body);
    if (req.url === '/generate') {
      await sleep(firstTokenDelayMs + tokenDelayMs * g.tokens.length);
      return send(res, 200, {
        generated_text: g.text,
        details: { finish_reason: g.finish, generated_tokens: g.tokens.length, seed: g.seed, prefill: [], tokens: g.tokens },
      }, { 'x-prompt-tokens': String(g.promptTokens), 'x-generated-tokens': String(g.tokens.length) });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    await sleep(firstTokenDelayMs);
    for (let i = 0; i < g.tokens.length; i++) {
      if (res.destroyed) return;
      if (body.inputs.includes('STREAMERR') && i === 2) {
        res.write(`data:${JSON.stringify({ error: 'Request failed during generation: Server error: CUDA OOM', error_type: 'generation' })}\n\n`);
        return res.end();
      }
      const last = i === g.tokens.length - 1;
      const ev = {
        index: i + 1, token: g.tokens[i], top_tokens: null,
        generated_text: last ? g.text : null,
        details: last ? { finish_reason: g.finish, generated_tokens: g.tokens.length, seed: g.seed, input_length: g.promptTokens } : null,
      };
      res.write(`data:${JSON.stringify(ev)}\n\n`);
      if (tokenDelayMs) await sleep(tokenDelayMs);
    }
    res.end();
  });
  return m;

  function chat(body, res) {
    if (!Array.isArray(body.messages) || body.messages.length === 0) return send(res, 422, { error: 'messages must be a non-empty array', error_type: 'validation' });
    const last = body.messages[body.messages.length - 1];
    const content = `tgi-chat: ${last.content}`;
    const id = 'chatcmpl-mock';
    if (!body.stream) {
      return send(res, 200, {
        id, object: 'chat.completion', created: 1, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const [i, piece] of ['tgi-chat:', ` ${last.content}`].entries()) {
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: body.model,
        choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content: piece } : { content: piece }, finish_reason: null }] })}\n\n`);
    }
    res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: body.model,
      choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } })}\n\n`);
    res.write('data: [DONE]\n\n');
    res.end();
  }
}

/// The mock's embedding of `text`: 8 numbers from the characters, unit length when normalized.
export function mockEmbedding(text, normalize = true) {
  const v = new Array(8).fill(0);
  for (let i = 0; i < text.length; i++) v[i % 8] += text.charCodeAt(i) / 100;
  if (!normalize) return v;
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

/// The mock's relevance: the share of query words found in the text.
export function mockScore(query, text) {
  const q = query.toLowerCase().split(/\W+/).filter(Boolean);
  const t = new Set(text.toLowerCase().split(/\W+/).filter(Boolean));
  return q.filter((w) => t.has(w)).length / q.length;
}

export async function startMockTei() {
  const m = await listen(async (req, res) => {
    if (req.method === 'GET' && req.url === '/health') return send(res, 200, {});
    const raw = await readBody(req);
    let body;
    try { body = JSON.parse(raw); } catch { return send(res, 422, { error: 'invalid JSON', error_type: 'Validation' }); }
    m.requests.push({ path: req.url, body, headers: req.headers });
    const words = (s) => s.split(/\s+/).filter(Boolean).length;
    if (req.method === 'POST' && req.url === '/embed') {
      const inputs = typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
      if (!Array.isArray(inputs) || inputs.length === 0 || !inputs.every((s) => typeof s === 'string'))
        return send(res, 422, { error: '`inputs` cannot be empty', error_type: 'Validation' });
      if (body.normalize !== undefined && typeof body.normalize !== 'boolean') return send(res, 422, { error: '`normalize` must be a boolean', error_type: 'Validation' });
      if (inputs.some((s) => s.includes('TOO_LONG')))
        return send(res, 413, { error: 'Input validation error: `inputs` must have less than 512 tokens', error_type: 'Validation' });
      const tokens = inputs.reduce((s, x) => s + words(x), 0);
      return send(res, 200, inputs.map((s) => mockEmbedding(s, body.normalize ?? true)), { 'x-compute-tokens': String(tokens) });
    }
    if (req.method === 'POST' && req.url === '/rerank') {
      if (typeof body.query !== 'string' || !Array.isArray(body.texts) || body.texts.length === 0)
        return send(res, 422, { error: '`texts` cannot be empty', error_type: 'Validation' });
      if (body.texts.some((s) => s.includes('TOO_LONG')))
        return send(res, 413, { error: 'Input validation error: `inputs` must have less than 512 tokens', error_type: 'Validation' });
      const results = body.texts.map((t, index) => {
        const r = { index, score: mockScore(body.query, t) };
        if (body.return_text) r.text = t;
        return r;
      }).sort((a, b) => b.score - a.score);
      const tokens = body.texts.reduce((s, x) => s + words(x) + words(body.query), 0);
      return send(res, 200, results, { 'x-compute-tokens': String(tokens) });
    }
    return send(res, 404, { error: 'not found', error_type: 'not_found' });
  });
  return m;
}
