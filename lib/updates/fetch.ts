import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { UpdateChannel } from '../../config/updates';
import type { ObjectStore } from '../sanitizer/worker';
import { INBOUND_PREFIX } from './publisher';

/**
 * The fetch service in `internet` (crossing X7 out, X2-like objects in):
 * polls each channel's URLs on its schedule, through the security cloud, and
 * writes what is new into the inbound bucket under `updates/<channel>/`.
 * It checks nothing but size and novelty: the verification happens in
 * transfer, where the internet tier cannot reach. For openpgp channels the
 * detached signature (`<url>.asc`, else `<url>.sig`) is written before the
 * file, so the verifier finds it when the file's event arrives.
 */

export interface FetchState {
  /** Per URL: validators of the last download and the SHA-256 handed over. */
  [url: string]: { etag?: string; lastModified?: string; sha256?: string; fetchedAt: string };
}

export interface FetchOptions {
  readonly channels: UpdateChannel[];
  readonly store: ObjectStore;
  readonly inboundBucket: string;
  readonly stateFile: string;
  readonly fetchImpl?: typeof fetch;
  readonly log?: (line: string) => void;
}

export interface FetchOutcome {
  readonly channel: string;
  readonly url: string;
  readonly result: 'new' | 'unchanged' | 'error';
  readonly key?: string;
  readonly detail?: string;
}

function loadState(file: string): FetchState {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as FetchState;
  } catch {
    return {};
  }
}

function saveState(file: string, s: FetchState): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
  fs.renameSync(tmp, file);
}

/** Reads a response body, refusing more than `max` bytes (announced or streamed). */
async function readLimited(r: Response, max: number): Promise<Buffer> {
  const announced = Number(r.headers.get('content-length') ?? NaN);
  if (announced > max) throw new Error(`announces ${announced} bytes, over the channel's limit of ${max}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (n > max) throw new Error(`sent more than the channel's limit of ${max} bytes`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export async function fetchChannel(channel: UpdateChannel, o: FetchOptions, state: FetchState): Promise<FetchOutcome[]> {
  const get = o.fetchImpl ?? fetch;
  const out: FetchOutcome[] = [];
  for (const url of channel.urls) {
    const prior = state[url];
    try {
      const headers: Record<string, string> = { 'user-agent': 'three-tier-updates-fetch/1.0' };
      if (prior?.etag) headers['if-none-match'] = prior.etag;
      if (prior?.lastModified) headers['if-modified-since'] = prior.lastModified;
      const r = await get(url, { headers, redirect: 'follow' });
      if (r.status === 304) {
        out.push({ channel: channel.name, url, result: 'unchanged', detail: 'not modified' });
        continue;
      }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const body = await readLimited(r, channel.maxBytes);
      const sha256 = createHash('sha256').update(body).digest('hex');
      const name = path.posix.basename(new URL(r.url || url).pathname) || path.posix.basename(new URL(url).pathname);
      const key = `${INBOUND_PREFIX}${channel.name}/${name}`;
      if (prior?.sha256 === sha256) {
        state[url] = { ...prior, etag: r.headers.get('etag') ?? undefined, lastModified: r.headers.get('last-modified') ?? undefined, fetchedAt: new Date().toISOString() };
        out.push({ channel: channel.name, url, result: 'unchanged', detail: 'same contents' });
        continue;
      }
      if (channel.kind === 'openpgp') {
        for (const ext of ['.asc', '.sig']) {
          const s = await get(`${url}${ext}`, { headers: { 'user-agent': headers['user-agent'] } });
          if (!s.ok) continue;
          await o.store.put(o.inboundBucket, `${key}${ext}`, await readLimited(s, 1024 * 1024), 'application/pgp-signature');
          break;
        }
      }
      await o.store.put(o.inboundBucket, key, body, 'application/octet-stream');
      state[url] = { etag: r.headers.get('etag') ?? undefined, lastModified: r.headers.get('last-modified') ?? undefined, sha256, fetchedAt: new Date().toISOString() };
      out.push({ channel: channel.name, url, result: 'new', key, detail: `${body.length} bytes, sha256 ${sha256}` });
    } catch (e) {
      out.push({ channel: channel.name, url, result: 'error', detail: (e as Error).message });
    }
  }
  return out;
}

/** One pass over the channels that are due (all of them when `due` is omitted). */
export async function fetchOnce(o: FetchOptions, due: (c: UpdateChannel) => boolean = () => true): Promise<FetchOutcome[]> {
  const log = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const state = loadState(o.stateFile);
  const out: FetchOutcome[] = [];
  for (const c of o.channels.filter(due)) {
    const r = await fetchChannel(c, o, state);
    for (const x of r) log(`${x.result.padEnd(9)} ${x.channel} ${x.url}${x.detail ? ` (${x.detail})` : ''}`);
    out.push(...r);
  }
  saveState(o.stateFile, state);
  return out;
}

/** Milliseconds of an EventBridge-style rate ("rate(30 minutes)"). */
export function rateMs(schedule: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(schedule);
  if (!m) throw new Error(`not a rate: ${schedule}`);
  const unit = m[2].startsWith('minute') ? 60_000 : m[2].startsWith('hour') ? 3_600_000 : 86_400_000;
  return Number(m[1]) * unit;
}

/** Runs forever (until `stopped`): each channel is fetched when its rate has passed since its last pass. */
export async function runFetcher(o: FetchOptions & { stopped?: () => boolean; tickMs?: number }): Promise<void> {
  const last = new Map<string, number>();
  while (!o.stopped?.()) {
    const now = Date.now();
    await fetchOnce(o, (c) => {
      const due = now - (last.get(c.name) ?? 0) >= rateMs(c.schedule);
      if (due) last.set(c.name, now);
      return due;
    });
    await new Promise((r) => setTimeout(r, o.tickMs ?? 30_000));
  }
}
