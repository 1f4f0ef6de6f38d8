// Constrained output on the tiny random-weight chat model: response_format (json_object,
// json_schema) and llama-server's `grammar`, streamed and not, chat and completions. Random
// weights prefer nothing in particular, so valid JSON here is the grammar's doing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, stream, assertError } from './lib/server.mjs';

const PERSON = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 150 },
  },
  required: ['name', 'age'],
  additionalProperties: false,
};
const CHAT = {
  model: 'tiny-chat', messages: [{ role: 'user', content: 'A person, as JSON.' }],
  temperature: 0, max_tokens: 300,
  response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: PERSON } },
};

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.stop(); });

function assertPerson(text) {
  const v = JSON.parse(text);
  assert.deepEqual(Object.keys(v).sort(), ['age', 'name'], text);
  assert.equal(typeof v.name, 'string');
  assert.ok(v.name.length >= 1 && [...v.name].length <= 12, text);
  assert.ok(Number.isInteger(v.age) && v.age >= 0 && v.age <= 150, text);
}

test('json_schema: the message content parses and matches the schema', async () => {
  const r = await callJson(srv, '/v1/chat/completions', CHAT);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].finish_reason, 'stop');
  assertPerson(r.body.choices[0].message.content);
});

test('json_schema streamed: the deltas join into the same JSON', async () => {
  const whole = await callJson(srv, '/v1/chat/completions', CHAT);
  const s = await stream(srv, '/v1/chat/completions', CHAT);
  assert.equal(s.texts[0], whole.body.choices[0].message.content);
  assert.equal(s.finish[0], 'stop');
  assertPerson(s.texts[0]);
});

test('json_schema with sampling and n = 2 on /v1/completions', async () => {
  const body = { model: 'tiny-chat', prompt: 'Person:', max_tokens: 300, temperature: 1, seed: 3, n: 2,
                 response_format: CHAT.response_format };
  const r = await callJson(srv, '/v1/completions', body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  for (const c of r.body.choices) assertPerson(c.text);
});

test('json_object: a finished answer is a JSON object', async () => {
  const r = await callJson(srv, '/v1/chat/completions',
    { ...CHAT, max_tokens: 64, response_format: { type: 'json_object' } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const c = r.body.choices[0];
  assert.match(c.message.content, /^\s*\{/);
  if (c.finish_reason === 'stop') assert.equal(typeof JSON.parse(c.message.content), 'object');
});

test('grammar: raw GBNF is followed', async () => {
  const r = await callJson(srv, '/v1/completions', {
    model: 'tiny-chat', prompt: 'Answer:', max_tokens: 16, temperature: 0,
    grammar: 'root ::= ("yes" | "no") "!"' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.choices[0].text, /^(yes|no)!$/);
});

test('a schema that cannot be compiled is a 400 naming response_format', async () => {
  const r = await callJson(srv, '/v1/chat/completions', {
    ...CHAT, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/nowhere' } } } });
  assertError(r, { status: 400, param: 'response_format', type: 'invalid_request_error' });
});
