// Fault injection: `smmf serve` with openai_compat models whose upstream (a Node mock, see
// lib/mock_upstream.mjs) hangs, drips bytes, resets, closes early, sends garbage or 5xx.
// In every case smmf must not crash, must answer within the model's configured timeouts,
// must give the client a well-formed OpenAI error (a stream cut mid-way ends with an SSE
// `event: error` and never with `[DONE]`), and its memory must come back to its baseline.
// A worker killed mid-stream and a controller restart are in cluster_failover.test.mjs and
// cluster_control.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, callJson, postJson, readSse, getJson, sleep, RawConnection, httpRequest }
  from './lib/server.mjs';
import { startMockUpstream, tomlFaultModel } from './lib/mock_upstream.mjs';

// Per-model timeouts (params of the openai_compat engine), short so the suite stays fast.
const TIMEOUTS = { connect_timeout_ms: 2000, first_byte_timeout_ms: 1500, idle_timeout_ms: 1000,
                   timeout_ms: 4000 };
// How late an answer may come after the timeout that ends it (a loaded CI machine; sanitizers).
const SLACK_MS = 5000;
const BEHAVIOURS = ['ok', 'hang', 'hang-stream', 'drip', 'drip-forever', 'reset', 'close-early',
                    'garbage', 'garbage-bin', 'error-503', 'error-500-html'];

let mock;
let srv;

before(async () => {
  mock = await startMockUpstream({ dripMs: 2 });
  let config = '[server]\nshutdown_grace = 5\n';
  for (const b of BEHAVIOURS) {
    // A correct answer dripped byte by byte may take long on a loaded machine: only the idle
    // timeout applies to it.
    const { timeout_ms, ...noTotal } = TIMEOUTS;
    const t = b === 'drip' ? noTotal : TIMEOUTS;
    config += tomlFaultModel(b, b, mock.base, t);
  }
  // No retries: a fault must surface as such (retries are covered by the cluster tests).
  config += '[routing]\nmax_retries = 0\n';
  srv = await startServer({ config });
});
after(async () => {
  await srv?.stop();
  await mock?.close();
});

const chatBody = (model, stream = false) => ({
  model, stream, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8,
});

function assertOpenAiError(body, where) {
  assert.ok(body && typeof body.error === 'object' && body.error !== null, `error object: ${where}`);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type'], where);
  assert.equal(typeof body.error.message, 'string', where);
  assert.ok(body.error.message.length > 0, where);
  assert.equal(typeof body.error.type, 'string', where);
}

/// A non-streamed call: returns { status, body, ms }.
async function call(model) {
  const t0 = Date.now();
  const r = await callJson(srv, '/v1/chat/completions', chatBody(model));
  return { ...r, ms: Date.now() - t0 };
}

/// A streamed call: either an HTTP error before the stream started, or the SSE reading.
async function callStream(model) {
  const t0 = Date.now();
  const res = await postJson(srv, '/v1/chat/completions', chatBody(model, true));
  if (res.status !== 200) {
    const text = await res.text();
    return { status: res.status, body: JSON.parse(text), ms: Date.now() - t0 };
  }
  const sse = await readSse(res);
  return { status: 200, sse, ms: Date.now() - t0 };
}

/// A streamed fault: an HTTP error, or a stream that ends with one `event: error` carrying an
/// OpenAI error and no [DONE].
function assertStreamFault(r, model) {
  if (r.status !== 200) {
    assert.ok(r.status >= 500 && r.status <= 599, `${model}: status ${r.status}`);
    assertOpenAiError(r.body, `${model}: ${JSON.stringify(r.body)}`);
    return;
  }
  const { sse } = r;
  assert.equal(sse.done, false, `${model}: a failed stream must not end with [DONE]`);
  const last = sse.events.at(-1);
  assert.ok(last, `${model}: no event at all`);
  assert.equal(last.event, 'error', `${model}: last event ${JSON.stringify(last)}`);
  assertOpenAiError(JSON.parse(last.data), `${model}: ${last.data}`);
}

async function assertAlive() {
  assert.equal(srv.exit, null, `smmf exited: ${JSON.stringify(srv.exit)}\n${srv.log()}`);
  const h = await getJson(srv, '/healthz');
  assert.equal(h.status, 200);
}

test('the mock upstream answers correctly when asked to (control)', async () => {
  const r = await call('ok');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, 'Hello world');
  const s = await callStream('ok');
  assert.equal(s.status, 200);
  assert.equal(s.sse.done, true);
  assert.equal(s.sse.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello world');
});

test('an upstream dripping a correct answer byte by byte is relayed intact', async () => {
  const r = await call('drip');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.choices[0].message.content, 'Hello world');
  const s = await callStream('drip');
  assert.equal(s.status, 200);
  assert.equal(s.sse.done, true);
  assert.equal(s.sse.chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), 'Hello world');
});

test('an upstream that never answers: 504 after first_byte_timeout_ms', async () => {
  for (const fn of [call, callStream]) {
    const r = await fn('hang');
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assertOpenAiError(r.body, JSON.stringify(r.body));
    assert.equal(r.body.error.type, 'timeout_error');
    assert.ok(r.ms >= TIMEOUTS.first_byte_timeout_ms - 100, `answered after ${r.ms} ms`);
    assert.ok(r.ms < TIMEOUTS.first_byte_timeout_ms + SLACK_MS, `answered after ${r.ms} ms`);
  }
  await assertAlive();
});

test('an upstream that goes silent mid-stream: error event after idle_timeout_ms', async () => {
  const r = await callStream('hang-stream');
  assertStreamFault(r, 'hang-stream');
  assert.equal(r.status, 200, 'the first chunk was relayed before the silence');
  assert.equal(r.sse.chunks[0].choices[0].delta.content, 'Hello');
  assert.match(JSON.parse(r.sse.events.at(-1).data).error.message, /silent/);
  assert.ok(r.ms < TIMEOUTS.idle_timeout_ms + SLACK_MS, `ended after ${r.ms} ms`);
  await assertAlive();
});

test('an upstream that drips forever is cut at timeout_ms (the whole-call deadline)', async () => {
  const r = await callStream('drip-forever');
  assertStreamFault(r, 'drip-forever');
  assert.equal(r.status, 200);
  assert.ok(r.sse.chunks.length > 0, 'chunks before the deadline were relayed');
  assert.match(JSON.parse(r.sse.events.at(-1).data).error.message, /deadline/);
  assert.ok(r.ms >= TIMEOUTS.timeout_ms - 100, `ended after ${r.ms} ms`);
  assert.ok(r.ms < TIMEOUTS.timeout_ms + SLACK_MS, `ended after ${r.ms} ms`);
  await assertAlive();
});

for (const model of ['reset', 'close-early', 'garbage', 'garbage-bin', 'error-503', 'error-500-html']) {
  test(`an upstream that ${model}: a well-formed OpenAI error, streamed or not`, async () => {
    const r = await call(model);
    assert.ok(r.status >= 500 && r.status <= 599, `status ${r.status} ${JSON.stringify(r.body)}`);
    assertOpenAiError(r.body, JSON.stringify(r.body));
    assert.ok(r.ms < TIMEOUTS.timeout_ms + SLACK_MS, `answered after ${r.ms} ms`);
    const s = await callStream(model);
    assertStreamFault(s, model);
    assert.ok(s.ms < TIMEOUTS.timeout_ms + SLACK_MS, `answered after ${s.ms} ms`);
    if (model === 'error-503') {
      assert.equal(r.status, 503);
      assert.match(r.body.error.message, /upstream overloaded/);
    }
    await assertAlive();
  });
}

// The stream's head promised keep-alive and its end is well-framed, so the connection stays
// usable: closing it afterwards raced the client's next request on it (a pooled client such as
// fetch got 'other side closed' for a POST it cannot retry; seen under ASan, also in Release).
test('a stream ended by an upstream fault keeps its keep-alive connection', async () => {
  const c = await RawConnection.connect(srv.port);
  try {
    for (const model of ['garbage', 'reset']) {
      await c.write(httpRequest('POST', '/v1/chat/completions',
                                { body: JSON.stringify(chatBody(model, true)), port: srv.port }));
      const r = await c.readResponse({ timeoutMs: TIMEOUTS.timeout_ms + SLACK_MS });
      assert.equal(r.status, 200, `${model}: ${r.body}`);
      assert.match(r.body, /^event: error$/m, `${model}: ${r.body}`);
      assert.notEqual((r.headers.connection || '').toLowerCase(), 'close', model);
      await c.write(httpRequest('GET', '/healthz', { port: srv.port }));
      assert.equal((await c.readResponse()).status, 200, `${model}: the next request is answered`);
    }
    assert.equal(c.closed, false, 'connection still open');
  } finally {
    c.destroy();
  }
  await assertAlive();
});

function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

test('memory returns to its baseline after many faulted calls', async (t) => {
  // The quick faults only (the timeouts are covered above); 8 concurrent callers.
  const faults = ['reset', 'close-early', 'garbage', 'garbage-bin', 'error-503', 'error-500-html'];
  const round = async (n) => {
    const jobs = [];
    for (let i = 0; i < n; i++) {
      const model = faults[i % faults.length];
      jobs.push(i % 2 ? call(model) : callStream(model));
      if (jobs.length === 8) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
  };
  await round(120);  // warm-up: pools, allocator arenas, log buffers
  await sleep(500);
  const baseline = rssKb(srv.pid);
  await round(600);
  await sleep(500);
  const after = rssKb(srv.pid);
  t.diagnostic(`VmRSS baseline ${baseline} kB, after 600 faulted calls ${after} kB`);
  // 600 calls that leaked even 16 KiB each would add ~9.4 MiB.
  const boundKb = Number(process.env.SMMF_FAULT_RSS_BOUND_KB || 8192);
  assert.ok(after - baseline < boundKb, `VmRSS grew by ${after - baseline} kB (bound ${boundKb})`);
  await assertAlive();
  assert.ok(mock.stats().requests > 700);
});
