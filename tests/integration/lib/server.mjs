// Test harness for the real `smmf` binary: start it on a free port, wait until ready, collect its
// log, stop it with SIGTERM and check the exit; plus SSE and raw-socket HTTP helpers.
//
// Environment: SMMF_BIN (default: <repo>/build/src/smmf), SMMF_MODEL_DIR (default: <repo>/build/models).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const SMMF_BIN = process.env.SMMF_BIN || path.join(REPO, 'build/src/smmf');
export const MODEL_DIR = process.env.SMMF_MODEL_DIR || path.join(REPO, 'build/models');
export const CHAT_MODEL_PATH = path.join(MODEL_DIR, 'tiny-chat.gguf');
export const EMBED_MODEL_PATH = path.join(MODEL_DIR, 'tiny-embed.gguf');

// Kill the server if this test process dies without stopping it (timeout, crash, ctest kill).
const HAVE_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
const live = new Set();
function killAll() {
  for (const child of live) {
    try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { killAll(); process.exit(128 + os.constants.signals[sig]); });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sanitizer builds (make test-asan / test-tsan): a report in any smmf process fails this test
// file, even when the test killed that process or expected it to fail (its exit code then says
// nothing). Every spawn of smmf passes its stderr here once the process has ended.
const SANITIZER_REPORT =
  /^==\d+==ERROR: (Address|Leak|Memory)Sanitizer|^WARNING: ThreadSanitizer|^ThreadSanitizer:|:\d+:\d+: runtime error: /m;
const sanitizerReports = [];
export function checkSanitizerReport(stderr, what) {
  if (SANITIZER_REPORT.test(stderr)) sanitizerReports.push(`${what}:\n${stderr}`);
}
process.on('exit', () => {
  if (sanitizerReports.length === 0) return;
  process.stderr.write(`\n${sanitizerReports.length} smmf process(es) printed a sanitizer report:\n` +
                       `${sanitizerReports.join('\n\n')}\n`);
  process.exitCode = 1;
});

/// Runs `smmf <args>` to completion (for --help, version, bad configs).
export function runSmmf(args, { timeoutMs = 30000, env = {} } = {}) {
  const r = spawnSync(SMMF_BIN, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR, ...env },
  });
  if (r.error) throw r.error;
  checkSanitizerReport(r.stderr ?? '', `smmf ${args.join(' ')}`);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/// A temporary folder removed at process exit.
let tmpRoot;
export function tmpFile(name, content) {
  if (!tmpRoot) {
    tmpRoot = mkdtempSync(path.join(os.tmpdir(), 'smmf-it-'));
    process.on('exit', () => rmSync(tmpRoot, { recursive: true, force: true }));
  }
  const p = path.join(tmpRoot, name);
  writeFileSync(p, content);
  return p;
}

/// TOML for the tiny default models, to compose config files. The engine gets one compute
/// thread unless `params.threads` says otherwise: tests run side by side on few cores, and
/// llama.cpp's spinning thread pool slows down by 10x or more when oversubscribed.
export function tomlModel({ name, type = 'llm', file, params } = {}) {
  const p = file ?? (type === 'embedding' ? EMBED_MODEL_PATH : CHAT_MODEL_PATH);
  params = { threads: 1, ...(params || {}) };
  let s = `[[models]]\nname = "${name}"\ntype = "${type}"\nengine = "llama.cpp"\npath = "${p}"\n`;
  {
    const kv = Object.entries(params).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ');
    s += `params = { ${kv} }\n`;
  }
  return s + '\n';
}

export class Server {
  constructor(child, args) {
    this.child = child;
    this.args = args;
    this.lines = [];         // every stderr line so far
    this.stdout = '';
    this.port = 0;
    this.exit = null;        // { code, signal } once exited
    this.listeners = new Set();
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      partial += d;
      const parts = partial.split('\n');
      partial = parts.pop();
      for (const l of parts) this.#line(l);
    });
    child.stderr.on('end', () => { if (partial) this.#line(partial); partial = ''; });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.stdout += d; });
    // 'close': after the exit and the end of stderr (so the whole log is in).
    child.on('close', () => checkSanitizerReport(this.log(), `smmf ${args.join(' ')}`));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        this.exit = { code, signal };
        resolve(this.exit);
        for (const l of this.listeners) l();
      });
    });
  }

  #line(l) {
    this.lines.push(l);
    if (process.env.SMMF_TEST_VERBOSE) process.stderr.write(`[smmf ${this.child.pid}] ${l}\n`);
    for (const fn of this.listeners) fn();
  }

  get pid() { return this.child.pid; }
  get base() { return `${this.scheme || 'http'}://127.0.0.1:${this.port}`; }
  url(p) { return this.base + p; }
  log() { return this.lines.join('\n'); }

  /// Resolves with the first stderr line matching `re` (searching from line `from`).
  waitForLine(re, { timeoutMs = 10000, from = 0 } = {}) {
    return new Promise((resolve, reject) => {
      const check = () => {
        for (let i = from; i < this.lines.length; i++) {
          if (re.test(this.lines[i])) { done(); resolve(this.lines[i]); return true; }
        }
        if (this.exit) {
          done();
          reject(new Error(`smmf exited (${JSON.stringify(this.exit)}) before logging ${re}\n` +
                           this.log()));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re} in the log:\n${this.log()}`));
      }, timeoutMs);
      const done = () => { clearTimeout(timer); this.listeners.delete(check); };
      if (!check()) this.listeners.add(check);
    });
  }

  /// Access-log lines: "<METHOD> <target> <status> <ms>ms <bytes>B fields...".
  accessLines(method, target) {
    const re = new RegExp(`\\b${method} ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\d{3} `);
    return this.lines.filter((l) => re.test(l));
  }

  /// Waits until there are more than `index` access-log lines for method+target; returns line `index`.
  async waitAccessLine(method, target, index, { timeoutMs = 10000 } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.accessLines(method, target);
      if (lines.length > index) return lines[index];
      if (this.exit) throw new Error(`smmf exited (${JSON.stringify(this.exit)}) before access-log line ${index} of ${method} ${target}\n${this.log()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for access-log line ${index} of ${method} ${target}\n${this.log()}`);
      await sleep(20);
    }
  }

  signal(sig = 'SIGTERM') {
    if (!this.exit) process.kill(this.child.pid, sig);
  }

  /// SIGTERM, then waits for the exit; asserts exit code 0 (kill -9 and throw after timeoutMs).
  async stop({ timeoutMs = 15000, expectCode = 0 } = {}) {
    if (!this.exit) this.signal('SIGTERM');
    let timer;
    const res = await Promise.race([
      this.exited, new Promise((r) => { timer = setTimeout(() => r(null), timeoutMs); })]);
    clearTimeout(timer);
    if (!res) {
      this.kill();
      await this.exited;
      throw new Error(`smmf (pid ${this.pid}) did not exit within ${timeoutMs} ms of SIGTERM; ` +
                      `killed\n${this.log()}`);
    }
    assert.deepEqual(res, { code: expectCode, signal: null },
                     `smmf exit status (expected code ${expectCode})\n${this.log()}`);
    return res;
  }

  kill() {
    if (!this.exit) {
      try { process.kill(this.child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

/// Starts `smmf serve --port 0 ...args`; resolves once the log says "ready: N model(s) running"
/// and /healthz answers 200 (or, with waitReady=false, once the listening line is logged).
export async function startServer({ args = [], config, env = {}, timeoutMs = 60000,
                                    waitReady = true } = {}) {
  assert.ok(existsSync(SMMF_BIN), `smmf binary not found at ${SMMF_BIN} (set SMMF_BIN)`);
  const full = ['serve', '--port', '0', '--host', '127.0.0.1'];
  if (config !== undefined) full.push('--config', tmpFile(`config-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.toml`, config));
  full.push(...args);
  const cmd = HAVE_SETPRIV ? 'setpriv' : SMMF_BIN;
  const cmdArgs = HAVE_SETPRIV ? ['--pdeathsig', 'KILL', '--', SMMF_BIN, ...full] : full;
  const child = spawn(cmd, cmdArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SMMF_MODEL_DIR: MODEL_DIR, ...env },
  });
  live.add(child);
  const srv = new Server(child, full);
  try {
    const line = await srv.waitForLine(/listening on https?:\/\/[^\s:]+:\d+/, { timeoutMs });
    srv.port = Number(line.match(/listening on https?:\/\/[^\s]+:(\d+)/)[1]);
    srv.scheme = line.match(/listening on (https?):/)[1];
    assert.ok(srv.port > 0, `bad port in: ${line}`);
    if (waitReady) {
      // Both: the log says every model runs, and /healthz agrees (startup.test.mjs checks that
      // /healthz is never 200 before that).
      await srv.waitForLine(/ready: \d+ model\(s\) running/, { timeoutMs });
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (srv.exit) throw new Error(`smmf exited ${JSON.stringify(srv.exit)} while loading\n${srv.log()}`);
        try {
          const r = await fetch(srv.url('/healthz'));
          const body = await r.text();
          if (r.status === 200) {
            assert.deepEqual(JSON.parse(body), { status: 'ok' });
            break;
          }
          assert.equal(r.status, 503, `/healthz while loading: ${r.status} ${body}`);
        } catch (e) {
          if (e instanceof assert.AssertionError) throw e;
        }
        if (Date.now() > deadline) throw new Error(`smmf not ready within ${timeoutMs} ms\n${srv.log()}`);
        await sleep(50);
      }
    }
  } catch (e) {
    srv.kill();
    await srv.exited;
    throw e;
  }
  return srv;
}

// ---------------------------------------------------------------------------------------------
// JSON and SSE over fetch

/// fetch() that, when the connection fails, says whether smmf died (and how) with its last log.
export async function srvFetch(srv, p, init) {
  try {
    return await fetch(srv.url(p), init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    let timer;
    await Promise.race([srv.exited, new Promise((r) => { timer = setTimeout(r, 200); })]);
    clearTimeout(timer);
    const state = srv.exit ? `smmf EXITED ${JSON.stringify(srv.exit)}` : 'smmf still running';
    throw new Error(`${init?.method || 'GET'} ${p} failed (${e.cause?.code || e.cause?.message || e.message}); ` +
                    `${state}; last log lines:\n${srv.lines.slice(-8).join('\n')}`, { cause: e });
  }
}

export async function postJson(srv, p, body, init = {}) {
  return srvFetch(srv, p, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers || {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: init.signal,
  });
}

/// POST and parse a JSON answer: { status, headers, body }.
export async function callJson(srv, p, body, init) {
  const res = await postJson(srv, p, body, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { throw new Error(`non-JSON answer ${res.status}: ${text}`); }
  return { status: res.status, headers: res.headers, body: json };
}

export async function getJson(srv, p) {
  const res = await srvFetch(srv, p);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { throw new Error(`non-JSON answer ${res.status}: ${text}`); }
  return { status: res.status, headers: res.headers, body: json };
}

/// Yields the SSE events of a fetch Response body: { event, data } (data joined by '\n').
export async function* sseEvents(res) {
  const decoder = new TextDecoder();
  let buf = '';
  let ev = { event: 'message', data: [] };
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf.startsWith('\r\n', nl) ? 2 : 1));
      if (line === '') {
        if (ev.data.length) yield { event: ev.event, data: ev.data.join('\n') };
        ev = { event: 'message', data: [] };
      } else if (line.startsWith(':')) {
        // comment / keep-alive
      } else {
        const i = line.indexOf(':');
        const field = i < 0 ? line : line.slice(0, i);
        let value = i < 0 ? '' : line.slice(i + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') ev.data.push(value);
        else if (field === 'event') ev.event = value;
      }
    }
  }
  buf += decoder.decode();
  if (buf.length) throw new Error(`SSE stream ended inside an event: ${JSON.stringify(buf)}`);
  if (ev.data.length) throw new Error('SSE stream ended without the blank line after an event');
}

/// Reads a whole SSE response: { chunks (parsed JSON, before [DONE]), done, afterDone, events }.
export async function readSse(res, { onChunk } = {}) {
  const out = { chunks: [], done: false, afterDone: [], events: [] };
  for await (const ev of sseEvents(res)) {
    out.events.push(ev);
    if (out.done) { out.afterDone.push(ev); continue; }
    if (ev.data === '[DONE]') { out.done = true; continue; }
    const json = JSON.parse(ev.data);
    out.chunks.push(json);
    if (onChunk) await onChunk(json, out);
  }
  return out;
}

/// Streams a chat/completion; returns the SSE reading plus the text of each choice.
export async function stream(srv, p, body, init) {
  const res = await postJson(srv, p, { ...body, stream: true }, init);
  if (res.status !== 200) {
    const text = await res.text();
    throw new Error(`stream answered ${res.status}: ${text}`);
  }
  assert.match(res.headers.get('content-type') || '', /^text\/event-stream/);
  const sse = await readSse(res);
  return { res, ...sse, ...collectText(sse.chunks) };
}

/// Joins streamed deltas per choice: { texts: [..], finish: [..], usageChunks: [..] }.
export function collectText(chunks) {
  const texts = [];
  const finish = [];
  const usageChunks = [];
  for (const c of chunks) {
    if (c.usage) usageChunks.push(c);
    for (const ch of c.choices) {
      const t = ch.delta ? ch.delta.content : ch.text;
      texts[ch.index] = (texts[ch.index] ?? '') + (t ?? '');
      if (ch.finish_reason) {
        assert.equal(finish[ch.index], undefined, `choice ${ch.index} finished twice`);
        finish[ch.index] = ch.finish_reason;
      }
    }
  }
  return { texts, finish, usageChunks };
}

/// Asserts an OpenAI error answer: exact status, type and param (and code when given).
export function assertError(r, { status, param = null, code, type }) {
  const where = JSON.stringify(r.body);
  assert.equal(r.status, status, `status of ${where}`);
  assert.ok(r.body && typeof r.body.error === 'object', `error object in ${where}`);
  const e = r.body.error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type'], `error keys in ${where}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0, 'non-empty message');
  assert.equal(typeof e.type, 'string');
  assert.equal(e.param, param, `param of ${where}`);
  if (code !== undefined) assert.equal(e.code, code, `code of ${where}`);
  if (type !== undefined) assert.equal(e.type, type, `type of ${where}`);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over node:net, for what fetch cannot express.

/// One TCP connection with a byte buffer; reads HTTP/1.1 responses (Content-Length or chunked).
export class RawConnection {
  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host }, () => resolve(new RawConnection(sock)));
      sock.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.error = null;
    this.waiters = new Set();
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.#wake(); });
    sock.on('end', () => { this.closed = true; this.#wake(); });
    sock.on('close', () => { this.closed = true; this.#wake(); });
    sock.on('error', (e) => { this.error = e; this.closed = true; this.#wake(); });
  }

  #wake() { for (const w of this.waiters) w(); }

  write(data) {
    return new Promise((resolve, reject) => {
      this.sock.write(data, (e) => (e ? reject(e) : resolve()));
    });
  }

  /// Waits until `pred()` is true (re-checked on every event); rejects after timeoutMs.
  #until(pred, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let v;
        try { v = pred(); } catch (e) { done(); reject(e); return true; }
        if (v !== undefined && v !== false) { done(); resolve(v); return true; }
        return false;
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters.delete(check); };
      if (!check()) this.waiters.add(check);
    });
  }

  /// Reads one response: { status, reason, headers (lower-case keys), body (string), raw }.
  async readResponse({ timeoutMs = 10000 } = {}) {
    const res = await this.#until(() => {
      const parsed = parseResponse(this.buf);
      if (parsed) return parsed;
      if (this.closed) throw new Error(`connection closed before a full response: ${JSON.stringify(this.buf.toString('latin1'))}`);
      return undefined;
    }, timeoutMs, 'an HTTP response');
    this.buf = this.buf.subarray(res.length);
    return res;
  }

  /// Resolves true when the server closes the connection within timeoutMs, false otherwise.
  async waitClosed({ timeoutMs = 5000 } = {}) {
    try {
      await this.#until(() => this.closed, timeoutMs, 'the connection to close');
      return true;
    } catch {
      return false;
    }
  }

  destroy() { this.sock.destroy(); }
}

/// Parses one HTTP response at the start of `buf`; null when incomplete.
export function parseResponse(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = head[0].match(/^HTTP\/(\d\.\d) (\d{3}) ?(.*)$/);
  if (!m) throw new Error(`bad status line: ${head[0]}`);
  const status = Number(m[2]);
  const headers = {};
  for (const l of head.slice(1)) {
    const i = l.indexOf(':');
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
  }
  let pos = end + 4;
  if (status === 100) return { status, reason: m[3], headers, body: '', length: pos, version: m[1] };
  let body;
  if ((headers['transfer-encoding'] || '').toLowerCase().includes('chunked')) {
    const parts = [];
    for (;;) {
      const le = buf.indexOf('\r\n', pos);
      if (le < 0) return null;
      const size = parseInt(buf.subarray(pos, le).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      pos = le + 2;
      if (size === 0) {
        // trailers until an empty line
        const te = buf.indexOf('\r\n', pos);
        if (te < 0) return null;
        if (te === pos) { pos += 2; break; }
        const tend = buf.indexOf('\r\n\r\n', pos);
        if (tend < 0) return null;
        pos = tend + 4;
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return null;
    body = buf.subarray(pos, pos + n);
    pos += n;
  } else {
    body = Buffer.alloc(0); // this server always frames its answers
  }
  return { status, reason: m[3], headers, body: body.toString('utf8'), length: pos, version: m[1] };
}

/// Builds a raw HTTP/1.1 request.
export function httpRequest(method, target, { body, headers = {}, port } = {}) {
  const h = { host: `127.0.0.1${port ? ':' + port : ''}`, ...headers };
  if (body !== undefined && h['content-length'] === undefined) {
    h['content-length'] = Buffer.byteLength(body);
    h['content-type'] ??= 'application/json';
  }
  let s = `${method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) s += `${k}: ${v}\r\n`;
  return s + '\r\n' + (body ?? '');
}

/// One request on a fresh connection: sends `data`, reads one response, closes.
export async function rawExchange(port, data, { timeoutMs = 10000 } = {}) {
  const c = await RawConnection.connect(port);
  try {
    await c.write(data);
    const res = await c.readResponse({ timeoutMs });
    res.closedAfter = await c.waitClosed({ timeoutMs: 2000 });
    return res;
  } finally {
    c.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Small numeric helpers

/// Parses the Prometheus text format into { 'name{labels}': value }.
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out[line.slice(0, i)] = Number(line.slice(i + 1));
  }
  return out;
}

export function decodeBase64Floats(b64) {
  const bytes = Buffer.from(b64, 'base64');
  assert.equal(bytes.length % 4, 0, 'base64 embedding byte length is a multiple of 4');
  const out = [];
  for (let i = 0; i < bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}

export function norm(v) {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

export function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length, 'vector lengths');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
