// A mock of the Gemini API as Google documents it: POST /v1beta/models/{m}:generateContent,
// :streamGenerateContent?alt=sse (SSE data events, each a GenerateContentResponse; the body
// ends after the one with finishReason and usageMetadata) and :batchEmbedContents; the key in
// the x-goog-api-key header. Checks that contents alternate user/model roles and that the
// system prompt is systemInstruction. Errors are {"error":{"code","message","status"}}.
// By model id: "gemini-bad" -> 400 INVALID_ARGUMENT; "gemini-blocked" -> promptFeedback block.
import { sendJson, sendSse } from './mock_http.mjs';

export const GEMINI_REPLY = 'Hi from Gemini';

const fail = (res, code, status, message) => sendJson(res, code, { error: { code, message, status } });

export function geminiHandler({ apiKey }) {
  return async (req, body, res) => {
    const m = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents)(\?alt=sse)?$/.exec(req.url);
    if (req.method !== 'POST' || !m) return fail(res, 404, 'NOT_FOUND', `no route ${req.url}`);
    if (req.headers['x-goog-api-key'] !== apiKey)
      return fail(res, 400, 'INVALID_ARGUMENT', `API key not valid: ${req.headers['x-goog-api-key']}`);
    const [, model, method, sse] = m;
    if (method === 'batchEmbedContents') {
      const embeddings = body.requests.map((r) => {
        if (r.model !== `models/${model}`) throw new Error(`request model ${r.model}`);
        const t = r.content.parts[0].text;
        return { values: [t.length, 0.25, -1] };
      });
      return sendJson(res, 200, { embeddings });
    }
    if (method === 'streamGenerateContent' && !sse) return fail(res, 400, 'INVALID_ARGUMENT', 'alt=sse expected');
    if (model === 'gemini-bad') return fail(res, 400, 'INVALID_ARGUMENT', 'Invalid value at generation_config');
    for (let i = 0; i < body.contents.length; i++) {
      const want = i % 2 === 0 ? 'user' : 'model';
      if (body.contents[i].role !== want)
        return fail(res, 400, 'INVALID_ARGUMENT', `contents[${i}].role must be ${want}`);
    }
    if (body.contents.some((c) => c.role === 'system'))
      return fail(res, 400, 'INVALID_ARGUMENT', 'system role in contents');
    if (model === 'gemini-blocked')
      return sendJson(res, 200, { promptFeedback: { blockReason: 'SAFETY' },
                                  usageMetadata: { promptTokenCount: 3, totalTokenCount: 3 } });
    const cfg = body.generationConfig ?? {};
    let text = GEMINI_REPLY;
    let finishReason = 'STOP';
    if (cfg.maxOutputTokens === 1) { text = 'Hi'; finishReason = 'MAX_TOKENS'; }
    const usageMetadata = { promptTokenCount: 9, candidatesTokenCount: 4, totalTokenCount: 13 };
    if (method === 'generateContent') {
      return sendJson(res, 200, { candidates: [{ content: { role: 'model', parts: [{ text }] },
                                                 finishReason, index: 0 }],
                                  usageMetadata, modelVersion: model });
    }
    const pieces = text.split(/(?<= )/);
    const events = pieces.map((p, i) => ({ data: {
      candidates: [{ content: { role: 'model', parts: [{ text: p }] }, index: 0,
                     ...(i === pieces.length - 1 ? { finishReason } : {}) }],
      ...(i === pieces.length - 1 ? { usageMetadata } : {}), modelVersion: model } }));
    return sendSse(res, events);
  };
}
