// A config file with several models: two llm names on the same file, replicas, an embedding
// model; and --model/--name/--type on the command line.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, getJson, assertError, tomlModel, stream, CHAT_MODEL_PATH, EMBED_MODEL_PATH } from './lib/server.mjs';

const ask = (model) => ({ model, temperature: 0, max_tokens: 12,
                          messages: [{ role: 'user', content: 'Name three colours.' }] });

describe('config with two llm models on one file, a replicated one and an embedding model', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      config: '[server]\nshutdown_grace = 5\n[log]\nlevel = "info"\n\n' +
              tomlModel({ name: 'alpha' }) + tomlModel({ name: 'beta', params: { parallel: 2 } }) +
              '[[models]]\nname = "gamma"\ntype = "llm"\npath = "' + CHAT_MODEL_PATH + '"\nreplicas = 2\n' +
              'params = { parallel = 1, threads = 1 }\n\n' +
              tomlModel({ name: 'vectors', type: 'embedding' }),
    });
  });
  after(async () => { await srv?.stop(); });

  test('all are listed with their types; the defaults are not served', async () => {
    const r = await getJson(srv, '/v1/models');
    assert.equal(r.status, 200);
    const byId = Object.fromEntries(r.body.data.map((m) => [m.id, m]));
    assert.deepEqual(Object.keys(byId).sort(), ['alpha', 'beta', 'gamma', 'vectors']);
    assert.equal(byId.alpha.type, 'llm');
    assert.equal(byId.beta.type, 'llm');
    assert.equal(byId.gamma.type, 'llm');
    assert.equal(byId.vectors.type, 'embedding');
    assertError(await callJson(srv, '/v1/chat/completions', ask('tiny-chat')),
                { status: 404, param: 'model', code: 'model_not_found' });
  });

  test('each llm name answers, with its own name in the response; same weights, same text', async () => {
    const texts = {};
    for (const m of ['alpha', 'beta', 'gamma']) {
      const r = await callJson(srv, '/v1/chat/completions', ask(m));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.model, m);
      texts[m] = r.body.choices[0].message.content;
      const s = await stream(srv, '/v1/chat/completions', ask(m));
      assert.ok(s.chunks.every((c) => c.model === m));
      assert.equal(s.texts[0], texts[m]);
    }
    assert.equal(texts.beta, texts.alpha);
    assert.equal(texts.gamma, texts.alpha);
    // The access log names the instance that served each call.
    for (const m of ['alpha', 'beta', 'gamma'])
      assert.ok(srv.lines.some((l) => new RegExp(`POST /v1/chat/completions 200 .*model=${m} instance=\\S*${m}`).test(l)),
                `the access log names model ${m} and its instance`);
  });

  test('models can be used concurrently', async () => {
    const rs = await Promise.all(['alpha', 'beta', 'gamma', 'alpha', 'beta', 'gamma'].map((m) =>
      callJson(srv, '/v1/chat/completions', ask(m))));
    const texts = new Set(rs.map((r) => { assert.equal(r.status, 200); return r.body.choices[0].message.content; }));
    assert.equal(texts.size, 1);
    const e = await callJson(srv, '/v1/embeddings', { model: 'vectors', input: 'hello' });
    assert.equal(e.status, 200);
    assert.equal(e.body.model, 'vectors');
    assert.equal(e.body.data[0].embedding.length, 64);
  });

  test('replicas = 2: both replicas load and concurrent calls all succeed', async () => {
    for (const r of ['gamma#0', 'gamma#1'])
      assert.ok(srv.lines.some((l) => l.includes(`model ${r} running`)), `log: model ${r} running`);
    const rs = await Promise.all(Array.from({ length: 4 }, () =>
      callJson(srv, '/v1/completions', { model: 'gamma', prompt: 'Once', max_tokens: 50, temperature: 0 })));
    for (const r of rs) assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(new Set(rs.map((r) => r.body.choices[0].text)).size, 1, 'same text from every replica');
  });
});

describe('--model / --name / --type on the command line', () => {
  let srv;
  before(async () => {
    srv = await startServer({
      args: ['--model', CHAT_MODEL_PATH, '--name', 'cli-chat', '--model', EMBED_MODEL_PATH,
             '--name', 'cli-embed', '--type', 'llm', '--type', 'embedding', '--model', CHAT_MODEL_PATH],
    });
  });
  after(async () => { await srv?.stop(); });

  test('serves exactly the given models; a model without --name takes the file stem', async () => {
    const r = await getJson(srv, '/v1/models');
    const ids = r.body.data.map((m) => m.id).sort();
    assert.deepEqual(ids, ['cli-chat', 'cli-embed', 'tiny-chat']);
    assert.equal(r.body.data.find((m) => m.id === 'cli-embed').type, 'embedding');
    const c = await callJson(srv, '/v1/chat/completions', ask('cli-chat'));
    assert.equal(c.status, 200);
    const e = await callJson(srv, '/v1/embeddings', { model: 'cli-embed', input: 'x' });
    assert.equal(e.status, 200);
  });
});
