// A mock of Anthropic's Messages API (POST /v1/messages) as Anthropic documents it: checks the
// x-api-key and anthropic-version headers, that max_tokens is set, that the system prompt is
// the top-level `system` and that messages alternate user/assistant starting with user; answers
// a `message` object, or the SSE sequence message_start, content_block_start, ping,
// content_block_delta..., content_block_stop, message_delta, message_stop; errors are
// {"type":"error","error":{"type","message"}}. By model id: "claude-overloaded" -> 529
// overloaded_error; "claude-midstream" -> `event: error` after the first delta.
import { sendJson, sendSse } from './mock_http.mjs';

export const CLAUDE_REPLY = 'Hi from Claude';

const fail = (res, status, type, message) =>
  sendJson(res, status, { type: 'error', error: { type, message } });

export function anthropicHandler({ apiKey }) {
  return async (req, body, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/messages') return fail(res, 404, 'not_found_error', `no route ${req.url}`);
    if (req.headers['x-api-key'] !== apiKey) return fail(res, 401, 'authentication_error', `invalid x-api-key ${req.headers['x-api-key']}`);
    if (req.headers['anthropic-version'] !== '2023-06-01') return fail(res, 400, 'invalid_request_error', 'anthropic-version header missing');
    if (!Number.isInteger(body?.max_tokens)) return fail(res, 400, 'invalid_request_error', 'max_tokens: Field required');
    if (!Array.isArray(body.messages) || body.messages.length === 0) return fail(res, 400, 'invalid_request_error', 'messages: empty');
    for (let i = 0; i < body.messages.length; i++) {
      const m = body.messages[i];
      const want = i % 2 === 0 ? 'user' : 'assistant';
      if (m.role !== want) return fail(res, 400, 'invalid_request_error', `messages.${i}.role: roles must alternate, starting with user`);
    }
    if (body.model === 'claude-overloaded') return fail(res, 529, 'overloaded_error', 'Overloaded');
    const stopSeq = (body.stop_sequences ?? []).find((s) => CLAUDE_REPLY.includes(s));
    let text = CLAUDE_REPLY;
    let stop_reason = 'end_turn';
    if (stopSeq) { text = CLAUDE_REPLY.slice(0, CLAUDE_REPLY.indexOf(stopSeq)); stop_reason = 'stop_sequence'; }
    if (body.max_tokens === 1) { text = 'Hi'; stop_reason = 'max_tokens'; }
    const usage = { input_tokens: 21, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    const msg = { id: 'msg_mock', type: 'message', role: 'assistant', model: body.model };
    if (!body.stream) {
      return sendJson(res, 200, { ...msg, content: [{ type: 'text', text }], stop_reason,
                                  stop_sequence: stopSeq ?? null, usage });
    }
    const ev = (event, data) => ({ event, data: { type: event, ...data } });
    const events = [
      ev('message_start', { message: { ...msg, content: [], stop_reason: null, stop_sequence: null,
                                       usage: { ...usage, output_tokens: 1 } } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', {}),
    ];
    const pieces = text.split(/(?<= )/);
    for (const [i, p] of pieces.entries()) {
      events.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } }));
      if (body.model === 'claude-midstream' && i === 0) {
        events.push(ev('error', { error: { type: 'overloaded_error', message: 'Overloaded mid-stream' } }));
        return sendSse(res, events);
      }
    }
    events.push(ev('content_block_stop', { index: 0 }));
    events.push(ev('message_delta', { delta: { stop_reason, stop_sequence: stopSeq ?? null },
                                      usage: { output_tokens: 5 } }));
    events.push(ev('message_stop', {}));
    return sendSse(res, events);
  };
}
