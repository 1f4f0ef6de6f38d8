// A mock OpenAI-compatible provider (chat completions, completions, embeddings) that answers
// as OpenAI documents it: `chat.completion` objects, `chat.completion.chunk` SSE events ending
// with `data: [DONE]`, usage in a last chunk with empty choices when stream_options asks for it,
// and `{"error":{...}}` bodies. Behaviour by upstream model id:
//   "<x>-choice-usage"  streams usage inside the last choice (Moonshot) and no stream_options
//   "<x>-no-usage"      never reports usage
//   "error-<status>"    answers that status with an OpenAI error body echoing the auth header
//   "html-502"          answers 502 with an HTML page
//   "midstream-error"   streams one chunk then an error object
//   "slow"              waits 3 s before answering
// The mock checks the auth header against `expect.auth` ({ header, value }) and answers 401 if
// it differs.
import { sendJson, sendSse } from './mock_http.mjs';

export const REPLY = 'Hello from the mock';
const words = (s) => s.split(/(?<= )/);

export function openaiHandler({ auth } = {}) {
  return async (req, body, res) => {
    if (auth) {
      const got = req.headers[auth.header.toLowerCase()];
      if (got !== auth.value) {
        return sendJson(res, 401, { error: { message: `Incorrect API key provided: ${got}`,
                                             type: 'invalid_request_error', param: null,
                                             code: 'invalid_api_key' } });
      }
    }
    const path = req.url.split('?')[0];
    if (req.method !== 'POST') return sendJson(res, 404, { error: { message: 'not found' } });
    const model = body?.model ?? '';
    const m = /^error-(\d{3})$/.exec(model);
    if (m) {
      const key = req.headers.authorization ?? req.headers['api-key'] ?? '';
      return sendJson(res, Number(m[1]), { error: { message: `upstream says no (key ${key})`,
                                                    type: 'invalid_request_error',
                                                    param: 'messages', code: 'bad' } });
    }
    if (model === 'slow') await new Promise((r) => setTimeout(r, 3000));
    if (model === 'html-502') return sendJson(res, 502, '<html><body>502 Bad Gateway</body></html>');
    if (path.endsWith('/embeddings')) {
      const input = Array.isArray(body.input) ? body.input : [body.input];
      const data = input.map((t, index) => {
        const v = new Float32Array([t.length, 1, 0.5]);
        const embedding = body.encoding_format === 'base64'
          ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
        return { object: 'embedding', index, embedding };
      });
      return sendJson(res, 200, { object: 'list', data, model,
                                  usage: { prompt_tokens: input.length * 2, total_tokens: input.length * 2 } });
    }
    const chat = path.endsWith('/chat/completions');
    if (!chat && !path.endsWith('/completions')) return sendJson(res, 404, { error: { message: `no route ${path}` } });
    const maxField = body.max_completion_tokens ?? body.max_tokens;
    const text = maxField === 1 ? 'Hello' : REPLY;
    const finish = maxField === 1 ? 'length' : 'stop';
    const usage = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };
    const noUsage = model.endsWith('-no-usage');
    const base = { id: 'chatcmpl-mock', created: 1700000000, model };
    if (!body.stream) {
      const choice = chat
        ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finish, logprobs: null }
        : { index: 0, text, finish_reason: finish, logprobs: null };
      return sendJson(res, 200, { ...base, object: chat ? 'chat.completion' : 'text_completion',
                                  choices: [choice], ...(noUsage ? {} : { usage }) });
    }
    const object = chat ? 'chat.completion.chunk' : 'text_completion';
    const piece = (t) => (chat ? { delta: { content: t } } : { text: t });
    const events = [{ comment: 'keep-alive' }];
    if (chat) events.push({ data: { ...base, object, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] } });
    if (model === 'midstream-error') {
      events.push({ data: { ...base, object, choices: [{ index: 0, ...piece('Hel'), finish_reason: null }] } });
      events.push({ data: { error: { message: 'upstream fell over', type: 'server_error' } } });
      return sendSse(res, events);
    }
    for (const w of words(text)) events.push({ data: { ...base, object, choices: [{ index: 0, ...piece(w), finish_reason: null }] } });
    const last = { ...base, object, choices: [{ index: 0, ...piece(''), finish_reason: finish }] };
    if (model.endsWith('-choice-usage')) last.choices[0].usage = usage;
    events.push({ data: last });
    if (body.stream_options?.include_usage && !noUsage && !model.endsWith('-choice-usage'))
      events.push({ data: { ...base, object, choices: [], usage } });
    events.push({ data: '[DONE]' });
    return sendSse(res, events);
  };
}
