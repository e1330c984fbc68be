import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { EngineSession, SessionEngine } from '../engine';
import type { LocalUser } from '../users';

/**
 * The Debian engine: TigerVNC's Xvnc (an X server that is its own VNC
 * server) and a browser in it, one pair per session, both running as the
 * session's own account. The display listens only on a unix socket inside
 * the account's 0700 run directory (no TCP), so only the gateway (root) and
 * the owner reach it; the X display is guarded by a fresh MIT cookie.
 *
 * Toward the terminal Xvnc sends no clipboard (SendCutText=0, SendPrimary=0);
 * pasting into the session is accepted (AcceptCutText=1). RFB has no file
 * transfer or printing channel at all.
 */
export interface VncEngineOptions {
  readonly xvnc?: string;
  /** The browser: command and arguments; {url}, {profile} and {downloads} are replaced. */
  readonly browser: { readonly command: string; readonly args: readonly string[] };
  readonly startUrl: string;
  readonly geometry?: string;
  /** First X display number to use (each session takes the next free one). */
  readonly firstDisplay?: number;
  readonly log?: (m: string) => void;
}

/** The Xvnc arguments of a session: unix socket only, no clipboard toward the terminal. */
export function xvncArgs(display: number, socket: string, xauthority: string, geometry: string): string[] {
  return [
    `:${display}`,
    '-geometry', geometry,
    '-depth', '24',
    '-rfbport', '-1',
    '-rfbunixpath', socket,
    '-rfbunixmode', '384',
    // The socket is reachable only through the 0700 run directory of the account; the gateway authenticates the staff member.
    '-SecurityTypes', 'None',
    '-auth', xauthority,
    '-nolisten', 'tcp',
    '-SendCutText=0',
    '-SendPrimary=0',
    '-AcceptCutText=1',
    '-SetPrimary=0',
    '-AlwaysShared=0',
    '-NeverShared=1',
    '-DisconnectClients=1',
    '-AcceptSetDesktopSize=1',
  ];
}

/** A one-entry Xauthority file (FamilyWild, any display number 'display') with a fresh MIT-MAGIC-COOKIE-1. */
export function xauthorityEntry(display: number, cookie: Buffer): Buffer {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  return Buffer.concat([Buffer.from([0xff, 0xff]), field(Buffer.alloc(0)), field(Buffer.from(String(display))), field(Buffer.from('MIT-MAGIC-COOKIE-1')), field(cookie)]);
}

/** Chromium profile settings: downloads go to the session's download folder without asking, and nothing prints. */
export function chromiumPreferences(downloads: string): string {
  return JSON.stringify({
    download: { default_directory: downloads, prompt_for_download: false, directory_upgrade: true },
    savefile: { default_directory: downloads },
    printing: { enabled: false },
    browser: { has_seen_welcome_page: true },
  });
}

const reserved = new Set<number>();

/** Keeps the last lines a child process wrote to stderr, so an unexpected exit can say why (the pipe is always drained). */
function tailOf(proc: ChildProcess, lines = 20): () => string {
  const kept: string[] = [];
  let partial = '';
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    // Chromium's complaints about the missing D-Bus session are noise on a host with no desktop.
    for (const l of parts) if (l.trim() && !/dbus|D-Bus/.test(l)) kept.push(l.slice(0, 300));
    if (kept.length > lines) kept.splice(0, kept.length - lines);
  });
  return () => [...kept, partial].filter((l) => l.trim()).join(' | ');
}

function displayFree(n: number): boolean {
  return !reserved.has(n) && !fs.existsSync(`/tmp/.X11-unix/X${n}`) && !fs.existsSync(`/tmp/.X${n}-lock`);
}

/** Waits until the RFB server greets on the socket (the display is up). */
async function rfbReady(socket: string, deadline: number, proc: ChildProcess): Promise<void> {
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`Xvnc exited with ${proc.exitCode}`);
    if (fs.existsSync(socket)) {
      const ok = await new Promise<boolean>((resolve) => {
        const c = net.connect(socket);
        c.once('data', (d) => {
          c.destroy();
          resolve(d.toString('latin1').startsWith('RFB '));
        });
        c.once('error', () => resolve(false));
        setTimeout(() => {
          c.destroy();
          resolve(false);
        }, 1000);
      });
      if (ok) return;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('Xvnc did not come up in time');
}

export class VncEngine implements SessionEngine {
  readonly name = 'tigervnc';
  private readonly xvnc: string;

  constructor(readonly o: VncEngineOptions) {
    this.xvnc = o.xvnc ?? '/usr/bin/Xvnc';
  }

  async preflight(): Promise<string[]> {
    const out: string[] = [];
    for (const [what, bin] of [['display server (Xvnc, tigervnc-standalone-server)', this.xvnc], ['browser', this.o.browser.command]] as const) {
      try {
        fs.accessSync(bin, fs.constants.X_OK);
      } catch {
        out.push(`${what} missing: ${bin}`);
      }
    }
    return out;
  }

  async start(user: LocalUser, sessionId: string): Promise<EngineSession> {
    const log = this.o.log ?? (() => {});
    let display = this.o.firstDisplay ?? 20;
    while (!displayFree(display)) display++;
    reserved.add(display);
    const socket = path.join(user.runDir, 'rfb.sock');
    const xauthority = path.join(user.home, '.Xauthority');
    fs.writeFileSync(xauthority, xauthorityEntry(display, randomBytes(16)), { mode: 0o600 });
    fs.chownSync(xauthority, user.uid, user.gid);
    const profile = path.join(user.home, '.browser');
    fs.mkdirSync(path.join(profile, 'Default'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(profile, 'Default', 'Preferences'), chromiumPreferences(user.downloads));
    for (const p of [profile, path.join(profile, 'Default'), path.join(profile, 'Default', 'Preferences')]) fs.chownSync(p, user.uid, user.gid);
    const env = { HOME: user.home, USER: user.name, LOGNAME: user.name, PATH: '/usr/local/bin:/usr/bin:/bin', XAUTHORITY: xauthority, DISPLAY: `:${display}`, LANG: process.env.LANG ?? 'C.UTF-8', XDG_RUNTIME_DIR: user.runDir };
    // stderr is kept (last lines) so that an unexpected exit is logged with its reason.
    const asUser = { uid: user.uid, gid: user.gid, cwd: user.home, env, stdio: ['ignore', 'ignore', 'pipe'] as ('ignore' | 'pipe')[], detached: true };
    const x = spawn(this.xvnc, xvncArgs(display, socket, xauthority, this.o.geometry ?? '1280x800'), asUser);
    const xTail = tailOf(x);
    let browser: ChildProcess | undefined;
    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      for (const p of [browser, x]) {
        if (p?.pid && p.exitCode === null) {
          try {
            process.kill(-p.pid, 'SIGTERM');
          } catch {
            /* already gone */
          }
        }
      }
      await Promise.all([browser, x].map((p) => (p && p.exitCode === null && p.signalCode === null ? new Promise((r) => { p.once('exit', r); setTimeout(r, 2000); }) : undefined)));
      reserved.delete(display);
    };
    try {
      await rfbReady(socket, Date.now() + 15_000, x).catch((e: Error) => {
        throw new Error(`${e.message}${xTail() ? `: ${xTail()}` : ''}`);
      });
      const args = this.o.browser.args.map((a) => a.replace('{url}', this.o.startUrl).replace('{profile}', profile).replace('{downloads}', user.downloads));
      const b = spawn(this.o.browser.command, args, asUser);
      browser = b;
      const bTail = tailOf(b);
      b.once('exit', (code, signal) => log(`browser of ${sessionId} exited (${code ?? signal})${stopped ? '' : `: ${bTail()}`}`));
    } catch (e) {
      await stop();
      throw e;
    }
    x.once('exit', (code, signal) => log(`display :${display} of ${sessionId} exited (${code ?? signal})${stopped ? '' : `: ${xTail()}`}`));
    return {
      id: `:${display}`,
      endpoint: socket,
      alive: () => !stopped && x.exitCode === null && x.signalCode === null && browser?.exitCode === null && browser?.signalCode === null,
      stop,
    };
  }
}

/** Chromium in the session: its own profile, a plain window filling the display, no first-run pages. */
export function chromiumInSession(command = '/usr/bin/chromium', extra: string[] = []): VncEngineOptions['browser'] {
  return {
    command,
    args: ['--user-data-dir={profile}', '--no-first-run', '--no-default-browser-check', '--disable-dev-shm-usage', '--disable-gpu', '--window-position=0,0', '--window-size=1280,800', '--disable-features=Translate,MediaRouter', '--disable-print-preview', ...extra, '{url}'],
  };
}
