// The command line: help, version, exit codes, and configs that must fail fast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSmmf, tmpFile, tomlModel, CHAT_MODEL_PATH } from './lib/server.mjs';

test('smmf --help prints usage with the subcommands and exits 0', () => {
  const r = runSmmf(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: .*smmf/);
  assert.match(r.stdout, /^\s+serve\s/m);
  assert.match(r.stdout, /^\s+version\s/m);
});

test('smmf serve --help lists its options and exits 0', () => {
  const r = runSmmf(['serve', '--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: .*smmf serve/);
  for (const opt of ['--config', '--host', '--port', '--threads', '--model', '--name', '--type',
                     '--log-level'])
    assert.ok(r.stdout.includes(opt), `serve --help mentions ${opt}:\n${r.stdout}`);
});

test('smmf version prints "smmf X.Y.Z" and the allocator, and exits 0', () => {
  const r = runSmmf(['version']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^smmf \d+\.\d+\.\d+\nallocator: (mimalloc \d+\.\d+\.\d+|libc)\n$/);
  const v = runSmmf(['--version']);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), r.stdout.split('\n')[0]);  // --version: the first line only
});

test('smmf without a subcommand fails with a non-zero exit code', () => {
  const r = runSmmf([]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /subcommand/i);
});

test('an unknown option fails with a non-zero exit code', () => {
  const r = runSmmf(['serve', '--no-such-flag']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr + r.stdout, /no-such-flag/);
});

// Each bad config must fail before listening, with exit != 0 and the key named on stderr.
const badConfigs = [
  { name: 'unknown key in [server]', toml: '[server]\nport = 0\nbogus_key = 1\n', key: 'server.bogus_key' },
  { name: 'unknown top-level table', toml: '[servre]\nport = 0\n', key: 'servre' },
  { name: 'wrong type for server.port', toml: '[server]\nport = "eighty"\n', key: 'server.port' },
  { name: 'wrong type for server.max_body_bytes', toml: '[server]\nport = 0\nmax_body_bytes = -5\n', key: 'server.max_body_bytes' },
  { name: 'wrong type for log.access_log', toml: '[server]\nport = 0\n[log]\naccess_log = "yes"\n', key: 'log.access_log' },
  { name: 'unknown key in [[models]]', toml: `[server]\nport = 0\n[[models]]\nname = "a"\npath = "${CHAT_MODEL_PATH}"\ncolour = "red"\n`, key: 'models[0].colour' },
  { name: 'wrong type for models.replicas', toml: `[server]\nport = 0\n[[models]]\nname = "a"\npath = "${CHAT_MODEL_PATH}"\nreplicas = "two"\n`, key: 'models[0].replicas' },
  { name: 'bad model type', toml: `[server]\nport = 0\n[[models]]\nname = "a"\ntype = "chatbot"\npath = "${CHAT_MODEL_PATH}"\n`, key: 'models[0].type' },
  { name: 'unknown engine param', toml: `[server]\nport = 0\n` + tomlModel({ name: 'a', params: { ctx_sise: 512 } }), key: 'ctx_sise' },
  { name: 'wrong type of an engine param', toml: `[server]\nport = 0\n` + tomlModel({ name: 'a', params: { parallel: 'four' } }), key: 'parallel' },
  { name: 'duplicate model names', toml: `[server]\nport = 0\n` + tomlModel({ name: 'a' }) + tomlModel({ name: 'a' }), key: 'models[1].name' },
  { name: 'model path that does not exist', toml: `[server]\nport = 0\n[[models]]\nname = "a"\npath = "/nonexistent/model.gguf"\n`, key: '/nonexistent/model.gguf' },
  { name: 'TOML syntax error', toml: '[server\nport = 0\n', key: 'config.toml' },
];

for (const c of badConfigs) {
  test(`bad config fails fast: ${c.name}`, () => {
    const file = tmpFile(`bad-${c.name.replace(/\W+/g, '_')}-config.toml`, c.toml);
    const t0 = Date.now();
    const r = runSmmf(['serve', '--config', file], { timeoutMs: 15000 });
    assert.equal(r.signal, null, `smmf did not exit by itself (killed by ${r.signal}):\n${r.stderr}`);
    assert.notEqual(r.code, 0, `exit code for ${c.name}:\n${r.stderr}`);
    assert.ok(Date.now() - t0 < 10000, 'fails fast');
    assert.ok(r.stderr.includes(c.key), `stderr names '${c.key}':\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /listening on/, 'never started listening');
  });
}

test('a config file that does not exist fails with a non-zero exit code', () => {
  const r = runSmmf(['serve', '--config', '/nonexistent/smmf.toml']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /nonexistent\/smmf\.toml/);
});

test('--type with an unknown model type fails and names it', () => {
  const r = runSmmf(['serve', '--port', '0', '--model', CHAT_MODEL_PATH, '--type', 'chatbot']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /chatbot/);
});

test('a bad --log-level fails and names it', () => {
  const cfg = tmpFile('no-models.toml', '[server]\nport = 0\n');
  const r = runSmmf(['serve', '--config', cfg, '--log-level', 'loud']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /loud/);
});

test('a model file that is not a GGUF fails at start with exit != 0 and names the model', () => {
  const bad = tmpFile('not-a-model.gguf', 'this is not a gguf file\n');
  const r = runSmmf(['serve', '--port', '0', '--model', bad, '--name', 'broken-model'],
                    { timeoutMs: 30000 });
  assert.equal(r.signal, null, `smmf did not exit by itself:\n${r.stderr}`);
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /broken-model/);
});
