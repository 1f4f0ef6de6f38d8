// A full disk under the trace writer: `smmf serve` writes its spans as JSON lines to a
// trace_dir on a 512 KiB tmpfs, and a filler file takes the rest of the space. Calls must keep
// being served (correct answers, no added latency beyond a bound, no crash or stall), the
// failure must show (smmf_trace_write_failures_total, smmf_spans_dropped_total, one warn log
// per 10 s), and once the filler is deleted spans must be written again, as whole lines.
//
// Needs root (mount -t tmpfs); skipped with the reason otherwise. The mount is made in this
// process's mount namespace under a temporary folder and removed in after() (lazily if busy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync, mkdirSync, rmSync, readdirSync, readFileSync, writeFileSync, statfsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, callJson, getJson, srvFetch, sleep, parseMetrics } from './lib/server.mjs';
import { startMockUpstream, tomlFaultModel } from './lib/mock_upstream.mjs';
import { waitFor } from './lib/cluster.mjs';

const root = mkdtempSync(path.join(os.tmpdir(), 'smmf-diskfull-'));
const mnt = path.join(root, 'mnt');
mkdirSync(mnt);
let mounted = false;
let skip = false;
if (typeof process.getuid === 'function' && process.getuid() !== 0) {
  skip = 'needs root to mount a small tmpfs';
} else {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', mnt], { encoding: 'utf8' });
  if (r.status === 0) mounted = true;
  else skip = `cannot mount a tmpfs here: ${(r.stderr || r.error?.message || '').trim()}`;
}
function cleanup() {
  if (mounted) {
    if (spawnSync('umount', [mnt]).status !== 0) spawnSync('umount', ['-l', mnt]);
    mounted = false;
  }
  rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanup);

const traceDir = path.join(mnt, 'traces');
const filler = path.join(mnt, 'filler');

let mock;
let srv;

before(async () => {
  if (skip) return;
  mock = await startMockUpstream();
  const config = '[server]\nshutdown_grace = 5\n' +
    `[observability]\ntrace_dir = ${JSON.stringify(traceDir)}\n\n` +
    tomlFaultModel('ok', 'ok', mock.base);
  srv = await startServer({ config });
});
after(async () => {
  await srv?.stop();
  await mock?.close();
  cleanup();
});

const chat = (content) => ({ model: 'ok', messages: [{ role: 'user', content }], max_tokens: 8 });

async function scrape() {
  const res = await srvFetch(srv, '/metrics');
  return parseMetrics(await res.text());
}

/// `n` calls, `concurrency` at a time; each must be answered 200 with the mock's text.
/// Returns each call's latency (ms) and response id.
async function calls(n, concurrency, tag) {
  const out = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      const r = await callJson(srv, '/v1/chat/completions', chat(`${tag} ${i}`));
      const ms = performance.now() - t0;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.choices[0].message.content, 'Hello world');
      out.push({ ms, id: r.headers.get('x-request-id') });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
function rssKb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const maxOf = (xs) => Math.max(...xs);

function traceLines() {
  const lines = [];
  for (const f of readdirSync(traceDir)) {
    if (!f.endsWith('.jsonl')) continue;
    for (const l of readFileSync(path.join(traceDir, f), 'utf8').split('\n')) if (l) lines.push(l);
  }
  return lines;
}

/// Fills the filesystem: writes until ENOSPC (the file keeps what fitted).
function fillDisk() {
  const block = Buffer.alloc(4096, 0x61);
  try {
    writeFileSync(filler, '');
    for (;;) writeFileSync(filler, block, { flag: 'a' });
  } catch (e) {
    assert.equal(e.code, 'ENOSPC', `filling the disk: ${e.message}`);
  }
  const st = statfsSync(mnt);
  return st.bavail * st.bsize;
}

test('a full disk under the trace writer: served, counted, logged, recovered', { skip }, async (t) => {
  // Baseline: spans reach the file.
  const warm = await calls(10, 4, 'warm');
  const base = await calls(30, 4, 'base');
  await waitFor(async () => (await scrape())['smmf_spans_exported_total'] > 0,
                { what: 'spans exported before the disk fills' });
  const m0 = await scrape();
  assert.equal(m0['smmf_trace_write_failures_total'], 0);
  assert.equal(m0['smmf_spans_dropped_total'], 0);
  const before = traceLines().length;
  const rss0 = rssKb(srv.pid);
  assert.ok(before > 0, 'spans in the trace files before the disk fills');
  t.diagnostic(`warm-up median ${median(warm.map((c) => c.ms)).toFixed(1)} ms; ` +
               `baseline median ${median(base.map((c) => c.ms)).toFixed(1)} ms, ` +
               `max ${maxOf(base.map((c) => c.ms)).toFixed(1)} ms; ${before} span lines`);

  // The disk fills up. A trace file's last page may still take a few lines; then writes fail.
  const free = fillDisk();
  t.diagnostic(`disk full: ${free} bytes free`);
  const tFull = Date.now();
  const full = await calls(120, 4, 'full');
  const fullMs = full.map((c) => c.ms);
  await waitFor(async () => (await scrape())['smmf_trace_write_failures_total'] > 0,
                { what: 'smmf_trace_write_failures_total > 0' });
  // A few more calls now that the writer is known to fail: still served at once.
  const failing = await calls(40, 4, 'failing');
  const failMs = failing.map((c) => c.ms);
  const m1 = await scrape();
  t.diagnostic(`disk full: median ${median(fullMs).toFixed(1)} / ${median(failMs).toFixed(1)} ms, ` +
               `max ${maxOf([...fullMs, ...failMs]).toFixed(1)} ms; ` +
               `write failures ${m1['smmf_trace_write_failures_total']}, ` +
               `spans dropped ${m1['smmf_spans_dropped_total']}`);
  assert.ok(m1['smmf_spans_dropped_total'] > 0, 'dropped spans are counted');
  // No added latency beyond a bound: the writer is off the request path.
  const baseMedian = median(base.map((c) => c.ms));
  const bound = 2 * baseMedian + 50;
  assert.ok(median(failMs) < bound, `median ${median(failMs)} ms with the disk full (bound ${bound})`);
  assert.ok(maxOf([...fullMs, ...failMs]) < 2000, 'no call stalled');
  // Nothing piles up in memory while spans cannot be written.
  const rss1 = rssKb(srv.pid);
  t.diagnostic(`VmRSS ${rss0} kB before the disk filled, ${rss1} kB after 160 calls with it full`);
  const boundKb = Number(process.env.SMMF_FAULT_RSS_BOUND_KB || 8192);
  assert.ok(rss1 - rss0 < boundKb, `VmRSS grew by ${rss1 - rss0} kB (bound ${boundKb})`);
  assert.equal(srv.exit, null, 'smmf is running');
  assert.equal((await getJson(srv, '/healthz')).status, 200);
  // The failure is logged, at most once per 10 s (not once per batch).
  const warns = srv.lines.filter((l) => /cannot write trace file .*No space left on device/.test(l));
  const allowed = 1 + Math.floor((Date.now() - tFull) / 10000);
  assert.ok(warns.length >= 1, `a warn log about the full disk:\n${srv.lines.slice(-10).join('\n')}`);
  assert.ok(warns.length <= allowed, `${warns.length} warn lines in ${Date.now() - tFull} ms`);
  // Every line in the files is a whole span (a cut write was cut back).
  for (const l of traceLines()) JSON.parse(l);

  // Space comes back: the next spans are written again.
  rmSync(filler);
  const after = await calls(10, 2, 'after');
  const last = after.at(-1).id;
  const found = await waitFor(async () => {
    const r = await getJson(srv, `/api/v1/traces/${last}`);
    return r.status === 200 && r.body.spans.length > 0 ? r.body : null;
  }, { timeoutMs: 10000, what: `the trace of ${last} in the files after space came back` });
  assert.ok(found.spans.length > 0);
  assert.ok(srv.lines.some((l) => /trace file .* is writable again/.test(l)), 'recovery is logged');
  const m2 = await scrape();
  assert.ok(m2['smmf_spans_exported_total'] > m1['smmf_spans_exported_total']);
  const lines = traceLines();
  for (const l of lines) JSON.parse(l);
  t.diagnostic(`after recovery: ${lines.length} span lines (${before} before the disk filled)`);
  // Spans of calls made while the disk was full are gone; those made after are there.
  const ids = new Set(lines.map((l) => JSON.parse(l).attributes?.response_id).filter(Boolean));
  assert.ok(after.some((c) => ids.has(c.id)), 'a call made after recovery is in the files');
  assert.equal(srv.exit, null);
});
