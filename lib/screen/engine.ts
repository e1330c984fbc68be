import type { LocalUser } from './users';

/**
 * A remote-display engine: what differs between Amazon DCV (in AWS) and the
 * Debian engine (TigerVNC + noVNC, local tests and the "vnc-privatelink"
 * option). Sign-in, tokens, per-user accounts, timeouts and the download
 * hand-off are engine-neutral and live in SessionManager.
 */
export interface SessionEngine {
  readonly name: string;
  /** Missing binaries or a broken install, named; empty when the host can serve sessions. */
  preflight(): Promise<string[]>;
  /** Starts the display server and the browser of one session, owned by `user`; resolves when clients can connect. */
  start(user: LocalUser, sessionId: string): Promise<EngineSession>;
}

export interface EngineSession {
  /** The engine's session id (DCV: the session name; VNC: the display). */
  readonly id: string;
  /** Where the gateway connects a client (VNC: the RFB unix socket); undefined when the engine serves clients itself (DCV). */
  readonly endpoint?: string;
  /** Clients connected right now, when the engine knows better than the gateway (DCV); undefined otherwise. */
  connections?(): Promise<number>;
  /** True while the display and the browser run. */
  alive(): boolean;
  stop(): Promise<void>;
}
