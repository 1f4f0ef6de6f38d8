// Cluster mode, load balancing: a controller, three workers and three API servers with different
// policies. Each worker hosts `chat` (weight 1 everywhere) and `wchat` (weights 1, 2, 3).
// Who served a call is read from the API server's access log (`instance=<worker>/<model>`) and
// cross-checked with the workers' own access logs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startCluster, waitApiRoutes, waitHealthyInstances, runLoad, chat, chatBody, chatStream,
  instanceCounts, apiChatLines, waitChatLines, workerServed, failures, shares, settle, waitFor, sleep,
} from './lib/cluster.mjs';

const WEIGHTS = { w1: 1, w2: 2, w3: 3 };
let c;
let lo;    // least_outstanding (chat), weighted (wchat via model_policies)
let rr;    // round_robin
let sa;    // session_affinity

before(async () => {
  c = await startCluster({
    workers: Object.entries(WEIGHTS).map(([id, w]) => ({
      id, models: [{ name: 'chat' }, { name: 'wchat', weight: w }],
    })),
    apis: [
      { routing: { policy: 'least_outstanding', model_policies: { wchat: 'weighted' } } },
      { policy: 'round_robin' },
      { policy: 'session_affinity' },
    ],
  });
  [lo, rr, sa] = c.apis;
  const wids = Object.keys(WEIGHTS).map((w) => `${w}/wchat`);
  await waitHealthyInstances(c.controller, 'wchat', wids);
  for (const a of c.apis) await waitApiRoutes(a, 'wchat', wids);
});

after(async () => { await c?.stop(); });

/// Runs `total` chat calls at `concurrency` through `api`; asserts they all succeed and were
/// all logged; returns the per-instance counts from the API server's log.
async function load(api, { model, total, concurrency }) {
  const from = await settle(api);
  await sleep(100);   // the workers' log lines of earlier calls, too
  const wFrom = c.workers.map((w) => w.lines.length);
  const { results, timedOut, ms } = await runLoad({
    total, concurrency, deadlineMs: 90000,
    fn: () => chat(api, chatBody({ model, maxTokens: 2 })),
  });
  assert.equal(timedOut, false, `load did not finish within 90 s (${results.length} done)`);
  assert.equal(results.length, total);
  assert.deepEqual(failures(results), [], 'every call answered 200');
  await waitChatLines(api, total, { from });
  const counts = instanceCounts(api, { from });
  assert.equal(Object.values(counts).reduce((a, b) => a + b, 0), total,
               `200 lines with instance= on the API server: ${JSON.stringify(counts)}`);
  // The workers' own logs agree (each worker serves only what this API server sent it now).
  const byWorker = () => Object.fromEntries(c.workers.map((w, i) => [`${w.id}/${model}`, workerServed(w, { from: wFrom[i] })]));
  const want = Object.fromEntries(c.workers.map((w) => [`${w.id}/${model}`, counts[`${w.id}/${model}`] || 0]));
  await waitFor(() => JSON.stringify(byWorker()) === JSON.stringify(want), { timeoutMs: 3000, what: 'worker logs' })
    .catch(() => assert.deepEqual(byWorker(), want, 'per-instance counts: workers\' logs vs the API server\'s log'));
  return { counts, ms };
}

test('least_outstanding spreads 300 calls over 3 equal instances (25-42 % each)', async () => {
  const ids = c.ids;
  const { counts, ms } = await load(lo, { model: 'chat', total: 300, concurrency: 8 });
  const pct = shares(counts, ids);
  console.log(`least_outstanding shares: ${JSON.stringify(pct)} (${ms} ms)`);
  for (const id of ids) {
    assert.ok(pct[id] >= 25 && pct[id] <= 42, `${id} got ${pct[id]} % (want 25-42): ${JSON.stringify(pct)}`);
  }
});

test('weighted policy (per-model weights 1, 2, 3) splits 300 calls ~1/6, 2/6, 3/6', async () => {
  const ids = Object.keys(WEIGHTS).map((w) => `${w}/wchat`);
  const { counts, ms } = await load(lo, { model: 'wchat', total: 300, concurrency: 8 });
  const pct = shares(counts, ids);
  console.log(`weighted shares: ${JSON.stringify(pct)} (${ms} ms)`);
  for (const [w, weight] of Object.entries(WEIGHTS)) {
    const want = (100 * weight) / 6;
    const got = pct[`${w}/wchat`];
    assert.ok(Math.abs(got - want) <= 10,
              `${w}/wchat got ${got} %, want ${want.toFixed(1)} ± 10: ${JSON.stringify(pct)}`);
  }
});

test('round_robin cycles through the instances exactly', async () => {
  const from = await settle(rr);
  const n = 30;
  const { results } = await runLoad({ total: n, concurrency: 1, fn: () => chat(rr) });
  assert.deepEqual(failures(results), []);
  await waitChatLines(rr, n, { from });
  const seq = apiChatLines(rr, { from }).map((l) => l.match(/\binstance=(\S+)/)?.[1]);
  assert.equal(seq.length, n);
  // Every instance exactly n/3 times, and in a fixed cycle: call i and call i+3 hit the same one,
  // any three consecutive calls hit all three.
  const counts = {};
  for (const id of seq) counts[id] = (counts[id] || 0) + 1;
  assert.deepEqual(counts, Object.fromEntries(c.ids.map((id) => [id, n / 3])), `sequence ${seq.join(' ')}`);
  for (let i = 0; i + 3 < n; i++) assert.equal(seq[i + 3], seq[i], `cycle broken at call ${i + 3}: ${seq.join(' ')}`);
  assert.equal(new Set(seq.slice(0, 3)).size, 3, `first three: ${seq.slice(0, 3)}`);
});

test('session_affinity: one x-session-id sticks to one instance, different keys spread', async () => {
  // One key, 20 calls (4 at a time): all on one instance.
  let from = await settle(sa);
  let r = await runLoad({
    total: 20, concurrency: 4,
    fn: () => chat(sa, chatBody(), { headers: { 'x-session-id': 'session-alice' } }),
  });
  assert.deepEqual(failures(r.results), []);
  await waitChatLines(sa, 20, { from });
  const alice = instanceCounts(sa, { from });
  assert.equal(Object.keys(alice).length, 1, `session-alice went to ${JSON.stringify(alice)}`);
  assert.equal(Object.values(alice)[0], 20);

  // The request's `user` is the key when the header is absent.
  from = await settle(sa);
  r = await runLoad({ total: 10, concurrency: 2, fn: () => chat(sa, chatBody({ user: 'bob' })) });
  assert.deepEqual(failures(r.results), []);
  await waitChatLines(sa, 10, { from });
  const bob = instanceCounts(sa, { from });
  assert.equal(Object.keys(bob).length, 1, `user bob went to ${JSON.stringify(bob)}`);

  // 30 different keys, twice each: each key lands on the same instance both times, and the keys
  // use more than one instance (all on one: probability 3 * 3^-30).
  const keyOf = {};
  for (let round = 0; round < 2; round++) {
    for (let k = 0; k < 30; k++) {
      from = await settle(sa);
      const res = await chat(sa, chatBody(), { headers: { 'x-session-id': `key-${k}` } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await waitChatLines(sa, 1, { from });
      const id = apiChatLines(sa, { from })[0].match(/\binstance=(\S+)/)[1];
      if (round === 0) keyOf[k] = id;
      else assert.equal(id, keyOf[k], `key-${k} moved from ${keyOf[k]} to ${id}`);
    }
  }
  const used = new Set(Object.values(keyOf));
  console.log(`session_affinity: 30 keys over ${JSON.stringify(shares(
    Object.values(keyOf).reduce((a, id) => ({ ...a, [id]: (a[id] || 0) + 1 }), {}), c.ids))}`);
  assert.ok(used.size > 1, `30 keys all on ${[...used]}`);
});

test('a stream relayed by the API server: several chunks, [DONE], same text as non-stream', async () => {
  const body = chatBody({ maxTokens: 32, temperature: 0, content: 'Tell me a story' });
  const plain = await chat(rr, body);
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
  const text = plain.body.choices[0].message.content;
  assert.ok(text.length > 0, 'non-empty completion');
  for (let i = 0; i < 3; i++) {   // round_robin: each call on another worker
    const s = await chatStream(rr, body);
    assert.equal(s.status, 200, s.body);
    assert.match(s.contentType, /^text\/event-stream/);
    assert.equal(s.done, true, 'ends with data: [DONE]');
    assert.deepEqual(s.afterDone, [], 'nothing after [DONE]');
    const contentChunks = s.chunks.filter((ch) => ch.choices?.[0]?.delta?.content);
    assert.ok(contentChunks.length >= 3, `${contentChunks.length} content chunks (want several)`);
    for (const ch of s.chunks) assert.equal(ch.object, 'chat.completion.chunk');
    assert.equal(s.text, text, `stream #${i} text vs non-stream text`);
    assert.equal(s.finish, plain.body.choices[0].finish_reason);
  }
});
