// POST /v1/chat/completions on the tiny random-weight model: shapes, streaming, usage, limits,
// stop strings, n, seeds.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, stream } from './lib/server.mjs';

const MODEL = 'tiny-chat';
const MESSAGES = [{ role: 'user', content: 'Tell me a story about a cat.' }];
const GREEDY = { model: MODEL, messages: MESSAGES, temperature: 0, max_tokens: 24 };

let srv;
let baseline; // the greedy non-stream answer to GREEDY

before(async () => {
  srv = await startServer();
  const r = await chat(GREEDY);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  baseline = r.body;
});
after(async () => { await srv?.stop(); });

async function chat(body) {
  return callJson(srv, '/v1/chat/completions', body);
}

function assertUsage(u) {
  assert.ok(u, 'usage present');
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens'])
    assert.ok(Number.isInteger(u[k]) && u[k] >= 0, `usage.${k} is an integer: ${JSON.stringify(u)}`);
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.ok(u.prompt_tokens > 0);
  assert.ok(Number.isInteger(u.prompt_tokens_details?.cached_tokens), 'cached_tokens present');
  assert.ok(u.prompt_tokens_details.cached_tokens >= 0 &&
            u.prompt_tokens_details.cached_tokens <= u.prompt_tokens);
}

test('non-stream response has the OpenAI chat.completion shape', () => {
  const b = baseline;
  assert.match(b.id, /^chatcmpl-[A-Za-z0-9]+$/);
  assert.equal(b.object, 'chat.completion');
  assert.ok(Number.isInteger(b.created));
  assert.ok(Math.abs(b.created - Date.now() / 1000) < 120, `created ${b.created} is now`);
  assert.equal(b.model, MODEL);
  assert.equal(b.choices.length, 1);
  const c = b.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(c.message.content.length > 0, 'non-empty text');
  assert.ok(['stop', 'length'].includes(c.finish_reason), c.finish_reason);
  assertUsage(b.usage);
  assert.ok(b.usage.completion_tokens >= 1 && b.usage.completion_tokens <= 24);
  if (c.finish_reason === 'length') assert.equal(b.usage.completion_tokens, 24);
});

test('temperature 0 is deterministic across requests', async () => {
  const r = await chat(GREEDY);
  assert.equal(r.status, 200);
  assert.equal(r.body.choices[0].message.content, baseline.choices[0].message.content);
  assert.equal(r.body.choices[0].finish_reason, baseline.choices[0].finish_reason);
  assert.equal(r.body.usage.prompt_tokens, baseline.usage.prompt_tokens);
  assert.equal(r.body.usage.completion_tokens, baseline.usage.completion_tokens);
  assert.notEqual(r.body.id, baseline.id);
});

test('a repeated prompt is served from the prefix cache (cached_tokens > 0)', async () => {
  const r = await chat(GREEDY);
  assert.equal(r.status, 200);
  const cached = r.body.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached > 0, `cached_tokens ${cached} on an identical repeated prompt`);
  assert.ok(cached <= r.body.usage.prompt_tokens);
  assert.equal(r.body.choices[0].message.content, baseline.choices[0].message.content);
});

test('stream at temperature 0 yields the same text as non-stream, in well-formed chunks', async () => {
  // The engine merges the deltas that arrive while the relay is busy writing (backpressure), so
  // on a loaded machine a short greedy answer can come as one chunk: up to three tries to see it
  // streamed in several.
  let s;
  for (let i = 0; i < 3; ++i) {
    s = await stream(srv, '/v1/chat/completions', GREEDY);
    if (s.chunks.length >= 2) break;
  }
  assert.ok(s.done, 'stream ended with data: [DONE]');
  assert.equal(s.afterDone.length, 0, 'nothing after [DONE]');
  assert.ok(s.chunks.length >= 2, `several chunks (${s.chunks.length})`);
  const id = s.chunks[0].id;
  assert.match(id, /^chatcmpl-/);
  for (const c of s.chunks) {
    assert.equal(c.object, 'chat.completion.chunk');
    assert.equal(c.id, id);
    assert.equal(c.model, MODEL);
    assert.ok(Number.isInteger(c.created));
    assert.equal(c.choices.length, 1);
    assert.equal(c.choices[0].index, 0);
    assert.ok(c.usage === undefined || c.usage === null, 'no usage without include_usage');
  }
  assert.equal(s.chunks[0].choices[0].delta.role, 'assistant', 'first delta carries the role');
  for (const c of s.chunks.slice(1)) assert.equal(c.choices[0].delta.role, undefined);
  const last = s.chunks.at(-1);
  assert.equal(last.choices[0].finish_reason, baseline.choices[0].finish_reason);
  for (const c of s.chunks.slice(0, -1)) assert.equal(c.choices[0].finish_reason, null);
  assert.equal(s.texts[0], baseline.choices[0].message.content);
  assert.equal(s.usageChunks.length, 0);
});

test('stream_options.include_usage adds a final chunk with empty choices and the same usage', async () => {
  const s = await stream(srv, '/v1/chat/completions',
                         { ...GREEDY, stream_options: { include_usage: true } });
  assert.ok(s.done);
  const last = s.chunks.at(-1);
  assert.deepEqual(last.choices, [], 'usage chunk has empty choices');
  assert.equal(last.object, 'chat.completion.chunk');
  assert.equal(last.id, s.chunks[0].id);
  assertUsage(last.usage);
  assert.equal(last.usage.prompt_tokens, baseline.usage.prompt_tokens);
  assert.equal(last.usage.completion_tokens, baseline.usage.completion_tokens);
  assert.equal(last.usage.total_tokens, baseline.usage.total_tokens);
  // Every other chunk carries "usage": null, as OpenAI's do.
  for (const c of s.chunks.slice(0, -1)) {
    assert.ok('usage' in c && c.usage === null, `usage: null in ${JSON.stringify(c)}`);
    assert.equal(c.choices.length, 1);
  }
  assert.equal(s.texts[0], baseline.choices[0].message.content);
  assert.equal(s.usageChunks.length, 1);
});

test('include_usage: false behaves like no stream_options', async () => {
  const s = await stream(srv, '/v1/chat/completions',
                         { ...GREEDY, stream_options: { include_usage: false } });
  assert.ok(s.done);
  assert.equal(s.usageChunks.length, 0);
  assert.ok(s.chunks.at(-1).choices.length === 1);
  assert.equal(s.texts[0], baseline.choices[0].message.content);
});

test('max_tokens cuts the generation: finish_reason length and completion_tokens == max_tokens', async () => {
  for (const n of [1, 5, 9]) {
    const r = await chat({ ...GREEDY, max_tokens: n });
    assert.equal(r.status, 200);
    assert.equal(r.body.choices[0].finish_reason, 'length', `max_tokens ${n}`);
    assert.equal(r.body.usage.completion_tokens, n);
    // Greedy decoding: a shorter run is a prefix of the longer one.
    assert.ok(baseline.choices[0].message.content.startsWith(r.body.choices[0].message.content),
              `${JSON.stringify(r.body.choices[0].message.content)} is a prefix of the 24-token text`);
  }
  const r = await chat({ ...GREEDY, max_tokens: undefined, max_completion_tokens: 7 });
  assert.equal(r.status, 200);
  assert.equal(r.body.choices[0].finish_reason, 'length');
  assert.equal(r.body.usage.completion_tokens, 7);
  const s = await stream(srv, '/v1/chat/completions',
                         { ...GREEDY, max_tokens: 6, stream_options: { include_usage: true } });
  assert.equal(s.finish[0], 'length');
  assert.equal(s.usageChunks[0].usage.completion_tokens, 6);
});

/// A stop string taken from the middle of the greedy text, and where it first occurs.
function pickStop(text) {
  for (let len = 4; len >= 2; len--) {
    for (let p = Math.floor(text.length / 3); p + len <= text.length; p++) {
      const s = text.slice(p, p + len);
      if (s.trim().length === len && text.indexOf(s) > 0) return { stop: s, at: text.indexOf(s) };
    }
  }
  return null;
}

test('a stop string ends the text before it, with finish_reason stop', async () => {
  const text = baseline.choices[0].message.content;
  const pick = pickStop(text);
  assert.ok(pick, `found a stop string in ${JSON.stringify(text)}`);
  const expected = text.slice(0, pick.at);
  const r = await chat({ ...GREEDY, stop: pick.stop });
  assert.equal(r.status, 200);
  assert.equal(r.body.choices[0].message.content, expected, `stop ${JSON.stringify(pick.stop)}`);
  assert.equal(r.body.choices[0].finish_reason, 'stop');
  assert.ok(r.body.usage.completion_tokens < baseline.usage.completion_tokens);
  // Array form, with strings that never match around it.
  const r2 = await chat({ ...GREEDY, stop: ['\u0000never-1', pick.stop, '\u0000never-2'] });
  assert.equal(r2.body.choices[0].message.content, expected);
  assert.equal(r2.body.choices[0].finish_reason, 'stop');
  // Streaming never leaks the stop string or text after it.
  const s = await stream(srv, '/v1/chat/completions', { ...GREEDY, stop: [pick.stop] });
  assert.equal(s.texts[0] ?? '', expected);
  assert.equal(s.finish[0], 'stop');
  assert.ok(s.done);
});

test('a stop string that never occurs changes nothing', async () => {
  const r = await chat({ ...GREEDY, stop: ['\u0000zz-never-zz'] });
  assert.equal(r.body.choices[0].message.content, baseline.choices[0].message.content);
  assert.equal(r.body.choices[0].finish_reason, baseline.choices[0].finish_reason);
});

test('n = 2 returns two choices (greedy: both equal the single answer)', async () => {
  const r = await chat({ ...GREEDY, n: 2 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices.length, 2);
  assert.deepEqual(r.body.choices.map((c) => c.index), [0, 1]);
  for (const c of r.body.choices) {
    assert.equal(c.message.content, baseline.choices[0].message.content);
    assert.equal(c.finish_reason, baseline.choices[0].finish_reason);
  }
  assert.equal(r.body.usage.prompt_tokens, baseline.usage.prompt_tokens, 'the prompt counts once');
  assert.equal(r.body.usage.completion_tokens, 2 * baseline.usage.completion_tokens,
               'completion tokens of both choices');

  const s = await stream(srv, '/v1/chat/completions',
                         { ...GREEDY, n: 2, stream_options: { include_usage: true } });
  assert.ok(s.done);
  assert.deepEqual(s.texts, [baseline.choices[0].message.content, baseline.choices[0].message.content]);
  assert.deepEqual(s.finish, [baseline.choices[0].finish_reason, baseline.choices[0].finish_reason]);
  // Each choice's first delta carries the role once.
  for (const i of [0, 1]) {
    const roles = s.chunks.flatMap((c) => c.choices.filter((ch) => ch.index === i && ch.delta.role));
    assert.equal(roles.length, 1, `choice ${i} has one role delta`);
  }
  assert.equal(s.usageChunks[0].usage.completion_tokens, r.body.usage.completion_tokens);
});

test('seed makes temperature 1 sampling reproducible', async () => {
  const body = { model: MODEL, messages: MESSAGES, temperature: 1, max_tokens: 16 };
  const a = await chat({ ...body, seed: 1234 });
  const b = await chat({ ...body, seed: 1234 });
  assert.equal(a.status, 200);
  assert.equal(a.body.choices[0].message.content, b.body.choices[0].message.content);
  const sa = await stream(srv, '/v1/chat/completions', { ...body, seed: 1234 });
  assert.equal(sa.texts[0], a.body.choices[0].message.content, 'stream with the same seed');
  const others = [];
  for (const seed of [1, 2, 3]) others.push((await chat({ ...body, seed })).body.choices[0].message.content);
  assert.ok(others.some((t) => t !== a.body.choices[0].message.content),
            `different seeds give different text: ${JSON.stringify([a.body.choices[0].message.content, ...others])}`);
});

test('sampling knobs are accepted (top_p, top_k, min_p, penalties, user)', async () => {
  const r = await chat({ model: MODEL, messages: MESSAGES, max_tokens: 8, temperature: 0.7,
                         top_p: 0.9, top_k: 20, min_p: 0.1, presence_penalty: 0.5,
                         frequency_penalty: 0.5, seed: 7, user: 'tester' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content.length > 0, true);
  assert.ok(r.body.usage.completion_tokens <= 8);
});

test('multi-turn conversation with system, developer, user and assistant roles', async () => {
  const r = await chat({
    model: MODEL, temperature: 0, max_tokens: 8,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'developer', content: 'Answer in English.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'How are you?' },
    ],
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.usage.prompt_tokens > baseline.usage.prompt_tokens, 'longer prompt counted');
});

test('content given as text parts equals the same content as a string', async () => {
  const r = await chat({ ...GREEDY, messages: [{ role: 'user', content: [
    { type: 'text', text: 'Tell me a story ' }, { type: 'text', text: 'about a cat.' }] }] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, baseline.choices[0].message.content);
  assert.equal(r.body.usage.prompt_tokens, baseline.usage.prompt_tokens);
});

test('a different prompt gives a different prompt_tokens count and text', async () => {
  const r = await chat({ ...GREEDY, messages: [{ role: 'user', content: 'Explain quantum physics to a child in simple words, please.' }] });
  assert.equal(r.status, 200);
  assert.ok(r.body.usage.prompt_tokens > baseline.usage.prompt_tokens);
});
