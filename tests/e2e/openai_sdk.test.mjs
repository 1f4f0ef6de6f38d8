// The official OpenAI Node SDK against a real `smmf serve` on the tiny models.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, norm } from '../integration/lib/server.mjs';

let srv;
let client;

before(async () => {
  srv = await startServer();
  client = new OpenAI({ baseURL: `${srv.base}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30000 });
});
after(async () => { await srv?.stop(); });

const MESSAGES = [{ role: 'user', content: 'Write a haiku about the sea.' }];

test('models.list returns both default models', async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    ids.push(m.id);
    assert.equal(m.object, 'model');
    assert.equal(m.owned_by, 'smmf');
  }
  assert.deepEqual(ids.sort(), ['tiny-chat', 'tiny-embed']);
  const one = await client.models.retrieve('tiny-chat');
  assert.equal(one.id, 'tiny-chat');
});

test('chat.completions.create: non-stream and stream give the same text at temperature 0', async () => {
  const params = { model: 'tiny-chat', messages: MESSAGES, temperature: 0, max_tokens: 16 };
  const full = await client.chat.completions.create(params);
  assert.equal(full.object, 'chat.completion');
  assert.equal(full.model, 'tiny-chat');
  assert.equal(full.choices.length, 1);
  assert.equal(full.choices[0].message.role, 'assistant');
  const text = full.choices[0].message.content;
  assert.ok(typeof text === 'string' && text.length > 0);
  assert.ok(['stop', 'length'].includes(full.choices[0].finish_reason));
  assert.equal(full.usage.total_tokens, full.usage.prompt_tokens + full.usage.completion_tokens);

  const s = await client.chat.completions.create({ ...params, stream: true });
  let streamed = '';
  let finish = null;
  let n = 0;
  for await (const chunk of s) {
    n++;
    assert.equal(chunk.object, 'chat.completion.chunk');
    const c = chunk.choices[0];
    streamed += c.delta.content ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.ok(n >= 2);
  assert.equal(streamed, text);
  assert.equal(finish, full.choices[0].finish_reason);

  // withResponse exposes the x-request-id header.
  const { data, response } = await client.chat.completions.create(params).withResponse();
  assert.equal(response.headers.get('x-request-id'), data.id);
  assert.equal(data.choices[0].message.content, text);
});

test('stream with stream_options.include_usage ends with a usage chunk', async () => {
  const params = { model: 'tiny-chat', messages: MESSAGES, temperature: 0, max_tokens: 10 };
  const full = await client.chat.completions.create(params);
  const s = await client.chat.completions.create({ ...params, stream: true,
                                                   stream_options: { include_usage: true } });
  const chunks = [];
  for await (const c of s) chunks.push(c);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage.prompt_tokens, full.usage.prompt_tokens);
  assert.deepEqual(last.usage.completion_tokens, full.usage.completion_tokens);
  assert.deepEqual(last.usage.total_tokens, full.usage.total_tokens);
  for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
});

test('the SDK stream helper (chat.completions.stream) assembles the same message', async () => {
  const params = { model: 'tiny-chat', messages: MESSAGES, temperature: 0, max_tokens: 12 };
  const full = await client.chat.completions.create(params);
  const runner = client.chat.completions.stream(params);
  const final = await runner.finalChatCompletion();
  assert.equal(final.choices[0].message.content, full.choices[0].message.content);
});

test('completions.create: string, array and echo', async () => {
  const one = await client.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time',
                                               temperature: 0, max_tokens: 8 });
  assert.equal(one.object, 'text_completion');
  assert.ok(one.choices[0].text.length > 0);
  const two = await client.completions.create({ model: 'tiny-chat', prompt: ['Once upon a time', 'Hello'],
                                               temperature: 0, max_tokens: 8 });
  assert.equal(two.choices.length, 2);
  assert.equal(two.choices[0].text, one.choices[0].text);
  const echo = await client.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time',
                                                temperature: 0, max_tokens: 8, echo: true });
  assert.equal(echo.choices[0].text, 'Once upon a time' + one.choices[0].text);
  const s = await client.completions.create({ model: 'tiny-chat', prompt: 'Once upon a time',
                                             temperature: 0, max_tokens: 8, stream: true });
  let t = '';
  for await (const c of s) t += c.choices[0]?.text ?? '';
  assert.equal(t, one.choices[0].text);
});

test('embeddings.create: default (SDK asks for base64 and decodes) equals float', async () => {
  const def = await client.embeddings.create({ model: 'tiny-embed', input: 'The sea is calm.' });
  const v = def.data[0].embedding;
  assert.ok(Array.isArray(v), 'decoded to an array');
  assert.equal(v.length, 64);
  assert.ok(v.every((x) => typeof x === 'number' && Number.isFinite(x)));
  assert.ok(Math.abs(norm(v) - 1) < 1e-3);
  const fl = await client.embeddings.create({ model: 'tiny-embed', input: 'The sea is calm.',
                                             encoding_format: 'float' });
  assert.equal(fl.data[0].embedding.length, 64);
  assert.deepEqual(v, fl.data[0].embedding.map((x) => Math.fround(x)));
  const batch = await client.embeddings.create({ model: 'tiny-embed', input: ['a', 'b', 'c'] });
  assert.deepEqual(batch.data.map((d) => d.index), [0, 1, 2]);
  assert.equal(batch.usage.prompt_tokens, batch.usage.total_tokens);
  const short = await client.embeddings.create({ model: 'tiny-embed', input: 'x', dimensions: 8 });
  assert.equal(short.data[0].embedding.length, 8);
});

test('unknown model -> NotFoundError (404)', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: MESSAGES }),
    (e) => {
      assert.ok(e instanceof OpenAI.NotFoundError, `${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 404);
      assert.equal(e.code, 'model_not_found');
      assert.equal(e.param, 'model');
      return true;
    });
  await assert.rejects(client.embeddings.create({ model: 'nope', input: 'x' }),
                       (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
  await assert.rejects(client.models.retrieve('nope'),
                       (e) => e instanceof OpenAI.NotFoundError && e.status === 404);
});

test('response_format json_schema: the SDK gets JSON that follows the schema', async () => {
  const schema = {
    type: 'object', additionalProperties: false, required: ['name', 'age'],
    properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer', minimum: 0, maximum: 150 } },
  };
  const r = await client.chat.completions.create({
    model: 'tiny-chat', messages: MESSAGES, temperature: 0, max_tokens: 300,
    response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema } },
  });
  assert.equal(r.choices[0].finish_reason, 'stop');
  const v = JSON.parse(r.choices[0].message.content);
  assert.deepEqual(Object.keys(v).sort(), ['age', 'name']);
  assert.ok(Number.isInteger(v.age) && v.age >= 0 && v.age <= 150);
});

test('bad params -> BadRequestError (400) naming the param', async () => {
  const cases = [
    [{ model: 'tiny-chat', messages: MESSAGES, temperature: 5 }, 'temperature'],
    [{ model: 'tiny-chat', messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ model: 'tiny-chat', messages: MESSAGES, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    [{ model: 'tiny-chat', messages: MESSAGES,
       response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/nowhere' } } } },
     'response_format'],
    [{ model: 'tiny-chat', messages: MESSAGES, n: 0 }, 'n'],
  ];
  for (const [params, param] of cases) {
    await assert.rejects(client.chat.completions.create(params), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError, `${param}: ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.status, 400);
      assert.equal(e.param, param);
      assert.equal(e.type, 'invalid_request_error');
      return true;
    });
  }
  // A stream that cannot start is a BadRequestError too, not a broken stream.
  await assert.rejects(
    client.chat.completions.create({ model: 'tiny-chat', messages: MESSAGES, top_p: 3, stream: true }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'top_p');
  await assert.rejects(client.embeddings.create({ model: 'tiny-embed', input: 'x', encoding_format: 'hex' }),
                       (e) => e instanceof OpenAI.BadRequestError && e.param === 'encoding_format');
});
