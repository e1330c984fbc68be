import * as http from 'http';
import * as path from 'path';
import { Authenticator, USER_ID } from './pickup-identity';

/**
 * The pickup page in `lgwan`: a staff member sees the files they sent
 * through the sanitizer (under `users/<id>/` of the sanitized bucket), each
 * with its verdict and audit record, and downloads the sanitized ones. Who
 * the staff member is comes from the authenticator (pickup-identity.ts:
 * OpenID Connect sign-in, a JWT signed by the front, or, for compatibility,
 * a header believed only from the front's addresses); without an identity
 * the page answers 401. Nothing is ever served from outside the user's own
 * prefix: a file is found by exact name among the user's own listing.
 */

export interface PickupStore {
  /** Keys under a prefix. */
  list(bucket: string, prefix: string): Promise<string[]>;
  get(bucket: string, key: string): Promise<Buffer | undefined>;
}

export interface PickupOptions {
  readonly store: PickupStore;
  readonly bucket: string;
  /** Who is asking (pickup-identity.ts). */
  readonly auth: Authenticator;
}

interface Entry {
  readonly name: string;
  readonly key?: string;
  readonly audit: Record<string, unknown> & { verdict?: string; reason?: string; removed?: string[]; type?: string; input?: { name?: string; sha256?: string }; output?: { sha256?: string; bytes?: number } };
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

async function entries(o: PickupOptions, user: string): Promise<Entry[]> {
  const prefix = `users/${user}/`;
  const keys = new Set(await o.store.list(o.bucket, prefix));
  const out: Entry[] = [];
  for (const k of [...keys].filter((x) => x.endsWith('.audit.json')).sort()) {
    const body = await o.store.get(o.bucket, k);
    let audit: Entry['audit'] = {};
    try {
      audit = JSON.parse(body?.toString('utf8') ?? '{}');
    } catch {
      audit = { verdict: 'unknown', reason: 'the audit record is unreadable' };
    }
    const fileKey = k.slice(0, -'.audit.json'.length);
    out.push({ name: fileKey.slice(prefix.length), key: audit.verdict !== 'quarantined' && keys.has(fileKey) ? fileKey : undefined, audit });
  }
  return out;
}

function page(user: string, list: Entry[]): string {
  const rows = list.map((e) => {
    const verdict = e.audit.verdict ?? 'unknown';
    const detail = verdict === 'quarantined' ? `隔離 / quarantined: ${esc(e.audit.reason)}` : (e.audit.removed ?? []).length ? `除去 / removed: ${(e.audit.removed ?? []).map(esc).join('<br>')}` : '問題なし / nothing active found';
    const link = e.key ? `<a href="/download?file=${encodeURIComponent(e.name)}" download="${esc(path.posix.basename(e.name))}">${esc(e.name)}</a>` : esc(e.name);
    return `<tr data-verdict="${esc(verdict)}"><td class="file">${link}</td><td class="verdict">${esc(verdict)}</td><td class="detail">${detail}</td><td class="sha"><code>${esc(e.audit.output?.sha256 ?? e.audit.input?.sha256 ?? '')}</code></td><td><a href="/audit?file=${encodeURIComponent(e.name)}">audit</a></td></tr>`;
  });
  return `<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>無害化ファイルの受け取り / Sanitized files</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;vertical-align:top}tr[data-verdict=quarantined]{background:#fee}</style></head>
<body><h1>無害化ファイルの受け取り / Sanitized files</h1><p>利用者 / user: <strong id="user">${esc(user)}</strong></p>
${rows.length ? `<table id="files"><thead><tr><th>ファイル / file</th><th>判定 / verdict</th><th>内容 / details</th><th>SHA-256</th><th>監査 / audit</th></tr></thead><tbody>${rows.join('')}</tbody></table>` : '<p id="empty">ファイルはありません / no files</p>'}
</body></html>`;
}

/** A file name as the user's listing shows it: relative, normalized, no control characters or backslashes. */
function plainName(file: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (!file || /[\u0000-\u001f\u007f\\]/.test(file)) return false;
  const normal = path.posix.normalize(file);
  return normal === file && !normal.startsWith('..') && !normal.startsWith('/') && !normal.split('/').includes('..');
}

const SIGN_IN = '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>サインイン / Sign in</title></head><body><p>401: サインインしてください / please sign in.</p><p><a id="sign-in" href="/login">サインイン / Sign in</a></p></body></html>';

export function pickupServer(o: PickupOptions): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, body: string | Buffer, type = 'text/html; charset=utf-8', extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': type, 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', ...extra });
      res.end(body);
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://pickup');
      if (req.method !== 'GET') return send(405, 'method not allowed', 'text/plain');
      if (await o.auth.route(req, res, url)) return;
      const who = await o.auth.identify(req);
      if ('status' in who) {
        if (who.status === 401) return send(401, o.auth.mode === 'oidc' ? SIGN_IN : `<p>401: ${esc(who.reason)} / 認証できません</p>`);
        return send(403, `<p>403: ${esc(who.reason)} / このページを利用する権限がありません</p>`);
      }
      const user = who.ok.user;
      if (!USER_ID.test(user)) return send(401, '<p>401</p>');
      if (url.pathname === '/') return send(200, page(user, await entries(o, user)));
      const file = url.searchParams.get('file') ?? '';
      if (!plainName(file)) return send(400, 'bad file name', 'text/plain');
      const list = await entries(o, user);
      const e = list.find((x) => x.name === file);
      if (!e) return send(404, 'no such file', 'text/plain');
      if (url.pathname === '/audit') return send(200, JSON.stringify(e.audit, null, 2), 'application/json; charset=utf-8');
      if (url.pathname === '/download') {
        if (!e.key) return send(403, `this file was quarantined: ${e.audit.reason ?? ''}`, 'text/plain; charset=utf-8');
        const body = await o.store.get(o.bucket, e.key);
        if (!body) return send(404, 'no such file', 'text/plain');
        return send(200, body, 'application/octet-stream', { 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(path.posix.basename(e.name))}` });
      }
      return send(404, 'not found', 'text/plain');
    })().catch((err) => send(500, `error: ${(err as Error).message}`, 'text/plain'));
  });
}
