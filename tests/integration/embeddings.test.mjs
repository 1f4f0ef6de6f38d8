// POST /v1/embeddings on the tiny BERT model (n_embd 64).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, callJson, decodeBase64Floats, norm, maxAbsDiff } from './lib/server.mjs';

const MODEL = 'tiny-embed';
const DIM = 64;
const TEXTS = ['The quick brown fox jumps over the lazy dog.', 'Hello world', 'a'];

let srv;
let floatSingle; // embedding of TEXTS[0], float format

before(async () => {
  srv = await startServer();
  const r = await embed({ input: TEXTS[0], encoding_format: 'float' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  floatSingle = r.body.data[0].embedding;
});
after(async () => { await srv?.stop(); });

function embed(body) {
  return callJson(srv, '/v1/embeddings', { model: MODEL, ...body });
}

test('float response: OpenAI list shape, 64 dimensions, unit norm', async () => {
  const r = await embed({ input: TEXTS[0], encoding_format: 'float' });
  assert.equal(r.body.object, 'list');
  assert.equal(r.body.model, MODEL);
  assert.equal(r.body.data.length, 1);
  const d = r.body.data[0];
  assert.equal(d.object, 'embedding');
  assert.equal(d.index, 0);
  assert.ok(Array.isArray(d.embedding));
  assert.equal(d.embedding.length, DIM);
  for (const x of d.embedding) assert.ok(Number.isFinite(x));
  assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-3, `norm ${norm(d.embedding)}`);
  assert.ok(d.embedding.some((x) => x !== 0));
  assert.ok(Number.isInteger(r.body.usage.prompt_tokens) && r.body.usage.prompt_tokens > 0);
  assert.equal(r.body.usage.total_tokens, r.body.usage.prompt_tokens);
  // Deterministic.
  assert.deepEqual(d.embedding, floatSingle);
});

test('default encoding_format is float', async () => {
  const r = await embed({ input: TEXTS[0] });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data[0].embedding, floatSingle);
});

test('base64 decodes (little-endian float32) to exactly the float values', async () => {
  const r = await embed({ input: TEXTS[0], encoding_format: 'base64' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const b64 = r.body.data[0].embedding;
  assert.equal(typeof b64, 'string');
  assert.match(b64, /^[A-Za-z0-9+/]+={0,2}$/);
  const v = decodeBase64Floats(b64);
  assert.equal(v.length, DIM);
  // Float JSON values are float32 numbers printed as doubles: fround must be exact.
  assert.deepEqual(v, floatSingle.map((x) => Math.fround(x)));
});

test('a batch equals the single embeddings (within 1e-5), in input order', async () => {
  const r = await embed({ input: TEXTS, encoding_format: 'float' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.length, TEXTS.length);
  assert.deepEqual(r.body.data.map((d) => d.index), [0, 1, 2]);
  let tokens = 0;
  for (let i = 0; i < TEXTS.length; i++) {
    const one = await embed({ input: TEXTS[i], encoding_format: 'float' });
    tokens += one.body.usage.prompt_tokens;
    const diff = maxAbsDiff(r.body.data[i].embedding, one.body.data[0].embedding);
    assert.ok(diff < 1e-5, `input ${i}: batch vs single differ by ${diff}`);
    assert.ok(Math.abs(norm(r.body.data[i].embedding) - 1) < 1e-3);
  }
  assert.equal(r.body.usage.prompt_tokens, tokens, 'batch usage is the sum of the inputs');
  // Different texts, different vectors.
  assert.ok(maxAbsDiff(r.body.data[0].embedding, r.body.data[1].embedding) > 1e-3);
  // Base64 batch decodes to the float batch.
  const b = await embed({ input: TEXTS, encoding_format: 'base64' });
  for (let i = 0; i < TEXTS.length; i++)
    assert.deepEqual(decodeBase64Floats(b.body.data[i].embedding),
                     r.body.data[i].embedding.map((x) => Math.fround(x)));
});

test('a large batch (40 inputs, several engine batches) keeps order', async () => {
  const inputs = Array.from({ length: 40 }, (_, i) => `sentence number ${i} about ${i % 3 ? 'cats' : 'dogs'}`);
  const r = await embed({ input: inputs });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.data.length, 40);
  assert.deepEqual(r.body.data.map((d) => d.index), inputs.map((_, i) => i));
  for (const i of [0, 15, 16, 17, 31, 32, 39]) {
    const one = (await embed({ input: inputs[i] })).body.data[0].embedding;
    // Batches of 64+ tokens take another ggml matmul path (measured: ~1e-4 off the single
    // result, vs 3e-8 below 64 tokens). Allow that noise, but each vector must be the one of
    // its own input, not of a neighbour.
    const own = maxAbsDiff(r.body.data[i].embedding, one);
    assert.ok(own < 1e-3, `input ${i}: batch vs single differ by ${own}`);
    for (const j of [i - 1, i + 1].filter((j) => j >= 0 && j < 40))
      assert.ok(maxAbsDiff(r.body.data[j].embedding, one) > own,
                `input ${i} is closer to its own vector than to input ${j}'s`);
  }
});

test('dimensions shortens the vector and renormalizes it', async () => {
  const r = await embed({ input: TEXTS[0], encoding_format: 'float', dimensions: 16 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = r.body.data[0].embedding;
  assert.equal(v.length, 16);
  assert.ok(Math.abs(norm(v) - 1) < 1e-3, `norm ${norm(v)} of the shortened vector`);
  const head = floatSingle.slice(0, 16);
  const n = norm(head);
  assert.ok(maxAbsDiff(v, head.map((x) => x / n)) < 1e-4, 'the first 16 components, renormalized');
  const b = await embed({ input: TEXTS[0], encoding_format: 'base64', dimensions: 16 });
  assert.equal(decodeBase64Floats(b.body.data[0].embedding).length, 16);
  const full = await embed({ input: TEXTS[0], dimensions: DIM });
  assert.equal(full.status, 200);
  assert.ok(maxAbsDiff(full.body.data[0].embedding, floatSingle) < 1e-6);
});

test('dimensions larger than the model answers 400 param dimensions', async () => {
  const r = await embed({ input: TEXTS[0], dimensions: DIM + 1 });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.param, 'dimensions');
});
