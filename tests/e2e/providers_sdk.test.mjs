// The official OpenAI Node SDK against `smmf serve` fronting remote engines, each talking to a
// mock provider that speaks the provider's documented wire format: an openai_compat preset, the
// Azure deployment form, Anthropic Messages and Gemini; streaming and not; errors as SDK errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer } from '../integration/lib/server.mjs';
import { startMock } from '../integration/lib/mock_http.mjs';
import { openaiHandler, REPLY } from '../integration/lib/mock_openai.mjs';
import { anthropicHandler, CLAUDE_REPLY } from '../integration/lib/mock_anthropic.mjs';
import { geminiHandler, GEMINI_REPLY } from '../integration/lib/mock_gemini.mjs';

const KEY = 'sk-e2e-provider-key';
let srv, client, oai, azure, claude, gem;

const remote = (name, engine, params, type = 'llm') => {
  const kv = Object.entries({ api_key: KEY, ...params }).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
  return `[[models]]\nname = "${name}"\ntype = "${type}"\nengine = "${engine}"\nparams = { ${kv} }\n\n`;
};

before(async () => {
  oai = await startMock(openaiHandler({ auth: { header: 'authorization', value: `Bearer ${KEY}` } }));
  azure = await startMock(openaiHandler({ auth: { header: 'api-key', value: KEY } }));
  claude = await startMock(anthropicHandler({ apiKey: KEY }));
  gem = await startMock(geminiHandler({ apiKey: KEY }));
  const config =
    remote('deepseek-chat', 'openai_compat', { preset: 'deepseek', base_url: `http://127.0.0.1:${oai.port}/v1` }) +
    remote('deepseek-fail', 'openai_compat', { preset: 'deepseek', base_url: `http://127.0.0.1:${oai.port}/v1`, upstream_model: 'error-429' }) +
    remote('azure-gpt', 'openai_compat', { preset: 'azure', endpoint: `http://127.0.0.1:${azure.port}`, deployment: 'gpt4o', api_version: '2024-10-21' }) +
    remote('claude', 'anthropic', { base_url: `http://127.0.0.1:${claude.port}`, upstream_model: 'claude-sonnet' }) +
    remote('claude-over', 'anthropic', { base_url: `http://127.0.0.1:${claude.port}`, upstream_model: 'claude-overloaded' }) +
    remote('gemini', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, upstream_model: 'gemini-2.0-flash' }) +
    remote('gemini-embed', 'gemini', { base_url: `http://127.0.0.1:${gem.port}/v1beta`, upstream_model: 'text-embedding-004' }, 'embedding');
  srv = await startServer({ config });
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
});
after(async () => {
  await srv?.stop();
  for (const m of [oai, azure, claude, gem]) await m?.close();
});

const MESSAGES = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Say hello.' }];

for (const [model, reply] of [['deepseek-chat', REPLY], ['azure-gpt', REPLY], ['claude', CLAUDE_REPLY], ['gemini', GEMINI_REPLY]]) {
  test(`${model}: create and stream with the SDK`, async () => {
    const full = await client.chat.completions.create({ model, messages: MESSAGES, temperature: 0.1 });
    assert.equal(full.object, 'chat.completion');
    assert.equal(full.model, model);
    assert.equal(full.choices[0].message.content, reply);
    assert.equal(full.choices[0].finish_reason, 'stop');
    assert.ok(full.usage.prompt_tokens > 0 && full.usage.completion_tokens > 0);

    const stream = await client.chat.completions.create({
      model, messages: MESSAGES, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish = null;
    let usage = null;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        text += c.delta.content ?? '';
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    assert.equal(text, reply);
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
  });
}

test('max_tokens reaching the limit is finish_reason length on every engine', async () => {
  for (const model of ['deepseek-chat', 'claude', 'gemini']) {
    const r = await client.chat.completions.create({ model, messages: MESSAGES, max_tokens: 1 });
    assert.equal(r.choices[0].finish_reason, 'length', model);
  }
});

test('upstream errors reach the SDK as APIError with the upstream status', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'deepseek-fail', messages: MESSAGES }),
                       (e) => e instanceof OpenAI.RateLimitError && e.status === 429 && /upstream says no/.test(e.message));
  await assert.rejects(client.chat.completions.create({ model: 'claude-over', messages: MESSAGES }),
                       (e) => e instanceof OpenAI.APIError && e.status === 529 && /Overloaded/.test(e.message));
});

test('embeddings through Gemini with the SDK', async () => {
  const r = await client.embeddings.create({ model: 'gemini-embed', input: ['hello', 'hi'], encoding_format: 'float' });
  assert.equal(r.data.length, 2);
  assert.deepEqual(r.data[0].embedding, [5, 0.25, -1]);
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids.sort(), ['azure-gpt', 'claude', 'claude-over', 'deepseek-chat', 'deepseek-fail', 'gemini', 'gemini-embed']);
});
