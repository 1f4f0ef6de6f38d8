// Test fixtures for TLS and proxies: a CA and a server certificate made with the `openssl` CLI
// in a temporary folder, and a forward proxy (HTTP CONNECT tunnels and absolute-form requests)
// that resolves `*.mock.test` to 127.0.0.1 and records what it was asked.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/// Makes ca.pem and a server key/cert for `names` (DNS names) and 127.0.0.1, signed by the CA.
export function makeCerts(names = ['localhost']) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smmf-tls-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const f = (n) => path.join(dir, n);
  const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2',
      '-subj', '/CN=SMMF Test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  ssl('req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', `/CN=${names[0]}`);
  const san = [...names.map((n) => `DNS:${n}`), 'IP:127.0.0.1'].join(',');
  writeFileSync(f('ext.cnf'), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\n` +
                              'keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
      '-CAcreateserial', '-out', f('server.pem'), '-days', '2', '-extfile', f('ext.cnf'));
  return { dir, caFile: f('ca.pem'), key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) };
}

const resolveHost = (host) => (host.endsWith('.mock.test') ? '127.0.0.1' : host);

/// A forward proxy on 127.0.0.1:0. `auth`: the Proxy-Authorization value it demands (else 407).
/// `log` records { method, target, auth } of each CONNECT and each proxied request.
export async function startProxy({ auth } = {}) {
  const log = [];
  const server = http.createServer((req, res) => {
    log.push({ method: req.method, target: req.url, auth: req.headers['proxy-authorization'] });
    if (auth && req.headers['proxy-authorization'] !== auth) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"', 'content-length': 0 });
      return res.end();
    }
    let u;
    try { u = new URL(req.url); } catch { res.writeHead(400); return res.end('absolute-form expected'); }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = http.request({ host: resolveHost(u.hostname), port: u.port || 80, method: req.method,
                              path: u.pathname + u.search, headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  server.on('connect', (req, sock, head) => {
    log.push({ method: 'CONNECT', target: req.url, auth: req.headers['proxy-authorization'] });
    if (auth && req.headers['proxy-authorization'] !== auth) {
      sock.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const i = req.url.lastIndexOf(':');
    const host = req.url.slice(0, i).replace(/^\[|\]$/g, '');
    const up = net.connect(Number(req.url.slice(i + 1)), resolveHost(host), () => {
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    log,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}
