// Cluster mode, failures: a worker killed with SIGKILL under load (retries, heartbeat expiry),
// and a worker frozen with SIGSTOP (active health checks take it out of routing; SIGCONT brings
// it back). Each test runs its own cluster.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startCluster, runLoad, chat, chatBody, failures, kill9, freeze, thaw, listInstances, sleep,
  instanceCounts, apiChatLines, waitChatLines, workerServed, routableIds, waitFor, shares, settle,
} from './lib/cluster.mjs';

const clusters = [];
after(async () => { for (const c of clusters) await c.stop(); });

test('kill -9 of one of 3 workers under load: all 200 calls succeed, it leaves the registry', async () => {
  const HB = 500;
  const c = await startCluster({ workers: 3, heartbeatMs: HB });
  clusters.push(c);
  const { controller, api } = c;
  const victim = c.workers[1];
  const victimId = `${victim.id}/chat`;
  const from = api.lines.length;
  const victimFrom = victim.lines.length;

  // The registry is polled from the moment of the kill, while the load goes on, until the
  // instance is unhealthy or gone. (Polling only after the load measured the rest of the load
  // too: under TSan the 170 calls after the kill take longer than the limit by themselves.)
  const limit = HB * 3 + 1000;
  let killedAt = 0;
  let killDone;
  const killed = new Promise((r) => { killDone = r; });
  let record;
  let left;
  const { results, timedOut } = await runLoad({
    total: 200, concurrency: 16, deadlineMs: 90000,
    fn: () => chat(api, chatBody({ maxTokens: 4 })),
    onResult: (r, done) => {
      if (done === 30 && !killedAt) {
        killedAt = Date.now();
        killDone(kill9(victim));
        left = waitFor(async () => {
          record = (await listInstances(controller, 'chat')).find((x) => x.id === victimId);
          return (!record || record.healthy === false) && Date.now();
        }, { timeoutMs: limit + 5000, intervalMs: 50, what: `${victimId} unhealthy at the controller` });
        left.catch(() => {});  // awaited below, after the load
      }
    },
  });
  assert.ok(killedAt > 0, 'the worker was killed during the load');
  assert.equal(timedOut, false, 'the load finished within 90 s');
  assert.equal(results.length, 200);
  const failed = failures(results);
  assert.deepEqual(failed, [], `every call answered 200 (${failed.length} failed)`);
  const exit = await killed;
  assert.equal(exit.signal, 'SIGKILL');

  // Within the heartbeat timeout (3 missed intervals) plus a margin, the controller no longer
  // lists the killed instance as healthy.
  const leftAt = await left;
  const took = leftAt - killedAt;
  console.log(`killed instance unhealthy ${took} ms after the kill (${record ? 'listed unhealthy' : 'removed'})`);
  assert.ok(took <= limit, `${victimId} still healthy ${took} ms after kill -9 (limit ${limit} ms)`);
  // The others stay healthy, and the API server stops routing to the dead one.
  const others = (await listInstances(controller, 'chat')).filter((x) => x.id !== victimId);
  assert.deepEqual(others.map((x) => [x.id, x.healthy]).sort(),
                   c.ids.filter((id) => id !== victimId).map((id) => [id, true]));
  await waitFor(() => !routableIds(api, 'chat').includes(victimId),
                { timeoutMs: 3000, what: `the API server to drop ${victimId}` });

  // Who served what: the workers' own logs; retried calls are marked retry= on the API server.
  await waitChatLines(api, 200, { from });
  const lines = apiChatLines(api, { from });
  const retried = lines.filter((l) => /\bretry=/.test(l));
  const served = Object.fromEntries(c.workers.map((w) => [w.id, workerServed(w, { from: w === victim ? victimFrom : 0 })]));
  console.log(`served by worker logs: ${JSON.stringify(served)}; API log instance= counts: ` +
              `${JSON.stringify(instanceCounts(api, { from }))}; retried calls: ${retried.length}`);
  if (retried.length) console.log(`e.g. ${retried[0]}`);

  // After the dead instance left, calls go to the two live ones only, and succeed.
  const after2 = await settle(api);
  const more = await runLoad({ total: 30, concurrency: 4, fn: () => chat(api) });
  assert.deepEqual(failures(more.results), []);
  await waitChatLines(api, 30, { from: after2 });
  const counts = instanceCounts(api, { from: after2 });
  assert.equal(counts[victimId], undefined, `calls after the drop: ${JSON.stringify(counts)}`);
});

test('the access log names the instance that answered a retried call', async () => {
  // Relies on the previous test's retries (a killed worker's calls retried elsewhere).
  const c = clusters[0];
  assert.ok(c, 'the kill -9 test ran');
  const retried = apiChatLines(c.api).filter((l) => /\bretry=/.test(l));
  if (retried.length === 0) {
    console.log('no call was retried in the kill -9 test: nothing to check');
    return;
  }
  const wrong = retried.filter((l) => {
    const inst = l.match(/\binstance=(\S+)/)?.[1];
    const retry = l.match(/\bretry=(\S+)/)?.[1];
    return inst === retry;
  });
  assert.deepEqual(wrong, [],
                   `${wrong.length} of ${retried.length} retried calls are logged with instance= the ` +
                   'instance that failed (retry=), not the one that answered');
});

test('SIGSTOP of one of 2 workers: health checks take it out, SIGCONT brings it back', async () => {
  // Heartbeats every 10 s (unhealthy after 30 s): within this test only the API server's
  // active health check (every 500 ms, 1000 ms timeout) can notice the frozen worker.
  const CHECK_MS = 500;
  const TIMEOUT_MS = 1000;
  const c = await startCluster({
    workers: 2, heartbeatMs: 10000,
    apis: [{ routing: { health_check_interval_ms: CHECK_MS, health_check_timeout_ms: TIMEOUT_MS } }],
  });
  clusters.push(c);
  const { api } = c;
  const [live, frozen] = c.workers;
  const liveId = `${live.id}/chat`;
  const frozenId = `${frozen.id}/chat`;

  // Continuous background load (bounded: 3000 calls, 60 s) until told to stop.
  let stop = false;
  let frozenAt = 0;
  const bg = runLoad({
    total: 3000, concurrency: 4, deadlineMs: 60000, stop: () => stop,
    fn: () => chat(api, chatBody(), { timeoutMs: 40000 }),
    onResult: (r, done) => { if (done === 20 && !frozenAt) { frozenAt = Date.now(); freeze(frozen); } },
  });
  await waitFor(() => frozenAt > 0, { timeoutMs: 20000, what: 'the background load to start' });

  try {
    // After the check interval + timeout + margin, new calls must not go to the frozen worker:
    // 20 calls all complete quickly (a call routed to it would hang until SIGCONT).
    const window = CHECK_MS + TIMEOUT_MS + 1000;
    await sleep(frozenAt + window - Date.now());
    const failedLine = api.lines.find((l) => l.includes(`instance ${frozenId} health check failed`));
    assert.ok(failedLine, `no failed health check of ${frozenId} logged ${window} ms after SIGSTOP`);
    assert.ok(!routableIds(api, 'chat').includes(frozenId), 'the frozen instance is not routable');
    const mark = api.lines.length;
    const probes = await runLoad({
      total: 20, concurrency: 4,
      fn: () => chat(api, chatBody(), { timeoutMs: 3000 }),
    });
    assert.deepEqual(failures(probes.results), [],
                     'calls made after the health-check window complete within 3 s while a worker is frozen');
    const during = instanceCounts(api, { from: mark });
    assert.deepEqual(Object.keys(during), [liveId], `served while frozen: ${JSON.stringify(during)}`);
    assert.ok(during[liveId] >= 20);
  } finally {
    thaw(frozen);
  }
  const thawedAt = Date.now();
  await waitFor(() => routableIds(api, 'chat').includes(frozenId),
                { timeoutMs: 5000, what: `${frozenId} routable again after SIGCONT` });
  console.log(`frozen instance routable again ${Date.now() - thawedAt} ms after SIGCONT`);

  stop = true;
  const { results, timedOut } = await bg;
  assert.equal(timedOut, false);
  assert.deepEqual(failures(results), [], 'every background call succeeded (the stuck ones after SIGCONT)');
  const stuck = results.filter((r) => r.start >= frozenAt - 100 && r.ms > 1500).length;
  console.log(`background: ${results.length} calls, ${stuck} waited for the frozen worker`);

  // Back in rotation: it serves calls again (least_outstanding gives it about half; a worker
  // just resumed on a busy machine may be slower, so only a tenth is required).
  const mark = await settle(api);
  await sleep(100);   // the workers' log lines of earlier calls, too
  const frozenFrom = frozen.lines.length;
  const r = await runLoad({ total: 40, concurrency: 4, fn: () => chat(api) });
  assert.deepEqual(failures(r.results), []);
  await waitChatLines(api, 40, { from: mark });
  const counts = instanceCounts(api, { from: mark });
  const pct = shares(counts, [liveId, frozenId]);
  console.log(`after SIGCONT: ${JSON.stringify(pct)}`);
  assert.ok(pct[frozenId] >= 10, `the thawed instance got ${pct[frozenId]} % of 40 calls`);
  await waitFor(() => workerServed(frozen, { from: frozenFrom }) === (counts[frozenId] || 0), { timeoutMs: 3000 })
    .catch(() => assert.equal(workerServed(frozen, { from: frozenFrom }), counts[frozenId] || 0,
                              'calls the thawed worker logged vs the API server\'s count'));
});

test('a worker killed mid-stream: the relayed stream ends with an SSE error event, never [DONE]', async () => {
  const c = await startCluster({ workers: 1, heartbeatMs: 500 });
  clusters.push(c);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 20000);
  const res = await fetch(`${c.api.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chatBody({ maxTokens: 1500, stream: true, temperature: 1 })),
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let killed = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    if (!killed && text.includes('"content"')) {
      killed = true;
      kill9(c.workers[0]);  // the first token arrived: the stream is under way
    }
  }
  clearTimeout(timer);
  assert.ok(killed, 'the stream started before the kill');
  assert.match(text, /event: error\ndata: \{"error":\{/, 'an SSE error event ends the stream');
  assert.ok(!text.includes('data: [DONE]'), 'a cut stream must not end like a complete one');
});
