import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { promisify } from 'node:util';
import type { EngineSession, SessionEngine } from './engine';
import { SessionLimitError, SessionManager } from './sessions';
import { ReplayCache, ScreenTokenError, SigningKey, verifyScreenToken } from './token';
import type { LocalUser } from './users';

const run = promisify(execFile);
export { dcvInitScript } from './dcv-init';

/**
 * Amazon DCV as a session engine, and the local token verifier DCV calls
 * (dcv.conf `[security] auth-token-verifier="http://127.0.0.1:<port>"`).
 *
 * DCV's external authentication protocol: the web client is opened as
 * `https://<endpoint>:8443/?authToken=<token>#<session id>`; DCV POSTs
 * `sessionId`, `authenticationToken` and `clientAddress` (form encoded) to the
 * verifier and accepts the connection when the reply is
 * `<auth result="yes"><username>NAME</username></auth>`, NAME being the owner
 * of the session. Here the session id is the staff login: the verifier checks
 * the broker's token offline, refuses a session id that is not the token's
 * login (nobody opens someone else's session), creates the staff member's own
 * account and virtual session on first use, and answers with that account.
 */
export interface DcvEngineOptions {
  readonly dcv?: string;
  /** Runs inside the virtual session as its owner and starts the browser. */
  readonly initScript: string;
  readonly permissionsFile: string;
  readonly browser: string;
}

export class DcvEngine implements SessionEngine {
  readonly name = 'dcv';
  private readonly dcv: string;
  constructor(readonly o: DcvEngineOptions) {
    this.dcv = o.dcv ?? '/usr/bin/dcv';
  }

  async preflight(): Promise<string[]> {
    const out: string[] = [];
    for (const [what, bin] of [['DCV server (nice-dcv-server)', this.dcv], ['browser', this.o.browser], ['session init script', this.o.initScript]] as const) {
      try {
        fs.accessSync(bin, fs.constants.X_OK);
      } catch {
        out.push(`${what} missing: ${bin}`);
      }
    }
    if (out.length === 0) {
      const active = await run('systemctl', ['is-active', 'dcvserver']).then(() => true, () => false);
      if (!active) out.push('dcvserver is not running');
    }
    return out;
  }

  async start(user: LocalUser, sessionId: string): Promise<EngineSession> {
    await run(this.dcv, ['create-session', '--type', 'virtual', '--owner', user.name, '--user', user.name, '--permissions-file', this.o.permissionsFile, '--storage-root', user.downloads, '--init', this.o.initScript, sessionId]);
    let alive = true;
    return {
      id: sessionId,
      alive: () => alive,
      connections: async () => {
        try {
          const { stdout } = await run(this.dcv, ['list-connections', '--json', sessionId]);
          const parsed = JSON.parse(stdout) as unknown[];
          return Array.isArray(parsed) ? parsed.length : 0;
        } catch {
          alive = false; // the session is gone
          return 0;
        }
      },
      stop: async () => {
        alive = false;
        await run(this.dcv, ['close-session', sessionId]).catch(() => undefined);
      },
    };
  }
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export interface VerifierOptions {
  readonly sessions: SessionManager;
  readonly keys: Record<string, SigningKey>;
  readonly issuer: string;
  readonly audience: string;
  readonly replay?: ReplayCache;
  readonly log?: (m: string) => void;
}

export const DCV_NO = '<auth result="no"/>';

/** The answer of the verifier to one DCV request (pure apart from opening the session). */
export async function verifyForDcv(form: URLSearchParams, o: VerifierOptions, replay: ReplayCache): Promise<string> {
  const log = o.log ?? (() => {});
  const token = form.get('authenticationToken') ?? '';
  const sessionId = form.get('sessionId') ?? '';
  try {
    const { login } = await verifyScreenToken(token, { keys: o.keys, issuer: o.issuer, audience: o.audience, replay });
    if (sessionId !== login) {
      log(`refused: ${login} asked for session ${JSON.stringify(sessionId)}`);
      return DCV_NO;
    }
    const s = await o.sessions.open(login);
    return `<auth result="yes"><username>${xmlEscape(s.user.name)}</username></auth>`;
  } catch (e) {
    log(`refused from ${form.get('clientAddress') ?? '?'}: ${e instanceof ScreenTokenError || e instanceof SessionLimitError ? e.message : (e as Error).message}`);
    return DCV_NO;
  }
}

/** The verifier server; listens on 127.0.0.1 only (DCV runs on the same host). */
export function createDcvVerifier(o: VerifierOptions): http.Server {
  const replay = o.replay ?? new ReplayCache();
  return http.createServer((req, res) => {
    const reply = (status: number, body: string) => {
      res.writeHead(status, { 'content-type': 'text/xml; charset=utf-8' });
      res.end(body);
    };
    if (req.method !== 'POST') return reply(405, DCV_NO);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 16_384) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      verifyForDcv(new URLSearchParams(Buffer.concat(chunks).toString('utf8')), o, replay).then((b) => reply(200, b), () => reply(200, DCV_NO));
    });
  });
}
