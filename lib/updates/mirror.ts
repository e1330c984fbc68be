import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as path from 'path';

/**
 * The HTTPS mirror in an isolated tier (crossing X6: it reads the updates
 * bucket through the tier's S3 endpoint). It serves only what the verifier
 * published, `GET|HEAD /<channel>/<file>`, with Last-Modified /
 * If-Modified-Since and single byte ranges, which is what freshclam's
 * PrivateMirror mode and ordinary download clients use. Nothing is ever
 * written here; the security groups admit only the tier's own office segments.
 */

export interface MirrorObject {
  readonly body: Buffer;
  readonly lastModified: Date;
  readonly etag?: string;
}

export interface MirrorSource {
  get(key: string): Promise<MirrorObject | undefined>;
}

/** The updates bucket as a folder (local demo and tests). */
export class FsMirrorSource implements MirrorSource {
  constructor(readonly root: string) {}

  async get(key: string): Promise<MirrorObject | undefined> {
    const f = path.resolve(this.root, key);
    if (!f.startsWith(path.resolve(this.root) + path.sep) || !fs.existsSync(f) || !fs.statSync(f).isFile()) return undefined;
    const st = fs.statSync(f);
    return { body: fs.readFileSync(f), lastModified: st.mtime, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"` };
  }
}

const KEY_RE = /^[a-z][a-z0-9-]{1,39}\/[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$/;

const TYPES: Record<string, string> = { '.json': 'application/json', '.sig': 'application/pgp-signature', '.asc': 'application/pgp-signature' };

export function mirrorHandler(source: MirrorSource, log: (l: string) => void = () => undefined): http.RequestListener {
  return (req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://mirror');
      const key = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
      const done = (status: number, body?: Buffer | string, headers: Record<string, string | number> = {}) => {
        res.writeHead(status, { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...headers });
        res.end(req.method === 'HEAD' ? undefined : body);
        log(`${req.method} /${key} ${status}`);
      };
      if (req.method !== 'GET' && req.method !== 'HEAD') return done(405, 'read-only mirror\n', { allow: 'GET, HEAD' });
      if (!KEY_RE.test(key) || key.includes('..')) return done(404, 'not found\n');
      const o = await source.get(key);
      if (!o) return done(404, 'not found\n');
      const lm = new Date(Math.floor(o.lastModified.getTime() / 1000) * 1000);
      const since = req.headers['if-modified-since'] ? Date.parse(String(req.headers['if-modified-since'])) : NaN;
      const common: Record<string, string | number> = { 'last-modified': lm.toUTCString(), 'accept-ranges': 'bytes', 'content-type': TYPES[path.extname(key)] ?? 'application/octet-stream', ...(o.etag ? { etag: o.etag } : {}) };
      if (!Number.isNaN(since) && lm.getTime() <= since) return done(304, undefined, common);
      const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range ?? ''));
      if (range && (range[1] || range[2])) {
        const size = o.body.length;
        let start = range[1] ? Number(range[1]) : size - Number(range[2]);
        let end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
        if (start < 0) start = 0;
        if (start >= size || end < start) return done(416, undefined, { ...common, 'content-range': `bytes */${size}` });
        end = Math.min(end, size - 1);
        return done(206, o.body.subarray(start, end + 1), { ...common, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
      }
      return done(200, o.body, { ...common, 'content-length': o.body.length });
    })().catch((e) => {
      log(`error ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  };
}

export function createMirrorServer(source: MirrorSource, tls: { cert: Buffer | string; key: Buffer | string }, log?: (l: string) => void): https.Server {
  return https.createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, mirrorHandler(source, log));
}
