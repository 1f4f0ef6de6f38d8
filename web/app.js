// The SMMF dashboard: models and instances with controls, live charts, recent calls with their
// traces and feedback, and a chat playground. It only calls the server's public JSON APIs, with
// the API key typed in (kept in this browser's localStorage).
'use strict';

const $ = (sel) => document.querySelector(sel);
const POLL_MS = 2000;
const state = { key: localStorage.getItem('smmf.apiKey') || '', openTrace: null, metricsPrev: null };

// ---- HTTP ----------------------------------------------------------------------------------

function headers(extra) {
  const h = { ...(extra || {}) };
  if (state.key) h.Authorization = 'Bearer ' + state.key;
  return h;
}

// fetch + JSON; throws an Error carrying the OpenAI error message and the status.
async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(options.headers) });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!res.ok) {
    const msg = body && body.error && body.error.message ? body.error.message : res.status + ' ' + res.statusText;
    const err = new Error(msg);
    err.status = res.status;
    throw err;
  }
  return body;
}

function say(text, isError) {
  const m = $('#message');
  m.textContent = text;
  m.className = isError ? 'error' : '';
  m.hidden = !text;
  if (text && !isError) setTimeout(() => { if (m.textContent === text) m.hidden = true; }, 4000);
}

// ---- DOM helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

function fillTable(table, rows) {
  const body = table.querySelector('tbody');
  body.replaceChildren(...rows);
}

function ms(v) { return v === null || v === undefined ? '–' : Number(v).toFixed(v < 10 ? 1 : 0); }
function ago(msTime) {
  if (!msTime) return '–';
  const s = Math.max(0, (Date.now() - msTime) / 1000);
  return s < 1 ? 'now' : s < 60 ? s.toFixed(0) + ' s ago' : (s / 60).toFixed(0) + ' min ago';
}

// ---- Tabs ----------------------------------------------------------------------------------

function showTab(name) {
  for (const t of document.querySelectorAll('.tab')) t.hidden = t.id !== 'tab-' + name;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.tab === name);
  if (name === 'calls') refreshCalls();
}

// ---- Models and instances ------------------------------------------------------------------

// The all-in-one server and workers list their models at /api/v1/models; a controller alone
// does not, so its models are derived from the registered instances.
async function loadModels(instances) {
  try {
    const r = await api('/api/v1/models');
    return r.data;
  } catch (e) {
    if (e.status !== 404 && e.status !== 405) throw e;
  }
  const byModel = new Map();
  for (const i of instances) {
    const m = byModel.get(i.model) || { name: i.model, type: i.type, engine: i.engine, state: 'running',
      replicas: 0, running: 0, in_flight: 0, failure: '' };
    m.replicas += 1;
    if (i.state === 'running' && i.healthy) m.running += 1;
    m.in_flight += i.in_flight || 0;
    byModel.set(i.model, m);
  }
  return [...byModel.values()];
}

async function modelAction(name, action, body) {
  try {
    say(`${action} ${name}…`);
    await api(`/api/v1/models/${encodeURIComponent(name)}/${action}`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
    });
    say(`${name}: ${action} done`);
  } catch (e) {
    say(`${name}: ${action} failed: ${e.message}`, true);
  }
  refreshOverview();
}

function modelRow(m) {
  const replicas = el('input', { type: 'number', min: '0', value: String(m.replicas), 'aria-label': 'replicas of ' + m.name });
  const stopped = m.state === 'stopped' || m.state === 'failed';
  return el('tr', { dataset: { model: m.name } },
    el('td', {}, m.name),
    el('td', {}, m.type),
    el('td', {}, m.engine),
    el('td', { class: 'state-' + m.state }, m.state + (m.failure ? ': ' + m.failure : '')),
    el('td', {}, `${m.running}/${m.replicas}`),
    el('td', {}, m.in_flight),
    el('td', { class: 'actions' },
      el('button', { type: 'button', class: 'start', disabled: stopped ? null : 'disabled', onclick: () => modelAction(m.name, 'start') }, 'Start'),
      ' ',
      el('button', { type: 'button', class: 'stop', onclick: () => modelAction(m.name, 'stop') }, 'Stop'),
      ' ',
      el('button', { type: 'button', class: 'restart', onclick: () => modelAction(m.name, 'restart') }, 'Restart'),
      ' ', replicas, ' ',
      el('button', { type: 'button', class: 'scale', onclick: () => modelAction(m.name, 'scale', { replicas: Number(replicas.value) }) }, 'Scale')));
}

function instanceRow(i) {
  return el('tr', {},
    el('td', {}, i.id),
    el('td', {}, i.model),
    el('td', {}, i.worker || '–'),
    el('td', {}, i.engine),
    el('td', { class: 'state-' + i.state }, i.state + (i.failure ? ': ' + i.failure : '')),
    el('td', { class: i.healthy ? 'ok' : 'bad' }, i.healthy ? 'healthy' : 'unhealthy'),
    el('td', {}, i.in_flight),
    el('td', {}, ago(i.last_heartbeat_ms)));
}

async function refreshOverview() {
  try {
    const inst = await api('/api/v1/instances');
    const instances = inst.data || inst.instances || [];
    const models = await loadModels(instances);
    // Re-render only on change, so a replicas field being edited is not reset under the user.
    const modelsKey = JSON.stringify(models);
    if (modelsKey !== state.modelsKey) { state.modelsKey = modelsKey; fillTable($('#models'), models.map(modelRow)); }
    fillTable($('#instances'), instances.map(instanceRow));
    const pill = $('#server-status');
    pill.textContent = `${models.length} model(s), ${instances.filter((i) => i.healthy).length} healthy instance(s)`;
    pill.className = 'pill ok';
    refreshPlaygroundModels(models);
  } catch (e) {
    const pill = $('#server-status');
    pill.textContent = e.status === 401 || e.status === 403 ? 'API key needed' : 'unreachable: ' + e.message;
    pill.className = 'pill bad';
  }
  refreshStats();
}

async function refreshStats() {
  try {
    const since = Date.now() - 15 * 60 * 1000;
    const r = await api('/api/v1/stats?since=' + since);
    fillTable($('#stats'), r.data.map((s) => el('tr', {},
      el('td', {}, s.model), el('td', {}, s.count), el('td', {}, (100 * s.error_rate).toFixed(1) + ' %'),
      el('td', {}, ms(s.latency_ms.p50)), el('td', {}, ms(s.latency_ms.p95)), el('td', {}, ms(s.latency_ms.p99)),
      el('td', {}, ms(s.ttft_ms.p50)), el('td', {}, s.tokens_per_s === null ? '–' : s.tokens_per_s.toFixed(1)))));
  } catch (e) {
    fillTable($('#stats'), [el('tr', {}, el('td', { colspan: '8' }, e.message))]);
  }
}

// ---- Live charts from /metrics -------------------------------------------------------------

const C = window.SmmfCharts;
const charts = {};

function setupCharts() {
  charts.rps = new C.LineChart($('#chart-rps'), [{ label: 'req/s', color: '#2f6fde' }], '');
  charts.latency = new C.LineChart($('#chart-latency'), [
    { label: 'p50', color: '#1f8a4c' }, { label: 'p95', color: '#b7791f' }, { label: 'p99', color: '#c0392b' }], 'ms');
  charts.tps = new C.LineChart($('#chart-tps'), [{ label: 'tok/s', color: '#7b3fc4' }], '');
}

async function sampleMetrics() {
  let text;
  try {
    const res = await fetch('/metrics', { headers: headers() });
    if (!res.ok) throw new Error(res.status + ' ' + res.statusText);
    text = await res.text();
  } catch (e) {
    $('#metrics-note').textContent = '(metrics unavailable: ' + e.message + ')';
    return;
  }
  $('#metrics-note').textContent = '';
  const samples = C.parsePrometheus(text);
  const now = performance.now();
  const cur = {
    t: now,
    requests: C.sumMetric(samples, 'smmf_requests_total') ?? C.sumMetric(samples, 'smmf_http_requests_total') ?? 0,
    tokens: C.sumMetric(samples, 'smmf_completion_tokens_total') ?? 0,
    latency: C.histogramBuckets(samples, 'smmf_request_duration_seconds'),
  };
  const prev = state.metricsPrev;
  state.metricsPrev = cur;
  if (!prev) return;
  const dt = (cur.t - prev.t) / 1000;
  charts.rps.push([Math.max(0, (cur.requests - prev.requests) / dt)]);
  charts.tps.push([Math.max(0, (cur.tokens - prev.tokens) / dt)]);
  const q = (p) => { const v = C.quantileBetween(prev.latency, cur.latency, p); return v === null ? null : v * 1000; };
  charts.latency.push([q(0.5), q(0.95), q(0.99)]);
}

// ---- Recent calls and traces ---------------------------------------------------------------

async function refreshCalls() {
  const params = new URLSearchParams({ limit: '30' });
  if ($('#filter-model').value) params.set('model', $('#filter-model').value);
  if ($('#filter-text').value) params.set('q', $('#filter-text').value);
  try {
    const r = await api('/api/v1/traces?' + params);
    fillTable($('#calls'), r.data.map((t) => {
      const row = el('tr', { class: 'clickable', dataset: { trace: t.trace_id }, onclick: () => openTrace(t.trace_id) },
        el('td', {}, new Date(t.start_us / 1000).toLocaleTimeString()),
        el('td', {}, t.model || '–'), el('td', {}, t.instance || '–'),
        el('td', { class: t.error ? 'bad' : 'ok' }, t.status || (t.error ? 'error' : 'ok')),
        el('td', {}, ms(t.duration_ms)), el('td', {}, ms(t.ttft_ms)),
        el('td', {}, `${t.prompt_tokens}/${t.completion_tokens}`),
        el('td', {}, el('code', {}, t.response_id || '–')));
      if (t.trace_id === state.openTrace) row.classList.add('selected');
      return row;
    }));
  } catch (e) {
    fillTable($('#calls'), [el('tr', {}, el('td', { colspan: '8' }, e.message))]);
  }
}

function spanTree(spans) {
  const byParent = new Map();
  const ids = new Set(spans.map((s) => s.span_id));
  for (const s of spans) {
    const p = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : '';
    if (!byParent.has(p)) byParent.set(p, []);
    byParent.get(p).push(s);
  }
  for (const list of byParent.values()) list.sort((a, b) => a.start_us - b.start_us);
  const out = [];
  const walk = (parent, depth) => {
    for (const s of byParent.get(parent) || []) { out.push({ span: s, depth }); walk(s.span_id, depth + 1); }
  };
  walk('', 0);
  return out;
}

function attrText(v) { return typeof v === 'string' ? v : JSON.stringify(v, null, 2); }

function renderSpans(spans) {
  const t0 = Math.min(...spans.map((s) => s.start_us));
  const t1 = Math.max(...spans.map((s) => s.end_us));
  const total = Math.max(1, t1 - t0);
  return spanTree(spans).map(({ span: s, depth }) => {
    const bar = el('div', { class: 'span-bar' + (s.error ? ' error' : '') });
    bar.style.left = (100 * (s.start_us - t0) / total) + '%';
    bar.style.width = (100 * (s.end_us - s.start_us) / total) + '%';
    const name = el('div', { class: 'span-name', title: s.name }, s.name, ' ', el('small', {}, s.service));
    name.style.paddingLeft = depth * 16 + 'px';
    const attrs = el('details', { class: 'span-attrs' }, el('summary', {}, 'attributes'),
      el('pre', {}, attrText({ ...s.attributes, ...(s.error ? { error: s.error_message } : {}) })));
    return el('div', { class: 'span-row', dataset: { span: s.name } },
      name, el('div', { class: 'span-bar-track' }, bar), el('div', {}, ms(s.duration_ms) + ' ms'), attrs);
  });
}

function findAttr(spans, key) {
  for (const s of spans) if (s.attributes && s.attributes[key] !== undefined) return s.attributes[key];
  return undefined;
}

async function openTrace(id) {
  state.openTrace = id;
  try {
    const t = await api('/api/v1/traces/' + encodeURIComponent(id));
    $('#trace').hidden = false;
    $('#trace-id').textContent = t.trace_id;
    $('#trace').dataset.trace = t.trace_id;
    $('#trace-spans').replaceChildren(...renderSpans(t.spans));
    const input = findAttr(t.spans, 'input');
    const output = findAttr(t.spans, 'output');
    $('#trace-input').textContent = input === undefined ? '(not captured)' : attrText(input);
    $('#trace-output').textContent = output === undefined ? '(not captured)' : attrText(output);
    $('#trace-feedback').replaceChildren(...(t.feedback.length ? t.feedback.map((f) => el('li', {},
      `${f.score ?? f.thumb ?? ''}`, f.reasons && f.reasons.length ? ' · ' + f.reasons.join(', ') : '',
      f.comment ? ' · ' + f.comment : '')) : [el('li', {}, 'none yet')]));
    for (const r of document.querySelectorAll('#calls tbody tr')) r.classList.toggle('selected', r.dataset.trace === id);
  } catch (e) {
    say('trace ' + id + ': ' + e.message, true);
  }
}

async function sendFeedback(score) {
  const id = state.openTrace;
  if (!id) return;
  const reasons = $('#feedback-reasons').value.split(',').map((s) => s.trim()).filter(Boolean);
  const body = { trace_id: id, score };
  if (reasons.length) body.reasons = reasons;
  if ($('#feedback-comment').value) body.comment = $('#feedback-comment').value;
  try {
    await api('/v1/feedback', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    say('feedback saved');
    $('#feedback-comment').value = '';
    await openTrace(id);
  } catch (e) {
    say('feedback failed: ' + e.message, true);
  }
}

// ---- Playground ----------------------------------------------------------------------------

function refreshPlaygroundModels(models) {
  const sel = $('#pg-model');
  const want = models.filter((m) => m.type === 'llm' && m.running > 0).map((m) => m.name);
  const have = [...sel.options].map((o) => o.value);
  if (want.join('\n') === have.join('\n')) return;
  const keep = sel.value;
  sel.replaceChildren(...want.map((n) => el('option', { value: n }, n)));
  if (want.includes(keep)) sel.value = keep;
}

async function runPlayground(ev) {
  ev.preventDefault();
  const out = $('#pg-output'), meta = $('#pg-meta');
  out.textContent = '';
  meta.replaceChildren();
  const messages = [];
  if ($('#pg-system').value.trim()) messages.push({ role: 'system', content: $('#pg-system').value });
  messages.push({ role: 'user', content: $('#pg-user').value });
  const stream = $('#pg-stream').checked;
  const body = { model: $('#pg-model').value, messages, stream,
    temperature: Number($('#pg-temperature').value), max_tokens: Number($('#pg-max-tokens').value) };
  if (stream) body.stream_options = { include_usage: true };
  const t0 = performance.now();
  let firstToken = null, usage = null, finish = null;
  $('#pg-send').disabled = true;
  try {
    const res = await fetch('/v1/chat/completions', { method: 'POST',
      headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body) });
    const traceId = res.headers.get('x-trace-id');
    if (!res.ok) {
      const err = await res.json().catch(() => null);
      throw new Error(err && err.error ? err.error.message : res.status + ' ' + res.statusText);
    }
    if (!stream) {
      const r = await res.json();
      firstToken = performance.now();
      out.textContent = r.choices[0].message.content;
      usage = r.usage; finish = r.choices[0].finish_reason;
    } else {
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, cut); buf = buf.slice(cut + 2);
          const isError = /^event: error/m.test(event);
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
          if (!data || data === '[DONE]') continue;
          const chunk = JSON.parse(data);
          if (isError || chunk.error) throw new Error(chunk.error ? chunk.error.message : 'stream error');
          if (chunk.usage) usage = chunk.usage;
          for (const c of chunk.choices || []) {
            if (c.delta && c.delta.content) { if (firstToken === null) firstToken = performance.now(); out.textContent += c.delta.content; }
            if (c.finish_reason) finish = c.finish_reason;
          }
        }
      }
    }
    const parts = [`finish: ${finish}`, `latency ${(performance.now() - t0).toFixed(0)} ms`];
    if (firstToken !== null) parts.push(`first token ${(firstToken - t0).toFixed(0)} ms`);
    if (usage) parts.push(`tokens ${usage.prompt_tokens} in / ${usage.completion_tokens} out`);
    meta.append(parts.join(' · '));
    if (traceId) {
      meta.append(' · ', el('a', { href: '#calls', id: 'pg-trace-link', onclick: (e) => {
        e.preventDefault(); location.hash = 'calls'; openTrace(traceId);
      } }, 'open trace'));
    }
  } catch (e) {
    meta.append(el('span', { class: 'bad' }, 'error: ' + e.message));
  } finally {
    $('#pg-send').disabled = false;
  }
}

// ---- Start ---------------------------------------------------------------------------------

function start() {
  $('#api-key').value = state.key;
  $('#key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.key = $('#api-key').value.trim();
    localStorage.setItem('smmf.apiKey', state.key);
    refreshOverview();
  });
  $('#calls-refresh').addEventListener('click', refreshCalls);
  $('#calls-filter').addEventListener('submit', (e) => { e.preventDefault(); refreshCalls(); });
  for (const b of document.querySelectorAll('#feedback-form button[data-thumb]')) {
    b.addEventListener('click', () => sendFeedback(b.dataset.thumb));
  }
  $('#feedback-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = $('#feedback-score').value;
    if (!v) { say('pick a score from 1 to 5', true); return; }
    sendFeedback(Number(v));
  });
  $('#pg-form').addEventListener('submit', runPlayground);
  window.addEventListener('hashchange', () => showTab(location.hash.slice(1) || 'overview'));
  setupCharts();
  showTab(location.hash.slice(1) || 'overview');
  refreshOverview();
  sampleMetrics();
  setInterval(refreshOverview, POLL_MS);
  setInterval(sampleMetrics, POLL_MS);
  setInterval(() => { if (!$('#tab-calls').hidden) refreshCalls(); }, 3 * POLL_MS);
}

document.addEventListener('DOMContentLoaded', start);
