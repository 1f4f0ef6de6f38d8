// Remote engines through `smmf serve` against mock providers that speak each documented wire
// format (tests/integration/lib/mock_*.mjs): openai_compat presets (OpenAI, Mistral, Moonshot,
// Azure deployment and v1 URL forms), Anthropic Messages, Gemini generateContent; streaming and
// not; upstream errors mapped to OpenAI errors; and the API key never leaking into logs,
// responses, /v1/models, /api/v1/... or `smmf model list`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { startServer, callJson, getJson, postJson, readSse, collectText, assertError, tmpFile,
         SMMF_BIN, checkSanitizerReport } from './lib/server.mjs';
import { startMock } from './lib/mock_http.mjs';
import { openaiHandler, REPLY } from './lib/mock_openai.mjs';
import { anthropicHandler, CLAUDE_REPLY } from './lib/mock_anthropic.mjs';
import { geminiHandler, GEMINI_REPLY } from './lib/mock_gemini.mjs';

const SECRET = `sk-SENTINEL-${randomBytes(12).toString('hex')}`;
const seen = [];
/// Usage without the optional details object.
const usage = (u) => ({ prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens });  // every response body this test received, checked for the secret at the end
let srv, oai, azure, claude, gem;

const remote = (name, engine, params, type = 'llm') => {
  const kv = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
  return `[[models]]\nname = "${name}"\ntype = "${type}"\nengine = "${engine}"\nparams = { ${kv} }\n\n`;
};

before(async () => {
  oai = await startMock(openaiHandler({ auth: { header: 'authorization', value: `Bearer ${SECRET}` } }));
  azure = await startMock(openaiHandler({ auth: { header: 'api-key', value: SECRET } }));
  claude = await startMock(anthropicHandler({ apiKey: SECRET }));
  gem = await startMock(geminiHandler({ apiKey: SECRET }));
  const keyFile = tmpFile('provider-key.txt', `${SECRET}\n`);
  const o = `http://127.0.0.1:${oai.port}/v1`;
  const config =
    remote('oa', 'openai_compat', { preset: 'openai', base_url: o, api_key: '${SMMF_TEST_SECRET}', upstream_model: 'gpt-mock' }) +
    remote('mis', 'openai_compat', { preset: 'mistral', base_url: o, api_key_file: keyFile, upstream_model: 'mistral-mock' }) +
    remote('moon', 'openai_compat', { preset: 'moonshot', base_url: o, api_key: SECRET, upstream_model: 'kimi-choice-usage' }) +
    remote('nousage', 'openai_compat', { base_url: o, api_key: SECRET, upstream_model: 'x-no-usage' }) +
    remote('oa-401', 'openai_compat', { preset: 'openai', base_url: o, api_key: SECRET, upstream_model: 'error-401' }) +
    remote('oa-html', 'openai_compat', { preset: 'openai', base_url: o, api_key: SECRET, upstream_model: 'html-502' }) +
    remote('oa-mid', 'openai_compat', { preset: 'openai', base_url: o, api_key: SECRET, upstream_model: 'midstream-error' }) +
    remote('oa-embed', 'openai_compat', { preset: 'vllm', base_url: o, api_key: SECRET, upstream_model: 'embed-mock' }, 'embedding') +
    remote('az', 'openai_compat', { preset: 'azure', endpoint: `http://127.0.0.1:${azure.port}`, deployment: 'dep-1', api_key: SECRET }) +
    remote('az1', 'openai_compat', { preset: 'azure', endpoint: `http://127.0.0.1:${azure.port}/`, api_key: SECRET, upstream_model: 'gpt-4o' }) +
    remote('claude', 'anthropic', { base_url: `http://127.0.0.1:${claude.port}`, api_key: SECRET, upstream_model: 'claude-mock', max_tokens: 333 }) +
    remote('claude-over', 'anthropic', { base_url: `http://127.0.0.1:${claude.port}`, api_key: SECRET, upstream_model: 'claude-overloaded' }) +
    remote('claude-mid', 'anthropic', { base_url: `http://127.0.0.1:${claude.port}`, api_key: SECRET, upstream_model: 'claude-midstream' }) +
    remote('gem', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, api_key: SECRET, upstream_model: 'gemini-mock' }) +
    remote('gem-bad', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, api_key: SECRET, upstream_model: 'gemini-bad' }) +
    remote('gem-blocked', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, api_key: SECRET, upstream_model: 'gemini-blocked' }) +
    remote('gem-embed', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, api_key: SECRET, upstream_model: 'text-embedding-004' }, 'embedding');
  srv = await startServer({ config, args: ['--log-level', 'debug'], env: { SMMF_TEST_SECRET: SECRET } });
});
after(async () => {
  await srv?.stop();
  for (const m of [oai, azure, claude, gem]) await m?.close();
});

const MESSAGES = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'one' },
  { role: 'user', content: 'two' },
  { role: 'assistant', content: 'three' },
  { role: 'user', content: 'four' },
];

async function chat(model, extra = {}) {
  const r = await callJson(srv, '/v1/chat/completions', { model, messages: MESSAGES, ...extra });
  seen.push(JSON.stringify(r.body));
  return r;
}
async function chatStream(model, extra = {}) {
  const res = await postJson(srv, '/v1/chat/completions',
                             { model, messages: MESSAGES, stream: true, stream_options: { include_usage: true }, ...extra });
  if (res.status !== 200) {
    const text = await res.text();
    seen.push(text);
    return { status: res.status, body: JSON.parse(text) };
  }
  const sse = await readSse(res);
  seen.push(JSON.stringify(sse.events));
  return { status: 200, ...sse, ...collectText(sse.chunks.filter((c) => Array.isArray(c.choices))) };
}

test('openai preset: URL, Bearer key from ${ENV}, max_completion_tokens, OpenAI-only fields', async () => {
  const r = await chat('oa', { max_tokens: 50, top_k: 5, temperature: 0.2 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, REPLY);
  assert.deepEqual(usage(r.body.usage), { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
  const req = oai.last((q) => q.body?.model === 'gpt-mock');
  assert.equal(req.url, '/v1/chat/completions');
  assert.equal(req.headers.authorization, `Bearer ${SECRET}`);
  assert.equal(req.body.max_completion_tokens, 50);
  assert.equal(req.body.max_tokens, undefined);
  assert.equal(req.body.top_k, undefined, 'OpenAI rejects top_k: the preset drops it');
  assert.equal(req.body.messages.length, 5);

  const s = await chatStream('oa', { max_tokens: 1 });
  assert.equal(s.status, 200);
  assert.equal(s.texts[0], 'Hello');
  assert.equal(s.finish[0], 'length');
  assert.ok(s.done);
  assert.equal(s.usageChunks.at(-1).usage.completion_tokens, 4);
  const sreq = oai.last((q) => q.body?.model === 'gpt-mock' && q.body.stream);
  assert.deepEqual(sreq.body.stream_options, { include_usage: true });
});

test('mistral preset: key from api_key_file, random_seed, no stream_options, usage estimated', async () => {
  const s = await chatStream('mis', { seed: 7, user: 'u1' });
  assert.equal(s.status, 200);
  assert.equal(s.texts[0], REPLY);
  const req = oai.last((q) => q.body?.model === 'mistral-mock');
  assert.equal(req.headers.authorization, `Bearer ${SECRET}`);
  assert.equal(req.body.random_seed, 7);
  assert.equal(req.body.seed, undefined);
  assert.equal(req.body.user, undefined);
  assert.equal(req.body.stream_options, undefined);
  // The upstream sent no usage: SMMF estimates it (one token per 4 bytes).
  const u = s.usageChunks.at(-1).usage;
  assert.equal(u.completion_tokens, Math.ceil(REPLY.length / 4));
  assert.ok(u.prompt_tokens > 0);
});

test('moonshot preset: usage inside the last choice is passed through', async () => {
  const s = await chatStream('moon');
  assert.equal(s.texts[0], REPLY);
  assert.deepEqual(usage(s.usageChunks.at(-1).usage), { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 });
  const n = await chat('nousage');
  assert.equal(n.body.usage.completion_tokens, Math.ceil(REPLY.length / 4));
});

test('azure preset: deployment URL with api-version, and the v1 form, with the api-key header', async () => {
  const r = await chat('az');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const req = azure.last((q) => q.url.includes('/deployments/'));
  assert.equal(req.url, '/openai/deployments/dep-1/chat/completions?api-version=2024-10-21');
  assert.equal(req.headers['api-key'], SECRET);
  assert.equal(req.headers.authorization, undefined);
  const s = await chatStream('az1');
  assert.equal(s.texts[0], REPLY);
  const req1 = azure.last((q) => q.url.startsWith('/openai/v1/'));
  assert.equal(req1.url, '/openai/v1/chat/completions');
  assert.equal(req1.body.model, 'gpt-4o');
});

test('upstream errors keep their status and message, in the OpenAI shape, without the key', async () => {
  const r = await chat('oa-401');
  assertError(r, { status: 401, type: 'authentication_error', param: 'messages' });
  assert.match(r.body.error.message, /upstream says no/);
  assert.ok(!r.body.error.message.includes(SECRET));
  const h = await chat('oa-html');
  assertError(h, { status: 502 });
  assert.match(h.body.error.message, /502 Bad Gateway/);
  const m = await chatStream('oa-mid');
  assert.equal(m.status, 200);
  assert.equal(m.done, false, 'no [DONE] after a mid-stream error');
  const err = m.events.find((e) => e.event === 'error');
  assert.ok(err, 'an error event');
  assert.match(JSON.parse(err.data).error.message, /upstream fell over/);
});

test('embeddings through openai_compat and Gemini batchEmbedContents', async () => {
  const e = await callJson(srv, '/v1/embeddings', { model: 'oa-embed', input: ['abc', 'de'] });
  seen.push(JSON.stringify(e.body));
  assert.equal(e.status, 200, JSON.stringify(e.body));
  assert.deepEqual(e.body.data[0].embedding, [3, 1, 0.5]);
  const g = await callJson(srv, '/v1/embeddings', { model: 'gem-embed', input: ['abcd', 'x'] });
  seen.push(JSON.stringify(g.body));
  assert.equal(g.status, 200, JSON.stringify(g.body));
  assert.deepEqual(g.body.data.map((d) => d.embedding), [[4, 0.25, -1], [1, 0.25, -1]]);
  const req = gem.last((q) => q.url.includes(':batchEmbedContents'));
  assert.equal(req.url, '/v1beta/models/text-embedding-004:batchEmbedContents');
  assert.equal(req.body.requests[0].model, 'models/text-embedding-004');
});

test('anthropic: system, merged turns, max_tokens default, stop, streaming events and usage', async () => {
  const r = await chat('claude', { temperature: 0.3, top_p: 0.9, stop: ['Claude'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, 'Hi from ');
  assert.equal(r.body.choices[0].finish_reason, 'stop');
  assert.deepEqual(usage(r.body.usage), { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
  const req = claude.last();
  assert.equal(req.headers['x-api-key'], SECRET);
  assert.equal(req.headers['anthropic-version'], '2023-06-01');
  assert.equal(req.body.system, 'Be brief.');
  assert.equal(req.body.max_tokens, 333);
  assert.deepEqual(req.body.stop_sequences, ['Claude']);
  assert.deepEqual(req.body.messages.map((m) => m.role), ['user', 'assistant', 'user']);
  assert.equal(req.body.messages[0].content, 'one\n\ntwo');

  const s = await chatStream('claude');
  assert.equal(s.texts[0], CLAUDE_REPLY);
  assert.equal(s.finish[0], 'stop');
  assert.ok(s.done);
  assert.deepEqual(usage(s.usageChunks.at(-1).usage), { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
  const l = await chatStream('claude', { max_tokens: 1 });
  assert.equal(l.finish[0], 'length');
  assert.equal(claude.last().body.max_tokens, 1);
});

test('anthropic errors: 529 overloaded, mid-stream event: error', async () => {
  const r = await chat('claude-over');
  assertError(r, { status: 529 });
  assert.match(r.body.error.message, /Overloaded/);
  const m = await chatStream('claude-mid');
  assert.equal(m.status, 200);
  assert.equal(m.done, false);
  const err = m.events.find((e) => e.event === 'error');
  assert.match(JSON.parse(err.data).error.message, /Overloaded mid-stream/);
  const c = await callJson(srv, '/v1/completions', { model: 'claude', prompt: 'x' });
  seen.push(JSON.stringify(c.body));
  assertError(c, { status: 400, code: 'unsupported' });
});

test('gemini: systemInstruction, user/model roles, generationConfig, stream and usageMetadata', async () => {
  const r = await chat('gem', { max_tokens: 20, top_k: 3, stop: ['END'] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, GEMINI_REPLY);
  assert.deepEqual(usage(r.body.usage), { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
  const req = gem.last((q) => q.url.includes(':generateContent'));
  assert.equal(req.url, '/v1beta/models/gemini-mock:generateContent');
  assert.equal(req.headers['x-goog-api-key'], SECRET);
  assert.deepEqual(req.body.systemInstruction, { parts: [{ text: 'Be brief.' }] });
  assert.deepEqual(req.body.contents.map((c) => c.role), ['user', 'model', 'user']);
  assert.equal(req.body.contents[0].parts.length, 2);
  assert.deepEqual(req.body.generationConfig, { stopSequences: ['END'], maxOutputTokens: 20, topK: 3 });

  const s = await chatStream('gem', { max_tokens: 1 });
  assert.equal(s.texts[0], 'Hi');
  assert.equal(s.finish[0], 'length');
  assert.ok(s.done);
  assert.equal(s.usageChunks.at(-1).usage.prompt_tokens, 9);
  assert.ok(gem.last().url.endsWith(':streamGenerateContent?alt=sse'));
});

test('gemini errors: INVALID_ARGUMENT kept, blocked prompt is a 400', async () => {
  const r = await chat('gem-bad');
  assertError(r, { status: 400 });
  assert.match(r.body.error.message, /Invalid value at generation_config/);
  const b = await chat('gem-blocked');
  assertError(b, { status: 400, param: 'messages' });
  assert.match(b.body.error.message, /SAFETY/);
});

test('curl streams through a remote engine', async () => {
  const out = await new Promise((resolve, reject) => {
    const c = spawn('curl', ['-sN', srv.url('/v1/chat/completions'), '-H', 'content-type: application/json',
      '-d', JSON.stringify({ model: 'claude', stream: true, messages: [{ role: 'user', content: 'hi' }] })]);
    let s = '';
    c.stdout.setEncoding('utf8').on('data', (d) => { s += d; });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(s) : reject(new Error(`curl exited ${code}`))));
  });
  seen.push(out);
  assert.match(out, /"content":"Hi /);
  assert.ok(out.trimEnd().endsWith('data: [DONE]'));
});

function run(args) {
  return new Promise((resolve, reject) => {
    const c = spawn(SMMF_BIN, args, { env: { ...process.env, SMMF_CONTROLLER: '', SMMF_API: '' } });
    let out = '';
    c.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    c.stderr.setEncoding('utf8').on('data', (d) => { out += d; });
    c.on('error', reject);
    c.on('close', (code) => {
      checkSanitizerReport(out, `smmf ${args.join(' ')}`);
      resolve({ code, out });
    });
  });
}

test('the API key appears in no log line, response, model list or management route', async () => {
  const models = await getJson(srv, '/v1/models');
  assert.equal(models.status, 200);
  assert.ok(models.body.data.some((m) => m.id === 'claude'));
  seen.push(JSON.stringify(models.body));
  for (const p of ['/api/v1/instances', '/api/v1/models', '/api/v1/workers', '/v1/models/gem']) {
    const r = await fetch(srv.url(p));
    const text = await r.text();
    seen.push(text);
  }
  const list = await run(['model', 'list', '--controller', srv.base]);
  assert.equal(list.code, 0, list.out);
  assert.match(list.out, /claude/);
  seen.push(list.out);
  const json = await run(['model', 'list', '--json', '--controller', srv.base]);
  seen.push(json.out);
  // The mock echoed the key into one of its error messages: SMMF redacted it.
  assert.ok(seen.some((s) => s.includes('[redacted]')), 'the echoed key was redacted');
  for (const s of seen) assert.ok(!s.includes(SECRET), `secret leaked in a response: ${s.slice(0, 300)}`);
  assert.ok(srv.lines.length > 20);
  assert.ok(!srv.log().includes(SECRET), 'secret leaked into the log');
  assert.ok(!srv.log().includes(SECRET.slice(3)), 'part of the secret leaked into the log');
});
