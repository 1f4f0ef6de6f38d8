// Every openai_compat preset through `smmf serve`'s public API against the mock OpenAI-compatible
// provider (lib/mock_openai.mjs), streamed and not: the request reaches <base_url>/chat/completions
// with the preset's auth header, the answer comes back in OpenAI's shape, and the documented
// quirks hold (temperature clamped to 0..1 where the provider only takes that range). The list of
// presets is read from smmf itself, so a new preset is tested without editing this file. Azure's
// URL forms are covered in providers.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer, callJson, postJson, readSse, collectText, runSmmf, tmpFile } from './lib/server.mjs';
import { startMock } from './lib/mock_http.mjs';
import { openaiHandler, REPLY } from './lib/mock_openai.mjs';

const SECRET = `sk-PRESET-${randomBytes(8).toString('hex')}`;
// Providers whose documentation gives temperature as 0..1 (see docs/engines.md).
const UNIT_TEMPERATURE = new Set(['moonshot', 'zhipu', 'baichuan', 'spark']);
let srv, oai, presets;

function presetNames() {
  const cfg = tmpFile(`preset-unknown-${process.pid}.toml`,
    '[[models]]\nname = "x"\nengine = "openai_compat"\nparams = { preset = "no-such-preset" }\n');
  const r = runSmmf(['serve', '--port', '0', '--config', cfg]);
  assert.equal(r.code, 2, r.stderr);
  const m = /'no-such-preset' is not a known preset \(([^)]*)\)/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return m[1].split(',').map((s) => s.trim()).filter(Boolean);
}

before(async () => {
  presets = presetNames().filter((p) => p !== 'azure');
  oai = await startMock(openaiHandler({ auth: { header: 'authorization', value: `Bearer ${SECRET}` } }));
  const base = `http://127.0.0.1:${oai.port}/v1`;
  const config = presets.map((p) => [
    '[[models]]', `name = "p-${p}"`, 'engine = "openai_compat"',
    `params = { preset = "${p}", base_url = "${base}", api_key = "${SECRET}", upstream_model = "up-${p}" }`, '',
  ].join('\n')).join('\n');
  srv = await startServer({ config });
});
after(async () => {
  await srv?.stop();
  await oai?.close();
});

test('smmf names at least the presets the documentation promises', () => {
  for (const p of ['openai', 'deepseek', 'moonshot', 'tongyi', 'zhipu', 'baichuan', 'spark', 'wenxin',
    'yi', 'siliconflow', 'mistral', 'groq', 'together', 'openrouter', 'ollama', 'vllm', 'sglang',
    'llama-server', 'lmstudio']) {
    assert.ok(presets.includes(p), `preset ${p} is missing from ${presets.join(', ')}`);
  }
});

test('every preset: a chat completion, then a stream, through the public API', async () => {
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }];
  for (const p of presets) {
    const r = await callJson(srv, '/v1/chat/completions',
                             { model: `p-${p}`, messages, temperature: 1.5, max_tokens: 20 });
    assert.equal(r.status, 200, `${p}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.object, 'chat.completion', p);
    assert.equal(r.body.model, `p-${p}`, `${p}: the client's model name, not the upstream's`);
    assert.equal(r.body.choices[0].message.content, REPLY, p);
    assert.ok(r.body.usage.total_tokens > 0, p);
    const req = oai.last((q) => q.body?.model === `up-${p}` && !q.body.stream);
    assert.ok(req, `${p}: the mock saw the request`);
    assert.equal(req.url, '/v1/chat/completions', p);
    assert.equal(req.headers.authorization, `Bearer ${SECRET}`, p);
    assert.equal(req.body.messages.length, 2, p);
    const t = req.body.temperature;
    if (UNIT_TEMPERATURE.has(p)) assert.ok(t <= 1, `${p}: temperature ${t} clamped to 0..1`);
    else assert.equal(t, 1.5, p);

    const res = await postJson(srv, '/v1/chat/completions', {
      model: `p-${p}`, messages, stream: true, stream_options: { include_usage: true },
    });
    assert.equal(res.status, 200, p);
    const sse = await readSse(res);
    assert.ok(sse.done, `${p}: the stream ends with [DONE]`);
    const { texts, finish, usageChunks } = collectText(sse.chunks.filter((c) => Array.isArray(c.choices)));
    assert.equal(texts[0], REPLY, p);
    assert.equal(finish[0], 'stop', p);
    assert.ok(usageChunks.length >= 1 && usageChunks.at(-1).usage.total_tokens > 0,
              `${p}: usage in the last chunk, passed through or counted`);
    for (const c of sse.chunks) assert.equal(c.model, `p-${p}`, p);
    const sreq = oai.last((q) => q.body?.model === `up-${p}` && q.body.stream);
    assert.ok(sreq, `${p}: the mock saw the stream request`);
    assert.equal(sreq.headers.authorization, `Bearer ${SECRET}`, p);
  }
});
