// POST /v1/completions: string and array prompts, echo, n, streaming.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, stream } from './lib/server.mjs';

const MODEL = 'tiny-chat';
const P1 = 'Once upon a time';
const P2 = 'The capital of France is';
const BASE = { model: MODEL, temperature: 0, max_tokens: 12 };

let srv;
const single = {}; // prompt -> greedy non-stream body

before(async () => {
  srv = await startServer();
  for (const p of [P1, P2]) {
    const r = await complete({ ...BASE, prompt: p });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    single[p] = r.body;
  }
});
after(async () => { await srv?.stop(); });

function complete(body) {
  return callJson(srv, '/v1/completions', body);
}

test('string prompt: text_completion shape and usage', () => {
  const b = single[P1];
  assert.match(b.id, /^cmpl-[A-Za-z0-9]+$/);
  assert.equal(b.object, 'text_completion');
  assert.ok(Number.isInteger(b.created));
  assert.equal(b.model, MODEL);
  assert.equal(b.choices.length, 1);
  const c = b.choices[0];
  assert.equal(c.index, 0);
  assert.equal(typeof c.text, 'string');
  assert.ok(c.text.length > 0);
  assert.ok('logprobs' in c && c.logprobs === null);
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assert.equal(b.usage.total_tokens, b.usage.prompt_tokens + b.usage.completion_tokens);
  assert.ok(b.usage.prompt_tokens >= 4, `prompt_tokens ${b.usage.prompt_tokens} for "${P1}"`);
  if (c.finish_reason === 'length') assert.equal(b.usage.completion_tokens, 12);
  // The two prompts lead to different continuations on the same weights.
  assert.notEqual(single[P1].choices[0].text, single[P2].choices[0].text);
});

test('completion is not wrapped in the chat template (prompt_tokens far below chat)', async () => {
  const chat = await callJson(srv, '/v1/chat/completions',
                              { ...BASE, messages: [{ role: 'user', content: P1 }] });
  assert.equal(chat.status, 200);
  assert.ok(single[P1].usage.prompt_tokens < chat.body.usage.prompt_tokens,
            `completion ${single[P1].usage.prompt_tokens} < chat ${chat.body.usage.prompt_tokens}`);
});

test('stream at temperature 0 equals non-stream; include_usage matches', async () => {
  const s = await stream(srv, '/v1/completions',
                         { ...BASE, prompt: P1, stream_options: { include_usage: true } });
  assert.ok(s.done);
  for (const c of s.chunks) {
    assert.equal(c.object, 'text_completion');
    assert.equal(c.id, s.chunks[0].id);
    assert.equal(c.model, MODEL);
  }
  assert.equal(s.texts[0], single[P1].choices[0].text);
  assert.equal(s.finish[0], single[P1].choices[0].finish_reason);
  const u = s.chunks.at(-1);
  assert.deepEqual(u.choices, []);
  assert.equal(u.usage.prompt_tokens, single[P1].usage.prompt_tokens);
  assert.equal(u.usage.completion_tokens, single[P1].usage.completion_tokens);
  assert.equal(u.usage.total_tokens, single[P1].usage.total_tokens);
});

test('array of prompts: one choice per prompt, in order, each as if alone', async () => {
  const r = await complete({ ...BASE, prompt: [P1, P2] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices.length, 2);
  assert.deepEqual(r.body.choices.map((c) => c.index), [0, 1]);
  assert.equal(r.body.choices[0].text, single[P1].choices[0].text);
  assert.equal(r.body.choices[1].text, single[P2].choices[0].text);
  assert.equal(r.body.usage.prompt_tokens,
               single[P1].usage.prompt_tokens + single[P2].usage.prompt_tokens);
  assert.equal(r.body.usage.completion_tokens,
               single[P1].usage.completion_tokens + single[P2].usage.completion_tokens);
  // The same, streamed.
  const s = await stream(srv, '/v1/completions', { ...BASE, prompt: [P1, P2] });
  assert.deepEqual(s.texts, [single[P1].choices[0].text, single[P2].choices[0].text]);
  assert.ok(s.done);
});

test('array of prompts with n = 2: index = prompt * n + choice', async () => {
  const r = await complete({ ...BASE, prompt: [P1, P2], n: 2 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.choices.map((c) => c.index), [0, 1, 2, 3]);
  assert.deepEqual(r.body.choices.map((c) => c.text), [
    single[P1].choices[0].text, single[P1].choices[0].text,
    single[P2].choices[0].text, single[P2].choices[0].text]);
});

test('echo prepends the prompt to the text', async () => {
  const r = await complete({ ...BASE, prompt: P1, echo: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].text, P1 + single[P1].choices[0].text);
  assert.equal(r.body.usage.completion_tokens, single[P1].usage.completion_tokens);
  const r2 = await complete({ ...BASE, prompt: [P1, P2], echo: true });
  assert.equal(r2.body.choices[1].text, P2 + single[P2].choices[0].text);
  const s = await stream(srv, '/v1/completions', { ...BASE, prompt: P1, echo: true });
  assert.equal(s.texts[0], P1 + single[P1].choices[0].text, 'streamed echo');
});

test('max_tokens on completions: finish_reason length with exactly max_tokens', async () => {
  const r = await complete({ ...BASE, prompt: P2, max_tokens: 3 });
  assert.equal(r.body.choices[0].finish_reason, 'length');
  assert.equal(r.body.usage.completion_tokens, 3);
  assert.ok(single[P2].choices[0].text.startsWith(r.body.choices[0].text));
});

test('stop on completions', async () => {
  const text = single[P2].choices[0].text;
  let stop = null;
  for (let p = Math.floor(text.length / 3); p + 3 <= text.length && !stop; p++) {
    const s = text.slice(p, p + 3);
    if (s.trim().length === 3 && text.indexOf(s) > 0) stop = s;
  }
  assert.ok(stop, `a stop string in ${JSON.stringify(text)}`);
  const r = await complete({ ...BASE, prompt: P2, stop });
  assert.equal(r.body.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(r.body.choices[0].finish_reason, 'stop');
});
