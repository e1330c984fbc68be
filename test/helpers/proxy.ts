import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { AccessLogEntry, parseAccessLogLine } from '../../lib/proxy/squid-config';

/** Debian's squid-openssl (scripts/system-deps.sh installs it). */
export const SQUID = process.env.SQUID_PATH ?? '/usr/sbin/squid';
export const CERTGEN = '/usr/lib/squid/security_file_certgen';

/**
 * A "public" CA standing in for the web PKI, and one origin certificate signed
 * by it for the given names: what the real SaaS hosts present to the proxy.
 */
export function publicCaAndOrigin(dir: string, names: string[]): { caPath: string; certPem: string; keyPem: string } {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n: string) => path.join(dir, n);
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  run(['req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test public web CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-keyout', f('public-ca.key'), '-out', f('public-ca.pem')]);
  run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${names[0]}`, '-keyout', f('origin.key'), '-out', f('origin.csr')]);
  fs.writeFileSync(f('origin.ext'), `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
  run(['x509', '-req', '-in', f('origin.csr'), '-CA', f('public-ca.pem'), '-CAkey', f('public-ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f('origin.ext'), '-out', f('origin.pem')]);
  return { caPath: f('public-ca.pem'), certPem: fs.readFileSync(f('origin.pem'), 'utf8'), keyPem: fs.readFileSync(f('origin.key'), 'utf8') };
}

export interface Seen {
  readonly path: string;
  readonly host: string;
  /** Header name (lower case) → every value received under it. */
  readonly headers: Record<string, string[]>;
}

/** An HTTPS origin on 127.0.0.1 that records what it receives (standing in for the SaaS and sign-in hosts). */
export async function startOrigin(tlsPair: { certPem: string; keyPem: string }): Promise<{ port: number; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = https.createServer({ cert: tlsPair.certPem, key: tlsPair.keyPem }, (req, res) => {
    const headers: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) (headers[req.rawHeaders[i].toLowerCase()] ??= []).push(req.rawHeaders[i + 1]);
    seen.push({ path: req.url ?? '', host: req.headers.host ?? '', headers });
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`origin saw ${req.url}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface RunningSquid {
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts `squid -N` (no daemon) and resolves once it accepts connections on its port. */
export async function startSquid(conf: string, port: number, accessLogFile?: string): Promise<RunningSquid> {
  const child = spawn(SQUID, ['-N', '-d', '1', '-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const stop = async () => {
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  // Ready when Squid says it accepts on the port and a TCP connection succeeds; fail fast if it exits.
  const deadline = Date.now() + 60_000;
  while (!/Accepting SSL bumped HTTP Socket connections/.test(out) || !(await canConnect(port))) {
    if (gone) throw new Error(`squid exited before it was ready:\n${out}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`squid was not ready within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // The readiness probe is a bare TCP connection, which Squid logs a moment later (no request was read):
  // wait for that line, so a test that counts new lines does not take it for its own.
  if (accessLogFile) {
    const settle = Date.now() + 5000;
    while (accessLog(accessLogFile).length === 0 && Date.now() < settle) await new Promise((r) => setTimeout(r, 50));
  }
  return { child, output: () => out, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface ProxyResult {
  /** The proxy's answer to CONNECT, when there was one. */
  readonly connectStatus?: number;
  /** The CONNECT failed at the socket: e.g. ECONNRESET when Squid refuses with a TCP reset. */
  readonly connectError?: string;
  /** The TLS handshake with the proxy failed (e.g. the proxy closed it: ssl_bump terminate). */
  readonly tlsError?: string;
  /** The certificate the proxy presented (minted for the host). */
  readonly cert?: { subject: string; san: string; issuer: string };
  readonly status?: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/**
 * A terminal's HTTPS request through the proxy: CONNECT `authority`, TLS with
 * `sni` (trusting only the municipality's CA, checking the name), then one
 * HTTP/1.1 request with the given Host header and extra headers.
 */
export function throughProxy(
  proxyPort: number,
  o: { authority: string; sni?: string; host?: string; path: string; headers?: Record<string, string>; trust: string; checkName?: string },
): Promise<ProxyResult> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: o.authority, agent: false, headers: { host: o.authority } });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ connectError: e.code ?? e.message }));
    req.on('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        resolve({ connectStatus: res.statusCode });
        return;
      }
      const hostName = o.authority.replace(/:\d+$/, '');
      const t = tls.connect({ socket, servername: o.sni ?? hostName, ca: o.trust, checkServerIdentity: (_h, cert) => tls.checkServerIdentity(o.checkName ?? o.sni ?? hostName, cert) });
      let chunks = '';
      let secured = false;
      let cert: ProxyResult['cert'];
      t.on('secureConnect', () => {
        secured = true;
        const c = t.getPeerCertificate();
        cert = { subject: String(c.subject?.CN ?? ''), san: c.subjectaltname ?? '', issuer: String(c.issuer?.CN ?? '') };
        const lines = [`GET ${o.path} HTTP/1.1`, `Host: ${o.host ?? o.authority}`, 'Connection: close', ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`), '', ''];
        t.write(lines.join('\r\n'));
      });
      t.on('data', (d) => (chunks += d));
      t.on('error', (e: NodeJS.ErrnoException) => {
        if (!secured) resolve({ connectStatus: 200, tlsError: e.code ?? e.message });
      });
      t.on('close', () => {
        if (!secured) {
          resolve({ connectStatus: 200, tlsError: 'closed before the TLS handshake finished' });
          return;
        }
        const [head, ...rest] = chunks.split('\r\n\r\n');
        const [statusLine, ...headerLines] = head.split('\r\n');
        const headers = Object.fromEntries(headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        resolve({ connectStatus: 200, cert, status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
      });
    });
    req.end();
  });
}

/** The access log's lines, parsed. */
export function accessLog(file: string): AccessLogEntry[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(parseAccessLogLine);
}

/** Waits until the access log has grown by `count` lines after `from`, and returns the new ones. */
export async function newLogLines(file: string, from: number, count: number): Promise<AccessLogEntry[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const lines = accessLog(file).slice(from);
    if (lines.length >= count) return lines;
    if (Date.now() > deadline) throw new Error(`expected ${count} new access log line(s), found ${lines.length}: ${JSON.stringify(lines)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
