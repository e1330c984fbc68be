import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One session's own unprivileged local account: created on first use, removed with its files when the session ends. */
export interface LocalUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  /** Where the remote browser saves downloads; handed to the inbound bucket under the staff login. */
  readonly downloads: string;
  /** Private run directory (0700): the display socket lives here. */
  readonly runDir: string;
}

export interface UserOptions {
  /** Parent of the session homes, e.g. /var/lib/virtual-browser/home (its own directory, 0711). */
  readonly homeRoot: string;
  /** Parent of the private run directories, e.g. /run/virtual-browser. */
  readonly runRoot: string;
  /** Prefix of every session account, so a staff login can never name a system account. */
  readonly prefix: string;
}

/**
 * Creates and removes session accounts with the shadow tools (useradd,
 * userdel), as root. Every account is a fresh system account with no login
 * shell and no password; homes and run directories are 0700, so one session
 * can never read another's files, downloads or display socket.
 */
export class LocalUsers {
  constructor(readonly o: UserOptions) {
    if (!/^[a-z][a-z0-9-]{0,7}$/.test(o.prefix)) throw new Error(`user prefix ${JSON.stringify(o.prefix)}: use up to 8 lower-case letters, digits or "-"`);
    for (const d of [o.homeRoot, o.runRoot]) fs.mkdirSync(d, { recursive: true, mode: 0o711 });
  }

  async create(suffix: string): Promise<LocalUser> {
    const name = `${this.o.prefix}${suffix}`;
    if (!/^[a-z][a-z0-9._-]{0,31}$/.test(name)) throw new Error(`session account name ${JSON.stringify(name)} is not a valid user name`);
    const home = path.join(this.o.homeRoot, name);
    await run('useradd', ['--system', '--create-home', '--home-dir', home, '--shell', '/usr/sbin/nologin', '--user-group', '--comment', 'virtual browser session', name]);
    const { stdout } = await run('id', ['-u', name]);
    const { stdout: g } = await run('id', ['-g', name]);
    const uid = Number(stdout.trim());
    const gid = Number(g.trim());
    fs.chmodSync(home, 0o700);
    const downloads = path.join(home, 'Downloads');
    const runDir = path.join(this.o.runRoot, name);
    for (const d of [downloads, runDir]) {
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      fs.chownSync(d, uid, gid);
      fs.chmodSync(d, 0o700);
    }
    return { name, uid, gid, home, downloads, runDir };
  }

  /** Ends every process of the account, then removes it with its home and run directory. */
  async remove(u: LocalUser): Promise<void> {
    await run('pkill', ['-KILL', '-U', String(u.uid)]).catch(() => undefined); // exit 1: no process left
    for (let i = 0; i < 20; i++) {
      const alive = await run('pgrep', ['-U', String(u.uid)]).then(() => true, () => false);
      if (!alive) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await run('userdel', ['--remove', u.name]).catch((e: Error) => {
      throw new Error(`could not remove session account ${u.name}: ${e.message}`);
    });
    fs.rmSync(u.home, { recursive: true, force: true });
    fs.rmSync(u.runDir, { recursive: true, force: true });
  }

  /** Accounts with this prefix left from an earlier run (e.g. after a crash): removed at start. */
  async leftovers(): Promise<LocalUser[]> {
    const out: LocalUser[] = [];
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid, gid, , home] = line.split(':');
      if (!name?.startsWith(this.o.prefix) || !home?.startsWith(this.o.homeRoot + path.sep)) continue;
      out.push({ name, uid: Number(uid), gid: Number(gid), home, downloads: path.join(home, 'Downloads'), runDir: path.join(this.o.runRoot, name) });
    }
    return out;
  }
}
