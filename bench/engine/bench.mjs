// Side-by-side load generator: SMMF's llama.cpp engine (`smmf serve`) vs llama-server on the
// same GGUF file, same compute threads and parallel slots. Both servers stay up for the whole
// run; every scenario runs on both back to back, in alternating order, so machine noise hits
// both. Streaming chat only; TTFT = time to the first content delta, tokens from usage.
//
//   node bench/engine/bench.mjs --smmf build/src/smmf --llama-server $PREFIX/bin/llama-server \
//     --model build/bench/smol-124m-f16.gguf [--threads 2] [--parallel 16] [--reps 2] [--json out]
//
// No dependencies beyond Node 20 (global fetch, node:child_process).
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    smmf: { type: 'string' },
    'llama-server': { type: 'string' },
    model: { type: 'string' },
    threads: { type: 'string', default: '2' },
    parallel: { type: 'string', default: '16' },
    ctx: { type: 'string', default: '16384' },
    reps: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '1,4,16' },
    'max-tokens': { type: 'string', default: '128' },
    turns: { type: 'string', default: '3' },
    conversations: { type: 'string', default: '4' },
    'turn-tokens': { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
for (const k of ['smmf', 'llama-server', 'model']) {
  if (!opt[k]) { console.error(`--${k} is required`); process.exit(2); }
}
const THREADS = Number(opt.threads);
const PARALLEL = Number(opt.parallel);
const CTX = Number(opt.ctx);
const REPS = Number(opt.reps);
const LEVELS = opt.concurrency.split(',').map(Number);
const MAX_TOKENS = Number(opt['max-tokens']);
const TURNS = Number(opt.turns);
const CONVERSATIONS = Number(opt.conversations);
const TURN_TOKENS = Number(opt['turn-tokens']);
const MODEL = 'bench';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'smmf-bench-'));
const children = [];
const killAll = () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
process.on('exit', killAll);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => { killAll(); process.exit(130); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function waitHealthy(base, child, logFile, timeoutMs = 120000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited; see ${logFile}`);
    try {
      const r = await fetch(base + '/health');
      if (r.status === 200) return;
    } catch { /* not yet */ }
    await sleep(200);
  }
  throw new Error(`server not healthy after ${timeoutMs} ms; see ${logFile}`);
}

async function startLlamaServer() {
  const port = await freePort();
  const logFile = path.join(tmp, 'llama-server.log');
  const args = ['-m', opt.model, '--alias', MODEL, '-t', String(THREADS), '-tb', String(THREADS),
                '-np', String(PARALLEL), '-c', String(CTX), '--host', '127.0.0.1',
                '--port', String(port), '--no-webui'];
  const fd = openSync(logFile, 'w');
  const child = spawn(opt['llama-server'], args, { stdio: ['ignore', fd, fd] });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitHealthy(base, child, logFile);
  return { name: 'llama-server', base, child, logFile, args };
}

async function startSmmf() {
  const port = await freePort();
  const logFile = path.join(tmp, 'smmf.log');
  const config = path.join(tmp, 'smmf.toml');
  writeFileSync(config, [
    '[[models]]', `name = "${MODEL}"`, 'engine = "llama.cpp"', `path = "${path.resolve(opt.model)}"`,
    `params = { threads = ${THREADS}, threads_batch = ${THREADS}, parallel = ${PARALLEL}, ` +
      `ctx_size = ${CTX} }`, ''].join('\n'));
  const fd = openSync(logFile, 'w');
  const args = ['serve', '--config', config, '--host', '127.0.0.1', '--port', String(port)];
  const child = spawn(opt.smmf, args, { stdio: ['ignore', fd, fd] });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120000;
  for (;;) {  // smmf's /healthz is ready once the model runs
    if (child.exitCode !== null) throw new Error(`smmf exited; see ${logFile}`);
    try { if ((await fetch(base + '/healthz')).status === 200) break; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`smmf not ready; see ${logFile}`);
    await sleep(200);
  }
  return { name: 'smmf', base, child, logFile, args };
}

// A fixed English passage of ~165 tokens; each request gets a unique first line so that no
// engine can serve a whole prompt from cache.
const PASSAGE =
  'The lighthouse keeper climbed the spiral stairs every evening at dusk, carrying a lamp, a ' +
  'notebook and a thermos of strong tea. From the gallery he could see the fishing boats ' +
  'returning to the harbour, the gulls circling above the cliffs, and the long grey line of ' +
  'the horizon where the weather came from. He wrote down the wind, the swell, the colour of ' +
  'the sky and the names of the boats that passed, as his father had done before him. Nobody ' +
  'had asked him to keep these records for many years, but he kept them anyway, because the ' +
  'sea changed slowly and only patient eyes could notice it. Tonight the clouds were low and ' +
  'heavy. Tell me, in your own words, what the keeper saw and what he wrote in his notebook.';

let requestCounter = 0;
function uniquePrompt() { return `Request ${++requestCounter} of the benchmark.\n${PASSAGE}`; }

let BAN = {};  // logit_bias that keeps end-of-generation tokens out, so every answer is full length

// One streaming chat call over a fresh connection (node:http, no keep-alive: llama-server
// closes idle keep-alive connections after a few seconds, which fetch() would trip over);
// returns { ttft, end, tokens, promptTokens, text }.
function streamChat(base, messages, maxTokens) {
  const body = JSON.stringify({
    model: MODEL, messages, stream: true, stream_options: { include_usage: true },
    max_tokens: maxTokens, temperature: 0, logit_bias: BAN,
  });
  const url = new URL(base + '/v1/chat/completions');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request({
      host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.setEncoding('utf8');
      let buf = '', ttft = null, text = '', chunks = 0, usage = null, raw = '';
      res.on('data', (d) => {
        if (res.statusCode !== 200) { raw += d; return; }
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of event.split('\n')) {
            if (!line.startsWith('data: ')) continue;
            const data = line.slice(6);
            if (data === '[DONE]') continue;
            const j = JSON.parse(data);
            if (j.error) { reject(new Error(`${base}: ${JSON.stringify(j.error)}`)); return; }
            if (j.usage) usage = j.usage;
            const c = j.choices?.[0]?.delta?.content;
            if (c) {
              if (ttft === null) ttft = performance.now() - t0;
              text += c;
              chunks++;
            }
          }
        }
      });
      res.on('end', () => {
        if (res.statusCode !== 200) { reject(new Error(`${base}: HTTP ${res.statusCode} ${raw}`)); return; }
        resolve({ ttft, end: performance.now() - t0, tokens: usage?.completion_tokens ?? chunks,
                  promptTokens: usage?.prompt_tokens ?? 0, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// `conc` clients, each sending `perClient` requests back to back.
async function runConcurrency(server, conc, perClient) {
  const results = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    for (let k = 0; k < perClient; k++) {
      results.push(await streamChat(server.base, [{ role: 'user', content: uniquePrompt() }], MAX_TOKENS));
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  return summarize(results, wall);
}

// Multi-turn chats: turn n resends the whole history plus a short new user message, so the
// engines' prefix caches serve the shared part.
async function runMultiTurn(server) {
  const results = [], later = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONVERSATIONS }, async () => {
    const messages = [{ role: 'user', content: uniquePrompt() }];
    for (let t = 0; t < TURNS; t++) {
      const r = await streamChat(server.base, messages, TURN_TOKENS);
      results.push(r);
      if (t > 0) later.push(r);
      messages.push({ role: 'assistant', content: r.text });
      messages.push({ role: 'user', content: `Thank you. Now continue with part ${t + 2}, briefly.` });
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const s = summarize(results, wall);
  s.ttftLater = median(later.map((r) => r.ttft));
  s.promptLast = Math.max(...results.map((r) => r.promptTokens));
  return s;
}

function median(xs) {
  const v = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!v.length) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function summarize(results, wall) {
  const tokens = results.reduce((a, r) => a + r.tokens, 0);
  return {
    requests: results.length, tokens, wall,
    tps: tokens / wall,
    ttft: median(results.map((r) => r.ttft)),
    minTokens: Math.min(...results.map((r) => r.tokens)),
    promptTokens: median(results.map((r) => r.promptTokens)),
  };
}

async function findEndTokens(base) {
  const bias = {};
  for (const s of ['<|im_end|>', '<|endoftext|>', '</s>', '<|eot_id|>', '<|end_of_text|>']) {
    try {
      const r = await fetch(base + '/tokenize', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: s, add_special: false, parse_special: true }),
      });
      const j = await r.json();
      if (Array.isArray(j.tokens) && j.tokens.length === 1) bias[String(j.tokens[0])] = -100;
    } catch { /* not a llama-server build with /tokenize */ }
  }
  return bias;
}

// CPU time (user + system, all threads) a server has used so far, in seconds: the work per
// token, which other load on the machine disturbs far less than wall time.
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;  // utime, stime in USER_HZ (100 on Linux)
}

const fmt = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

async function main() {
  console.log(`model ${opt.model}, threads ${THREADS}, parallel ${PARALLEL}, ctx ${CTX}, reps ${REPS}`);
  const llama = await startLlamaServer();
  const smmf = await startSmmf();
  BAN = await findEndTokens(llama.base);
  console.log(`end-of-generation tokens banned with logit_bias: ${Object.keys(BAN).join(', ') || 'none'}`);
  const servers = [llama, smmf];
  // Warm-up: a short request each (first-call allocations, page cache).
  for (const s of servers) {
    await streamChat(s.base, [{ role: 'user', content: uniquePrompt() }], 16);
    await Promise.all([0, 1].map(() => streamChat(s.base, [{ role: 'user', content: uniquePrompt() }], 8)));
  }
  const scenarios = [
    ...LEVELS.map((c) => ({ key: `c${c}`, label: `concurrency ${c}`,
                            run: (s) => runConcurrency(s, c, c === 1 ? 2 : 1) })),
    { key: 'multiturn', label: `multi-turn ${CONVERSATIONS}x${TURNS}`, run: runMultiTurn },
  ];
  const raw = {};  // key -> engine -> [summary per rep]
  for (let rep = 0; rep < REPS; rep++) {
    for (const sc of scenarios) {
      const order = (rep + scenarios.indexOf(sc)) % 2 ? [smmf, llama] : [llama, smmf];
      for (const s of order) {
        const cpu0 = cpuSeconds(s.child.pid);
        const r = await sc.run(s);
        r.cpuPerKTok = (cpuSeconds(s.child.pid) - cpu0) / (r.tokens / 1000);
        ((raw[sc.key] ??= {})[s.name] ??= []).push(r);
        console.log(`rep ${rep + 1} ${sc.label.padEnd(16)} ${s.name.padEnd(12)} ` +
                    `${fmt(r.tps)} tok/s  TTFT ${fmt(r.ttft, 0)} ms  ` +
                    `CPU ${fmt(r.cpuPerKTok)} s/1k tok  ` +
                    `${r.requests} req, min ${r.minTokens} tok, prompt ${r.promptTokens}` +
                    (r.ttftLater !== undefined ? `, later-turn TTFT ${fmt(r.ttftLater, 0)} ms, last prompt ${r.promptLast}` : ''));
      }
    }
  }
  // Per scenario: medians over reps, then ratios.
  const rows = [];
  for (const sc of scenarios) {
    const get = (name, f) => median(raw[sc.key][name].map(f));
    const row = { scenario: sc.label };
    for (const name of ['llama-server', 'smmf']) {
      row[name] = { tps: get(name, (r) => r.tps), ttft: get(name, (r) => r.ttft),
                    ttftLater: get(name, (r) => r.ttftLater), cpu: get(name, (r) => r.cpuPerKTok) };
    }
    row.tpsRatio = row.smmf.tps / row['llama-server'].tps;
    row.ttftRatio = row.smmf.ttft / row['llama-server'].ttft;
    row.ttftLaterRatio = row.smmf.ttftLater / row['llama-server'].ttftLater;
    row.cpuRatio = row.smmf.cpu / row['llama-server'].cpu;
    rows.push(row);
  }
  console.log('\n| scenario | llama-server tok/s | SMMF tok/s | ratio (>= 1.0) | llama-server TTFT ms | SMMF TTFT ms | ratio (<= 1.1) | CPU s per 1k tokens, llama-server / SMMF | ratio |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    console.log(`| ${r.scenario} | ${fmt(r['llama-server'].tps)} | ${fmt(r.smmf.tps)} | ${fmt(r.tpsRatio, 2)} | ` +
                `${fmt(r['llama-server'].ttft, 0)} | ${fmt(r.smmf.ttft, 0)} | ${fmt(r.ttftRatio, 2)} | ` +
                `${fmt(r['llama-server'].cpu)} / ${fmt(r.smmf.cpu)} | ${fmt(r.cpuRatio, 2)} |`);
  }
  const mt = rows.find((r) => r.scenario.startsWith('multi-turn'));
  if (mt) {
    console.log(`\nmulti-turn, turns 2..${TURNS} only (prefix cache): TTFT llama-server ${fmt(mt['llama-server'].ttftLater, 0)} ms, ` +
                `SMMF ${fmt(mt.smmf.ttftLater, 0)} ms, ratio ${fmt(mt.ttftLaterRatio, 2)}`);
  }
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ rows, raw }, null, 2));
  const kv = readFileSync(llama.logFile, 'utf8').match(/n_ctx_slot = \d+, kv_unified = '\w+'/);
  if (kv) console.log(`llama-server: ${kv[0]}`);
  for (const s of servers) s.child.kill('SIGTERM');
  await sleep(500);
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
