// Live charts from the server's Prometheus /metrics: parsing, rates, histogram percentiles and a
// small canvas line chart. No library: the dashboard must work without internet.
'use strict';

// Parses the Prometheus text format into [{name, labels, value}] (comments and blank lines
// skipped). Label values may hold escaped quotes and commas.
function parsePrometheus(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3])) !== null) labels[l[1]] = l[2].replace(/\\(.)/g, '$1');
    }
    const value = Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

// Sum of every series of a metric.
function sumMetric(samples, name) {
  let s = 0, found = false;
  for (const x of samples) if (x.name === name) { s += x.value; found = true; }
  return found ? s : null;
}

// Cumulative histogram buckets of a metric, summed over all other labels: Map(le -> count).
function histogramBuckets(samples, name) {
  const b = new Map();
  for (const x of samples) {
    if (x.name !== name + '_bucket') continue;
    const le = x.labels.le === '+Inf' ? Infinity : Number(x.labels.le);
    b.set(le, (b.get(le) || 0) + x.value);
  }
  return b;
}

// The q-quantile of the observations between two snapshots of a cumulative histogram, by linear
// interpolation inside the bucket (as PromQL's histogram_quantile). null when nothing happened.
function quantileBetween(prev, cur, q) {
  const les = [...cur.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => (cur.get(le) || 0) - ((prev && prev.get(le)) || 0));
  const total = counts[counts.length - 1];
  if (!total || total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i] >= rank) {
      const lo = i === 0 ? 0 : les[i - 1];
      const loCount = i === 0 ? 0 : counts[i - 1];
      const hi = les[i] === Infinity ? lo : les[i];
      const inBucket = counts[i] - loCount;
      return inBucket > 0 ? lo + (hi - lo) * ((rank - loCount) / inBucket) : hi;
    }
  }
  return les.length > 1 ? les[les.length - 2] : null;
}

// A fixed-size window of points per series, drawn as lines on a canvas.
class LineChart {
  constructor(canvas, series, unit, capacity = 60) {
    this.canvas = canvas;
    this.series = series.map((s) => ({ ...s, points: [] }));
    this.unit = unit;
    this.capacity = capacity;
    this.samples = 0;
  }

  push(values) {
    this.series.forEach((s, i) => {
      s.points.push(values[i] === undefined ? null : values[i]);
      if (s.points.length > this.capacity) s.points.shift();
    });
    this.samples++;
    this.canvas.dataset.samples = String(this.samples);
    const last = this.series.map((s) => s.points[s.points.length - 1]);
    this.canvas.dataset.last = JSON.stringify(last);
    // The largest value of each series in the window (read by tests and handy for debugging).
    this.canvas.dataset.max = JSON.stringify(
      this.series.map((s) => s.points.reduce((m, p) => (p !== null && p > m ? p : m), 0)));
    this.draw();
  }

  draw() {
    const c = this.canvas, g = c.getContext('2d');
    const w = c.width, h = c.height, left = 44, bottom = 18, top = 8;
    g.clearRect(0, 0, w, h);
    let max = 0;
    for (const s of this.series) for (const p of s.points) if (p !== null && p > max) max = p;
    max = max > 0 ? niceCeil(max) : 1;
    g.strokeStyle = '#dcdce0'; g.fillStyle = '#6b6b72'; g.font = '11px system-ui'; g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = top + ((h - top - bottom) * i) / 4;
      g.beginPath(); g.moveTo(left, y); g.lineTo(w - 4, y); g.stroke();
      g.fillText(formatNumber(max * (1 - i / 4)), 2, y + 4);
    }
    g.fillText('last ' + this.capacity * 2 + ' s', left, h - 4);
    const dx = (w - left - 4) / (this.capacity - 1);
    this.series.forEach((s, si) => {
      g.strokeStyle = s.color; g.lineWidth = 2; g.beginPath();
      let pen = false;
      const offset = this.capacity - s.points.length;
      s.points.forEach((p, i) => {
        if (p === null) { pen = false; return; }
        const x = left + (offset + i) * dx;
        const y = top + (h - top - bottom) * (1 - p / max);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        pen = true;
      });
      g.stroke();
      const lastValue = s.points[s.points.length - 1];
      g.fillStyle = s.color;
      g.fillText(s.label + ' ' + (lastValue === null || lastValue === undefined ? '–' : formatNumber(lastValue)) + ' ' + this.unit,
                 w - 150, top + 12 + si * 13);
    });
  }
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function formatNumber(v) {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

// Exported for app.js (plain scripts share the window).
window.SmmfCharts = { parsePrometheus, sumMetric, histogramBuckets, quantileBetween, LineChart };
