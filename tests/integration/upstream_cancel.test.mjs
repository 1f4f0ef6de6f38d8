// A client that leaves while the upstream hangs: its disconnect must reach the pending upstream
// read at once (the Engine's CancelToken closes the HTTP client's connection), well before the
// model's own timeouts, for streamed and non-streamed calls, in `smmf serve` and across the
// cluster hop (API server -> worker -> upstream). The mock upstream (lib/mock_upstream.mjs)
// records when each request's connection closes; smmf's in-flight gauge must fall back to 0.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, postJson, callJson, getJson, srvFetch, sseEvents, sleep } from './lib/server.mjs';
import { startMockUpstream, tomlFaultModel } from './lib/mock_upstream.mjs';
import { startController, startWorker, startApiServer, waitApiRoutes, stopAll, waitFor } from './lib/cluster.mjs';

// Long model timeouts: a close the mock sees must come from the client's abort, not from them.
const TIMEOUTS = { connect_timeout_ms: 5000, first_byte_timeout_ms: 60000, idle_timeout_ms: 60000,
                   timeout_ms: 120000 };
// The upstream must see its connection closed within this long after the client's abort.
const CLOSE_BOUND_MS = 1000;

const chatBody = (model, stream) => ({
  model, stream, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8,
});

function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

async function inFlight(srv) {
  const res = await srvFetch(srv, '/metrics');
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('smmf_requests_in_flight{')) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/// Starts a call to `model` through `srv`, waits until the mock holds it (and, for a stream
/// whose first chunk comes, until the client got that chunk), then aborts it. Returns how long
/// after the abort the mock saw its connection close.
async function abortWhileUpstreamHangs(t, srv, mock, model, stream, { firstChunk = false } = {}) {
  const from = mock.calls.length;
  const ac = new AbortController();
  const pending = postJson(srv, '/v1/chat/completions', chatBody(model, stream), { signal: ac.signal });
  pending.catch(() => {});  // rejected by the abort when no header came yet
  const call = await mock.waitCall(model, from);
  if (firstChunk) {
    const res = await pending;
    assert.equal(res.status, 200);
    const it = sseEvents(res)[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(JSON.parse(first.value.data).choices[0].delta.content, 'Hello');
  }
  await sleep(200);  // smmf is now waiting on the upstream
  assert.equal(call.closedAt, null, 'the upstream connection is open before the abort');
  const tAbort = Date.now();
  ac.abort();
  await waitFor(() => call.closedAt !== null,
                { timeoutMs: 10000, what: `the mock to see ${model} (stream ${stream}) closed` });
  const ms = call.closedAt - tAbort;
  t.diagnostic(`${model} stream=${stream}: upstream connection closed ${ms} ms after the abort`);
  assert.ok(ms < CLOSE_BOUND_MS, `upstream closed ${ms} ms after the abort (bound ${CLOSE_BOUND_MS})`);
  return ms;
}

const CASES = [
  // [upstream behaviour, streamed, wait for the first relayed chunk]
  ['hang', false, false],        // pending: the response header
  ['hang', true, false],         // pending: the response header, streamed
  ['hang-stream', true, true],   // pending: the body, after one chunk reached the client
  ['hang-stream', false, false], // pending: the body of a non-streamed call
];

describe('smmf serve', () => {
  let mock;
  let srv;
  before(async () => {
    mock = await startMockUpstream();
    let config = '[server]\nshutdown_grace = 5\n';
    for (const b of ['ok', 'hang', 'hang-stream']) config += tomlFaultModel(b, b, mock.base, TIMEOUTS);
    srv = await startServer({ config: config + '[routing]\nmax_retries = 0\n' });
  });
  after(async () => {
    await srv?.stop();
    await mock?.close();
  });

  for (const [model, stream, firstChunk] of CASES) {
    test(`client abort closes the upstream call: ${model}, stream ${stream}`, async (t) => {
      await abortWhileUpstreamHangs(t, srv, mock, model, stream, { firstChunk });
      await waitFor(async () => (await inFlight(srv)) === 0,
                    { timeoutMs: 3000, what: 'smmf_requests_in_flight back to 0' });
      assert.equal(srv.exit, null);
      assert.equal((await getJson(srv, '/healthz')).status, 200);
    });
  }

  test('memory returns to its baseline after many aborted calls', async (t) => {
    // Abort as soon as the mock holds the call, 8 at a time, over the four cases.
    const quickAbort = async (model, stream) => {
      const from = mock.calls.length;
      const ac = new AbortController();
      postJson(srv, '/v1/chat/completions', chatBody(model, stream), { signal: ac.signal }).catch(() => {});
      const call = await mock.waitCall(model, from);
      ac.abort();
      await waitFor(() => call.closedAt !== null, { timeoutMs: 10000, intervalMs: 5, what: 'close' });
    };
    const round = async (n) => {
      for (let i = 0; i < n; i += 8) {
        await Promise.all(Array.from({ length: 8 }, (_, j) => {
          const [model, stream] = CASES[(i + j) % CASES.length];
          return quickAbort(model, stream);
        }));
      }
    };
    await round(80);  // warm-up
    await waitFor(async () => (await inFlight(srv)) === 0, { timeoutMs: 3000, what: 'in-flight 0' });
    await sleep(300);
    const baseline = rssKb(srv.pid);
    await round(400);
    await waitFor(async () => (await inFlight(srv)) === 0, { timeoutMs: 3000, what: 'in-flight 0' });
    await sleep(300);
    const after = rssKb(srv.pid);
    t.diagnostic(`VmRSS baseline ${baseline} kB, after 400 aborted calls ${after} kB`);
    const boundKb = Number(process.env.SMMF_FAULT_RSS_BOUND_KB || 8192);
    assert.ok(after - baseline < boundKb, `VmRSS grew by ${after - baseline} kB (bound ${boundKb})`);
  });

  test('after the aborts: nothing leaks, the next call is served', async () => {
    await waitFor(() => mock.stats().openSockets <= 1, { timeoutMs: 3000, what: 'mock sockets released' });
    const r = await callJson(srv, '/v1/chat/completions', chatBody('ok', false));
    assert.equal(r.status, 200);
    assert.equal(r.body.choices[0].message.content, 'Hello world');
    assert.equal(await inFlight(srv), 0);
    // Each aborted call is logged as ended by a cancel, not by a model timeout.
    const hung = () => srv.accessLines('POST', '/v1/chat/completions').filter((l) => /model=hang/.test(l));
    const want = CASES.length + 480;  // the four cases above, and the aborts of the memory test
    await waitFor(() => hung().length === want, { what: `${want} access lines` });
    for (const l of hung()) {
      assert.match(l, /error=.*(cancel|went away|connection lost)/i, l);
      assert.doesNotMatch(l, /timed out|silent|deadline/, l);
    }
  });
});

describe('cluster: API server -> worker -> upstream', () => {
  let mock;
  let controller;
  let worker;
  let api;
  before(async () => {
    mock = await startMockUpstream();
    controller = await startController();
    let models = '';
    for (const b of ['ok', 'hang', 'hang-stream']) models += tomlFaultModel(b, b, mock.base, TIMEOUTS);
    worker = await startWorker(controller, { id: 'w1', models: [], extraToml: models });
    api = await startApiServer(controller, { routing: { max_retries: 0 } });
    for (const m of ['ok', 'hang', 'hang-stream']) await waitApiRoutes(api, m, ['w1/' + m]);
  });
  after(async () => {
    await stopAll([api, worker, controller]);
    await mock?.close();
  });

  for (const [model, stream, firstChunk] of CASES) {
    test(`client abort at the API server closes the worker's upstream call: ${model}, stream ${stream}`, async (t) => {
      await abortWhileUpstreamHangs(t, api, mock, model, stream, { firstChunk });
      await waitFor(async () => (await inFlight(api)) === 0 && (await inFlight(worker)) === 0,
                    { timeoutMs: 3000, what: 'in-flight gauges of API server and worker back to 0' });
    });
  }

  test('the cluster serves the next call', async () => {
    const r = await callJson(api, '/v1/chat/completions', chatBody('ok', false));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.choices[0].message.content, 'Hello world');
  });
});
