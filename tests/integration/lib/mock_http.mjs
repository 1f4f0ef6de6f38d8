// A tiny HTTP/HTTPS server for mock providers: records every request (method, url, headers,
// parsed JSON body) and hands it to a wire-format module's handler.
import http from 'node:http';
import https from 'node:https';

/// Starts a mock on 127.0.0.1:0. `handler(req, body, res, mock)`; `tls` = { key, cert }.
export async function startMock(handler, { tls } = {}) {
  const mock = { requests: [], port: 0 };
  const onRequest = (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { raw += d; });
    req.on('end', async () => {
      let body = null;
      try { body = raw ? JSON.parse(raw) : null; } catch { body = raw; }
      mock.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      try {
        await handler(req, body, res, mock);
      } catch (e) {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`mock handler threw: ${e.stack}`);
      }
    });
  };
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  mock.port = server.address().port;
  mock.close = () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
  mock.last = (pred = () => true) => [...mock.requests].reverse().find(pred);
  return mock;
}

export function sendJson(res, status, obj, headers = {}) {
  const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
  res.writeHead(status, { 'content-type': typeof obj === 'string' ? 'text/html' : 'application/json',
                          'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/// Writes SSE events ({event?, data}) with a small delay between them, then ends the body.
export async function sendSse(res, events, { delayMs = 5 } = {}) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const ev of events) {
    let s = '';
    if (ev.comment) s += `: ${ev.comment}\n\n`;
    else {
      if (ev.event) s += `event: ${ev.event}\n`;
      s += `data: ${typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data)}\n\n`;
    }
    res.write(s);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
  res.end();
}
