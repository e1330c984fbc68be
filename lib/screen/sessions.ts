import { randomBytes } from 'node:crypto';
import type { EngineSession, SessionEngine } from './engine';
import { DownloadWatcher, HandoffTarget } from './handoff';
import { LocalUser, LocalUsers } from './users';

export interface SessionManagerOptions {
  readonly engine: SessionEngine;
  readonly users: LocalUsers;
  readonly handoff: HandoffTarget;
  /** A session with no client input for this long ends (DCV idle-timeout, AppStream IdleDisconnectTimeout). */
  readonly idleTimeoutMs: number;
  /** A session with no client connected for this long ends. */
  readonly disconnectTimeoutMs: number;
  /** Sessions started ahead of any sign-in, each under its own fresh account, so sign-in only binds one. */
  readonly warm?: number;
  /** Most sessions this host runs at once; more sign-ins are refused (the load balancer sends them elsewhere). */
  readonly maxSessions: number;
  readonly reapEveryMs?: number;
  readonly downloadPollMs?: number;
  readonly log?: (m: string) => void;
  /** The engine's session is named after the staff login (DCV: the id in the client URL); no warm sessions then. */
  readonly sessionIdIsLogin?: boolean;
}

export interface Session {
  readonly login: string;
  readonly user: LocalUser;
  readonly engine: EngineSession;
  readonly startedAt: number;
  lastInput: number;
  clients: number;
  /** When the last client left (or the session was bound and nobody came yet). */
  disconnectedSince?: number;
  readonly watcher: DownloadWatcher;
}

interface Warm {
  readonly user: LocalUser;
  readonly engine: EngineSession;
}

export class SessionLimitError extends Error {}

/**
 * One session per member of staff, each under its own unprivileged account
 * made for it and removed with every file when the session ends (idle or
 * disconnect timeout, or the display died). Optionally keeps `warm` sessions
 * started so that a sign-in only has to bind one to the staff login.
 */
export class SessionManager {
  private readonly byLogin = new Map<string, Session>();
  private readonly opening = new Map<string, Promise<Session>>();
  private readonly warm: Warm[] = [];
  private warming = 0;
  private reaper?: NodeJS.Timeout;
  private closed = false;
  private readonly log: (m: string) => void;

  constructor(readonly o: SessionManagerOptions) {
    this.log = o.log ?? (() => {});
  }

  /** Removes accounts left by an earlier run, then fills the warm pool and starts the reaper. */
  async start(): Promise<void> {
    for (const u of await this.o.users.leftovers()) {
      this.log(`removing leftover session account ${u.name}`);
      await this.o.users.remove(u);
    }
    this.reaper = setInterval(() => void this.reap(), this.o.reapEveryMs ?? 5000);
    this.reaper.unref();
    await this.fillWarm();
  }

  get sessions(): readonly Session[] {
    return [...this.byLogin.values()];
  }

  get warmCount(): number {
    return this.warm.length;
  }

  get(login: string): Session | undefined {
    return this.byLogin.get(login);
  }

  /** The session of a staff login: the existing one, a warm one bound to it, or a new one. */
  async open(login: string): Promise<Session> {
    const existing = this.byLogin.get(login);
    if (existing && existing.engine.alive()) return existing;
    if (existing) await this.close(login, 'display ended');
    const pending = this.opening.get(login);
    if (pending) return pending;
    const p = this.bind(login).finally(() => this.opening.delete(login));
    this.opening.set(login, p);
    return p;
  }

  private async bind(login: string): Promise<Session> {
    if (this.byLogin.size + this.opening.size > this.o.maxSessions) throw new SessionLimitError(`this host already runs ${this.o.maxSessions} sessions`);
    let w = this.o.sessionIdIsLogin ? undefined : this.warm.shift();
    while (w && !w.engine.alive()) {
      await this.discard(w);
      w = this.warm.shift();
    }
    if (!w) w = await this.startOne(this.o.sessionIdIsLogin ? login : undefined);
    void this.fillWarm();
    const now = Date.now();
    const watcher = new DownloadWatcher(w.user.downloads, login, this.o.handoff, this.o.downloadPollMs ?? 1000, this.log);
    watcher.start();
    const s: Session = { login, user: w.user, engine: w.engine, startedAt: now, lastInput: now, clients: 0, disconnectedSince: now, watcher };
    this.byLogin.set(login, s);
    this.log(`session for ${login} bound to account ${w.user.name} (${this.o.engine.name} ${w.engine.id})`);
    return s;
  }

  private async startOne(sessionId?: string): Promise<Warm> {
    const user = await this.o.users.create(randomBytes(5).toString('hex'));
    try {
      const engine = await this.o.engine.start(user, sessionId ?? user.name);
      return { user, engine };
    } catch (e) {
      await this.o.users.remove(user).catch(() => undefined);
      throw e;
    }
  }

  private async fillWarm(): Promise<void> {
    const want = this.o.sessionIdIsLogin ? 0 : (this.o.warm ?? 0);
    while (!this.closed && this.warm.length + this.warming < want && this.byLogin.size + this.warm.length + this.warming < this.o.maxSessions) {
      this.warming++;
      try {
        this.warm.push(await this.startOne());
      } catch (e) {
        this.log(`warm session failed to start: ${(e as Error).message}`);
        return;
      } finally {
        this.warming--;
      }
    }
  }

  private async discard(w: Warm): Promise<void> {
    await w.engine.stop().catch(() => undefined);
    await this.o.users.remove(w.user);
  }

  /** A client connected to the login's session. */
  connected(login: string): void {
    const s = this.byLogin.get(login);
    if (!s) return;
    s.clients++;
    s.disconnectedSince = undefined;
    s.lastInput = Date.now();
  }

  disconnected(login: string): void {
    const s = this.byLogin.get(login);
    if (!s) return;
    s.clients = Math.max(0, s.clients - 1);
    if (s.clients === 0) s.disconnectedSince = Date.now();
  }

  /** Keyboard or pointer input from the staff member's terminal. */
  input(login: string): void {
    const s = this.byLogin.get(login);
    if (s) s.lastInput = Date.now();
  }

  /** Ends sessions past their idle or disconnect timeout, or whose display died. */
  async reap(now = Date.now()): Promise<string[]> {
    const ended: string[] = [];
    for (const s of [...this.byLogin.values()]) {
      let clients = s.clients;
      if (s.engine.connections) {
        clients = await s.engine.connections().catch(() => s.clients);
        if (clients > 0) s.disconnectedSince = undefined;
        else s.disconnectedSince ??= now;
      }
      const why = !s.engine.alive()
        ? 'display ended'
        : now - s.lastInput >= this.o.idleTimeoutMs
          ? 'idle timeout'
          : clients === 0 && s.disconnectedSince !== undefined && now - s.disconnectedSince >= this.o.disconnectTimeoutMs
            ? 'disconnect timeout'
            : undefined;
      if (why) {
        await this.close(s.login, why);
        ended.push(s.login);
      }
    }
    return ended;
  }

  /** Ends a session: hands off what is left in its downloads, stops the display, removes the account and its files. */
  async close(login: string, why: string): Promise<void> {
    const s = this.byLogin.get(login);
    if (!s) return;
    this.byLogin.delete(login);
    await s.watcher.stop();
    await s.engine.stop().catch((e: Error) => this.log(`stopping ${s.engine.id}: ${e.message}`));
    await this.o.users.remove(s.user);
    this.log(`session for ${login} ended (${why}); account ${s.user.name} and its files removed`);
    void this.fillWarm();
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    if (this.reaper) clearInterval(this.reaper);
    for (const login of [...this.byLogin.keys()]) await this.close(login, 'shutdown');
    while (this.warming > 0) await new Promise((r) => setTimeout(r, 50));
    for (const w of this.warm.splice(0)) await this.discard(w);
  }
}
