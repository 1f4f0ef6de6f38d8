// Observability end to end: traces (serve and cluster mode, W3C traceparent, redaction),
// the trace JSON API and `smmf trace`, feedback, and Prometheus /metrics (promtool-checked).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import {
  startServer, tomlModel, callJson, getJson, postJson, stream, srvFetch, runSmmf, sleep,
  parseMetrics,
} from './lib/server.mjs';
import { startCluster, waitFor } from './lib/cluster.mjs';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smmf-obs-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const freshDir = (name) => path.join(tmp, `${name}-${++seq}`);

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
const CLIENT_PARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

function obsToml({ capture = 'full', traceDir, feedbackDb, otlp, extra = '' }) {
  let s = `[observability]\ncapture = "${capture}"\nflush_interval_ms = 100\n`;
  if (traceDir) s += `trace_dir = ${JSON.stringify(traceDir)}\n`;
  if (feedbackDb) s += `feedback_db = ${JSON.stringify(feedbackDb)}\n`;
  if (otlp) s += `otlp_endpoint = ${JSON.stringify(otlp)}\n`;
  return s + extra + '\n';
}

const chatBody = (content, extra = {}) => ({
  model: 'chat', messages: [{ role: 'user', content }], max_tokens: 8, temperature: 0, ...extra,
});

/// Polls GET /api/v1/traces/{id} until the trace has `minSpans` spans.
async function traceOf(srv, id, minSpans) {
  return waitFor(async () => {
    const r = await getJson(srv, `/api/v1/traces/${id}`);
    return r.status === 200 && r.body.spans.length >= minSpans ? r.body : null;
  }, { timeoutMs: 10000, what: `trace ${id} with ${minSpans} spans` });
}

/// Every span but the root has its parent in the trace; the root's parent is `rootParent`.
function assertConnected(spans, rootParent) {
  const ids = new Set(spans.map((s) => s.span_id));
  const roots = spans.filter((s) => !ids.has(s.parent_span_id));
  assert.equal(roots.length, 1, `one root: ${JSON.stringify(spans.map((s) => [s.name, s.span_id, s.parent_span_id]))}`);
  assert.equal(roots[0].parent_span_id, rootParent);
  return roots[0];
}

const sumOf = (m, prefix) => Object.entries(m).filter(([k]) => k.startsWith(prefix))
  .reduce((a, [, v]) => a + v, 0);

describe('serve mode', () => {
  let srv;
  const traceDir = freshDir('traces');
  const feedbackDb = path.join(tmp, 'feedback.db');
  before(async () => {
    srv = await startServer({
      config: obsToml({ traceDir, feedbackDb }) + tomlModel({ name: 'chat', params: { parallel: 2 } }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('a call yields a connected trace that honours the client traceparent', async () => {
    const r = await callJson(srv, '/v1/chat/completions', chatBody('Hello trace'),
                             { headers: { traceparent: CLIENT_PARENT } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-trace-id'), CLIENT_TRACE);
    const tp = r.headers.get('traceparent');
    assert.match(tp, new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`));
    const t = await traceOf(srv, r.body.id, 6);
    assert.equal(t.trace_id, CLIENT_TRACE);
    const root = assertConnected(t.spans, CLIENT_SPAN);
    assert.equal(root.span_id, tp.split('-')[2], 'the returned traceparent names the server span');
    assert.equal(root.attributes.response_id, r.body.id);
    assert.equal(root.attributes.model, 'chat');
    assert.equal(root.attributes.status, 200);
    assert.equal(root.attributes.input[0].content, 'Hello trace');
    assert.equal(root.attributes.output, r.body.choices[0].message.content);
    assert.equal(root.attributes.completion_tokens, r.body.usage.completion_tokens);
    assert.equal(root.attributes.sampling.temperature, 0);
    assert.ok(root.attributes.finish_reason);
    const names = t.spans.map((s) => s.name).sort();
    for (const n of ['attempt', 'engine', 'queue', 'prompt', 'decode'])
      assert.ok(names.includes(n), `span ${n} in ${names}`);
    const attempt = t.spans.find((s) => s.name === 'attempt');
    assert.equal(attempt.parent_span_id, root.span_id);
    assert.equal(attempt.attributes.instance, 'local/chat');
    const engine = t.spans.find((s) => s.name === 'engine');
    assert.equal(engine.parent_span_id, attempt.span_id);
    assert.equal(engine.attributes.engine, 'llama.cpp');
    assert.ok(engine.attributes.prompt_ms >= 0 && engine.attributes.decode_ms >= 0);
    for (const s of t.spans) assert.ok(!JSON.stringify(s).toLowerCase().includes('authorization'));
  });

  test('a streamed call records time to first token and its text; no traceparent: new trace', async () => {
    const s = await stream(srv, '/v1/chat/completions', chatBody('Stream me', { stream_options: { include_usage: true } }));
    const traceId = s.res.headers.get('x-trace-id');
    assert.match(traceId, /^[0-9a-f]{32}$/);
    assert.notEqual(traceId, CLIENT_TRACE);
    const t = await traceOf(srv, traceId, 6);
    const root = assertConnected(t.spans, undefined);
    assert.equal(root.attributes.output, s.texts[0]);
    if (s.texts[0].length > 0) assert.ok(root.attributes.ttft_ms > 0);
    assert.equal(t.summary.response_id, s.chunks[0].id);
  });

  test('feedback is validated, stored, and joined to the trace', async () => {
    const r = await callJson(srv, '/v1/chat/completions', chatBody('Rate me'));
    const bad = await callJson(srv, '/v1/feedback', { response_id: r.body.id, score: 9 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.param, 'score');
    assert.equal(bad.body.error.type, 'invalid_request_error');
    const none = await callJson(srv, '/v1/feedback', { score: 'up' });
    assert.equal(none.status, 400);
    assert.equal(none.body.error.param, 'response_id');
    const ok = await callJson(srv, '/v1/feedback', {
      response_id: r.body.id, score: 2, reasons: ['too short'], comment: 'meh' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.score, 2);
    const thumb = await callJson(srv, '/v1/feedback', {
      trace_id: r.headers.get('x-trace-id'), score: 'up' });
    assert.equal(thumb.status, 200);
    const t = await traceOf(srv, r.body.id, 6);
    assert.equal(t.feedback.length, 2);
    assert.deepEqual(t.feedback.map((f) => f.score), [2, 'up']);
    assert.deepEqual(t.feedback[0].reasons, ['too short']);

    const show = runSmmf(['trace', 'show', r.body.id, '--dir', traceDir, '--feedback-db', feedbackDb]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`trace ${r.headers.get('x-trace-id')}  response ${r.body.id}`));
    assert.match(show.stdout, /^POST \/v1\/chat\/completions \[smmf-serve\] \+0\.0 ms/m);
    assert.match(show.stdout, /^  attempt \[smmf-serve\] \+[\d.]+ ms/m);
    assert.match(show.stdout, /^    engine \[smmf-serve\]/m);
    assert.match(show.stdout, /^      prompt \[smmf-serve\]/m);
    assert.match(show.stdout, /input \[user\]: Rate me/);
    assert.match(show.stdout, /score 2  reasons: too short  comment: meh/);
    assert.match(show.stdout, /score up/);
  });

  test('trace list, stats and the JSON API filter by model, status and text', async () => {
    const bad = await callJson(srv, '/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(bad.status, 404);
    await waitFor(async () => (await getJson(srv, '/api/v1/traces?status=404')).body.data.length >= 1,
                  { what: 'the 404 trace' });
    const list = await getJson(srv, '/api/v1/traces?model=chat&q=hello%20TRACE');
    assert.equal(list.status, 200);
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].trace_id, CLIENT_TRACE);
    const errors = await getJson(srv, '/api/v1/traces?status=error');
    assert.ok(errors.body.data.every((t) => t.error));
    const badq = await getJson(srv, '/api/v1/traces?limit=x');
    assert.equal(badq.status, 400);
    assert.equal(badq.body.error.param, 'limit');
    const stats = await getJson(srv, '/api/v1/stats?model=chat');
    assert.equal(stats.status, 200);
    assert.equal(stats.body.data[0].model, 'chat');
    assert.ok(stats.body.data[0].count >= 3);
    assert.ok(stats.body.data[0].latency_ms.p50 > 0);

    const cli = runSmmf(['trace', 'list', '--dir', traceDir, '--model', 'chat', '--since', '1h']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /TRACE ID/);
    assert.ok(cli.stdout.includes(CLIENT_TRACE));
    const cliStats = runSmmf(['trace', 'stats', '--dir', traceDir, '--json']);
    assert.equal(cliStats.code, 0, cliStats.stderr);
    assert.ok(JSON.parse(cliStats.stdout).some((s) => s.model === 'chat'));
    const missing = runSmmf(['trace', 'show', 'chatcmpl-none', '--dir', traceDir]);
    assert.equal(missing.code, 1);
  });

  test('/metrics passes promtool and its counters move with requests', async () => {
    const text0 = await (await srvFetch(srv, '/metrics')).text();
    const m0 = parseMetrics(text0);
    await callJson(srv, '/v1/chat/completions', chatBody('count me'));
    await stream(srv, '/v1/chat/completions', chatBody('count me too'));
    const res = await srvFetch(srv, '/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const m = parseMetrics(text);
    const ok = 'smmf_requests_total{instance="local/chat",model="chat",route="/v1/chat/completions",status="200"}';
    assert.equal((m[ok] ?? 0) - (m0[ok] ?? 0), 2, text);
    assert.ok(sumOf(m, 'smmf_completion_tokens_total{model="chat"}') > sumOf(m0, 'smmf_completion_tokens_total{model="chat"}'));
    assert.ok(m['smmf_request_duration_seconds_count{model="chat",route="/v1/chat/completions"}'] >= 2);
    assert.ok(m['smmf_time_to_first_token_seconds_count{model="chat"}'] >= 1);
    assert.equal(m['smmf_model_state{model="chat",state="running"}'], 1);
    assert.equal(m['smmf_instance_healthy{instance="local/chat",model="chat"}'], 1);
    assert.equal(m['smmf_requests_in_flight{model="chat"}'], 0);
    assert.equal(m['smmf_spans_dropped_total'], 0);
    assert.ok(m['smmf_http_requests_total{code="200",method="POST"}'] >= 2);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error?.code === 'ENOENT') {
      assert.fail('promtool not found: scripts/install_deps.sh installs the prometheus package');
    }
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);
  });
});

describe('capture modes', () => {
  for (const capture of ['redacted', 'off']) {
    test(`capture = "${capture}" keeps no text`, async () => {
      const traceDir = freshDir(`traces-${capture}`);
      const srv = await startServer({ config: obsToml({ capture, traceDir }) + tomlModel({ name: 'chat' }) });
      try {
        const secret = 'my secret prompt';
        const r = await callJson(srv, '/v1/chat/completions', chatBody(secret),
                                 { headers: { authorization: 'Bearer sk-should-not-leak' } });
        assert.equal(r.status, 200);
        const t = await traceOf(srv, r.body.id, 6);
        const all = JSON.stringify(t);
        assert.ok(!all.includes(secret), all);
        assert.ok(!all.includes('sk-should-not-leak'));
        const root = t.spans.find((s) => s.attributes.response_id === r.body.id);
        if (capture === 'redacted') {
          assert.deepEqual(root.attributes.input, [{ role: 'user', content: `[redacted: ${secret.length} chars]` }]);
          assert.match(root.attributes.output, /^\[redacted: \d+ chars\]$/);
        } else {
          assert.equal(root.attributes.input, undefined);
          assert.equal(root.attributes.output, undefined);
        }
        assert.equal(root.attributes.completion_tokens, r.body.usage.completion_tokens);
      } finally {
        await srv.stop();
      }
    });
  }
});

describe('cluster mode', () => {
  let collector;
  const received = [];
  let c;
  before(async () => {
    // A tiny OTLP/HTTP JSON collector.
    collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const j = JSON.parse(body);
          for (const rs of j.resourceSpans) {
            const service = rs.resource.attributes.find((a) => a.key === 'service.name').value.stringValue;
            for (const ss of rs.scopeSpans) for (const s of ss.spans) received.push({ service, ...s });
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } else {
          res.writeHead(404).end();
        }
      });
    });
    await new Promise((r) => collector.listen(0, '127.0.0.1', r));
    const otlp = `http://127.0.0.1:${collector.address().port}`;
    const traceDir = freshDir('cluster-traces');
    c = await startCluster({
      workers: [{ id: 'w1', extraToml: obsToml({ otlp, traceDir }) }],
      apis: [{ extraToml: obsToml({ otlp, traceDir }) }],
    });
    c.traceDir = traceDir;
  });
  after(async () => {
    await c?.stop();
    collector?.close();
  });

  test('API server -> worker -> engine is one connected trace', async () => {
    const r = await callJson(c.api, '/v1/chat/completions', chatBody('Across processes'),
                             { headers: { traceparent: CLIENT_PARENT.replace(CLIENT_TRACE, 'a'.repeat(32)) } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const traceId = 'a'.repeat(32);
    assert.equal(r.headers.get('x-trace-id'), traceId);
    // apiserver: server + attempt; worker: server + attempt + engine + 3 phases.
    const spans = await waitFor(() => {
      const mine = received.filter((s) => s.traceId === traceId);
      return mine.length >= 8 ? mine : null;
    }, { timeoutMs: 15000, what: 'the spans at the collector' });
    const ids = new Set(spans.map((s) => s.spanId));
    const roots = spans.filter((s) => !ids.has(s.parentSpanId));
    assert.equal(roots.length, 1);
    assert.equal(roots[0].parentSpanId, CLIENT_SPAN);
    assert.equal(roots[0].service, 'smmf-apiserver');
    const byName = (service, name) => spans.filter((s) => s.service === service && s.name === name);
    const [apiAttempt] = byName('smmf-apiserver', 'attempt');
    assert.equal(apiAttempt.parentSpanId, roots[0].spanId);
    assert.equal(apiAttempt.attributes.find((a) => a.key === 'instance').value.stringValue, 'w1/chat');
    const [workerServer] = byName('smmf-worker', 'POST /v1/chat/completions');
    assert.equal(workerServer.parentSpanId, apiAttempt.spanId, 'the worker span hangs under the attempt');
    const [workerAttempt] = byName('smmf-worker', 'attempt');
    assert.equal(workerAttempt.parentSpanId, workerServer.spanId);
    const [engine] = byName('smmf-worker', 'engine');
    assert.equal(engine.parentSpanId, workerAttempt.spanId);
    for (const phase of ['queue', 'prompt', 'decode'])
      assert.equal(byName('smmf-worker', phase)[0].parentSpanId, engine.spanId);
    const rid = roots[0].attributes.find((a) => a.key === 'response_id').value.stringValue;
    assert.equal(rid, r.body.id);

    // Both processes also wrote JSONL files to the shared folder: `smmf trace show` joins them.
    await sleep(200);
    const show = runSmmf(['trace', 'show', traceId, '--dir', c.traceDir]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^POST \/v1\/chat\/completions \[smmf-apiserver\]/m);
    assert.match(show.stdout, /^    POST \/v1\/chat\/completions \[smmf-worker\]/m);
    assert.match(show.stdout, /^        engine \[smmf-worker\]/m);
  });

  test('every role serves /metrics', async () => {
    for (const s of [c.controller, c.workers[0], c.api]) {
      const res = await srvFetch(s, '/metrics');
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /smmf_http_requests_total/);
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(promtool.status, 0, `${s.name}: ${promtool.stdout}${promtool.stderr}`);
    }
    const w = parseMetrics(await (await srvFetch(c.workers[0], '/metrics')).text());
    assert.equal(w['smmf_model_state{model="chat",state="running"}'], 1);
    const a = parseMetrics(await (await srvFetch(c.api, '/metrics')).text());
    assert.equal(a['smmf_instance_healthy{instance="w1/chat",model="chat"}'], 1);
  });
});
