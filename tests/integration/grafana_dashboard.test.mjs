// deploy/grafana/smmf.json: every query is valid PromQL (promtool) and names only metrics that
// docs/observability.md lists (the metrics test checks those against a live /metrics).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO, tmpFile } from './lib/server.mjs';

test('the Grafana dashboard queries parse and use documented metrics', () => {
  const dash = JSON.parse(readFileSync(path.join(REPO, 'deploy/grafana/smmf.json'), 'utf8'));
  const docs = readFileSync(path.join(REPO, 'docs/observability.md'), 'utf8');
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
  assert.ok(exprs.length >= 10);
  let rules = 'groups:\n  - name: dashboard\n    rules:\n';
  exprs.forEach((e, i) => {
    const q = e.replaceAll('$__rate_interval', '1m').replaceAll('$model', '.*');
    rules += `      - record: dashboard:q${i}\n        expr: ${JSON.stringify(q)}\n`;
    for (const m of q.match(/smmf_[a-z_]+/g)) {
      const base = m.replace(/_(bucket|count|sum)$/, '');
      assert.ok(docs.includes(base), `${m} is not in docs/observability.md`);
    }
  });
  const r = spawnSync('promtool', ['check', 'rules', tmpFile('dashboard-rules.yml', rules)],
                      { encoding: 'utf8' });
  assert.ok(!r.error, 'promtool not found: scripts/install_deps.sh installs the prometheus package');
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
