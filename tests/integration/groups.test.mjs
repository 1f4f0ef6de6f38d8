// Model groups (fallbacks) and per-model call timeouts, through `smmf serve`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, callJson, postJson, readSse, getJson, tomlModel, sleep,
} from './lib/server.mjs';
import { startMockTgi } from './lib/mock_hf.mjs';

const servers = [];
const mocks = [];
after(async () => {
  for (const s of servers) await s.stop();
  for (const m of mocks) await m.close();
});

test('group: the primary model stopped under a stream of requests; the fallback serves all', async () => {
  const srv = await startServer({
    config: tomlModel({ name: 'primary' }) + tomlModel({ name: 'backup' }) +
      '[[groups]]\nname = "assistant"\nmodels = ["primary", "backup"]\n',
  });
  servers.push(srv);
  const models = await getJson(srv, '/v1/models');
  assert.ok(models.body.data.some((m) => m.id === 'assistant'), JSON.stringify(models.body));

  const TOTAL = 60;
  let done = 0;
  let stopped = null;
  const results = [];
  const one = async (i) => {
    const body = { model: 'assistant', messages: [{ role: 'user', content: `hi ${i}` }], max_tokens: 3 };
    if (i % 2) {
      const res = await postJson(srv, '/v1/chat/completions', { ...body, stream: true });
      const status = res.status;
      const sse = status === 200 ? await readSse(res) : { done: false, text: await res.text() };
      results.push({ i, status, ok: status === 200 && sse.done, detail: sse.text });
    } else {
      const r = await callJson(srv, '/v1/chat/completions', body);
      results.push({ i, status: r.status, ok: r.status === 200, detail: JSON.stringify(r.body) });
    }
    if (++done === 10) {
      stopped = callJson(srv, '/api/v1/models/primary/stop', {});
    }
  };
  let next = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (next < TOTAL) await one(next++);
  }));
  const st = await stopped;
  assert.equal(st.status, 200, JSON.stringify(st.body));
  assert.equal(st.body.state, 'stopped');
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, [], 'every request was served');
  assert.equal(results.length, TOTAL);
  // After the stop, calls went to the backup model.
  const r = await callJson(srv, '/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'x' }], max_tokens: 2 });
  assert.equal(r.status, 200);
  const lines = srv.accessLines('POST', '/v1/chat/completions');
  assert.match(lines.at(-1), /member=backup/);
  assert.ok(lines.some((l) => /member=primary/.test(l)), 'the primary served before the stop');
  // With both stopped, the group answers 503 naming it.
  await callJson(srv, '/api/v1/models/backup/stop', {});
  const none = await callJson(srv, '/v1/chat/completions', { model: 'assistant', messages: [{ role: 'user', content: 'x' }] });
  assert.equal(none.status, 503, JSON.stringify(none.body));
  assert.match(none.body.error.message, /group 'assistant'/);
});

test('config: groups are validated', async () => {
  const { runSmmf, tmpFile } = await import('./lib/server.mjs');
  const bad = (toml) => runSmmf(['serve', '--port', '0', '--config', tmpFile(`g-${Math.random()}.toml`, toml)]);
  let r = bad(tomlModel({ name: 'a' }) + '[[groups]]\nname = "g"\nmodels = []\n');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /groups\[0\]\.models/);
  r = bad(tomlModel({ name: 'a' }) + '[[groups]]\nname = "a"\nmodels = ["a"]\n');
  assert.match(r.stderr, /also a model's name/);
  r = bad(tomlModel({ name: 'a' }) + '[[groups]]\nname = "g"\nmodels = ["a"]\nwhat = 1\n');
  assert.match(r.stderr, /groups\[0\]\.what/);
});

test('timeouts: request_timeout_ms -> SSE timeout error mid-stream; first_token_timeout_ms -> 504', async () => {
  const slow = await startMockTgi({ tokenDelayMs: 300 });
  const late = await startMockTgi({ firstTokenDelayMs: 3000 });
  mocks.push(slow, late);
  const srv = await startServer({
    config: `
[[models]]
name = "slow"
engine = "tgi"
request_timeout_ms = 1000
params = { base_url = "${slow.url}" }

[[models]]
name = "late"
engine = "tgi"
first_token_timeout_ms = 500
params = { base_url = "${late.url}" }
`,
  });
  servers.push(srv);
  // 20 tokens at 300 ms each: the stream starts, then ends with a timeout error event.
  const res = await postJson(srv, '/v1/completions', { model: 'slow', prompt: 'x', max_tokens: 20, stream: true });
  assert.equal(res.status, 200);
  const sse = await readSse(res);
  assert.equal(sse.done, false);
  assert.ok(sse.chunks.length >= 1, 'some tokens arrived before the deadline');
  const last = sse.events.at(-1);
  assert.equal(last.event, 'error');
  assert.equal(JSON.parse(last.data).error.code, 'timeout');
  // Within the deadline the same model answers.
  const ok = await callJson(srv, '/v1/completions', { model: 'slow', prompt: 'x', max_tokens: 1 });
  assert.equal(ok.status, 200);
  // No first token within 500 ms: 504 before any byte.
  const t0 = Date.now();
  const r = await callJson(srv, '/v1/completions', { model: 'late', prompt: 'x', max_tokens: 2, stream: true });
  assert.equal(r.status, 504, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'timeout');
  assert.match(r.body.error.message, /first_token_timeout_ms/);
  console.log(`first-token timeout answered after ${Date.now() - t0} ms`);
  await sleep(10);
});
