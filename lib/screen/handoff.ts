import * as fs from 'node:fs';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

/**
 * Crossing X2 from the virtual browser: a file the member of staff downloads
 * in the remote browser never reaches the terminal; it is handed to the
 * sanitizer in the inbound bucket under users/<that staff login>/. The login
 * comes from the session (the verified token), never from a path on disk.
 */
export interface HandoffTarget {
  /** Stores the open file (read from its start) under key. */
  put(key: string, fd: number, size: number): Promise<void>;
}

/** The inbound bucket through the internet zone's S3 endpoint. */
export class S3Handoff implements HandoffTarget {
  constructor(private readonly bucket: string, private readonly s3 = new S3Client({})) {}
  async put(key: string, fd: number, size: number): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: fs.createReadStream('', { fd, start: 0, autoClose: false }), ContentLength: size }));
  }
}

/** A folder standing in for the inbound bucket (local runs and tests): <root>/<key>. */
export class DirHandoff implements HandoffTarget {
  constructor(readonly root: string) {}
  async put(key: string, fd: number, size: number): Promise<void> {
    const dest = path.join(this.root, ...key.split('/'));
    if (!dest.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`refused key ${key}`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const buf = Buffer.alloc(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    fs.writeFileSync(dest, buf.subarray(0, off));
  }
}

/** Partial downloads of Chromium and Firefox, and hidden files, are not finished downloads. */
function unfinished(name: string): boolean {
  return name.startsWith('.') || /\.(crdownload|part|download|tmp)$/i.test(name);
}

/** Object key of a finished download: the staff login's prefix and the file's own name (no path). */
export function handoffKey(login: string, file: string): string {
  const base = path.basename(file).replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  return `users/${login}/${base}`;
}

/**
 * Watches one session's download folder. A file is handed off once its size
 * held still for one poll; a failed upload stays on disk and is retried, and
 * `flush()` (at session end) hands off what is left before the files go.
 */
export class DownloadWatcher {
  private timer?: NodeJS.Timeout;
  private readonly sizes = new Map<string, number>();
  private busy = false;
  readonly handedOff: string[] = [];

  constructor(private readonly dir: string, private readonly login: string, private readonly target: HandoffTarget, private readonly pollMs = 1000, private readonly log: (m: string) => void = () => {}) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(false), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.poll(true);
  }

  async poll(final: boolean): Promise<void> {
    if (this.busy && !final) return;
    this.busy = true;
    try {
      let names: string[];
      try {
        names = fs.readdirSync(this.dir);
      } catch {
        return;
      }
      for (const name of names) {
        if (unfinished(name)) continue;
        const file = path.join(this.dir, name);
        let st: fs.Stats;
        try {
          st = fs.lstatSync(file);
        } catch {
          continue;
        }
        if (!st.isFile()) continue; // symlinks and folders are not downloads (a link could point at another user's file)
        const before = this.sizes.get(name);
        this.sizes.set(name, st.size);
        if (!final && before !== st.size) continue;
        const key = handoffKey(this.login, name);
        let fd: number | undefined;
        try {
          // O_NOFOLLOW and fstat on the open file: the session user cannot swap in a link to someone else's file
          // between the check above and the read (this service reads as root).
          fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
          const fst = fs.fstatSync(fd);
          if (!fst.isFile()) throw new Error('not a regular file');
          await this.target.put(key, fd, fst.size);
          fs.rmSync(file, { force: true });
          this.sizes.delete(name);
          this.handedOff.push(key);
          this.log(`handed off ${key} (${st.size} bytes)`);
        } catch (e) {
          this.log(`hand-off of ${key} failed, will retry: ${(e as Error).message}`);
        } finally {
          if (fd !== undefined) fs.closeSync(fd);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
