import { afterAll, describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import { Sink } from '../lib/mail/sink';
import { buildMail } from '../lib/mail/samples';
import { DEMO_DOMAINS } from '../lib/mail/local';
import { tmpdir, until } from './helpers/mail';
import { buildServiceBundle } from '../lib/crossings/bundle';

/**
 * The crash test of the issue: the relays (the gateway and the internet
 * relay, each its own process running the bundle the hosts run) are killed with SIGKILL
 * while 500 messages are in flight, and restarted. The sender behaves like
 * a sending MTA: a message without our 250 is sent again. All 500 must
 * reach the LGWAN mail server exactly once.
 */
const ROOT = path.resolve(__dirname, '..');
const MUNI = DEMO_DOMAINS.internet[0];
const N = 500;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
const sinks: Sink[] = [];

/** The roles run from the same single-file bundle the hosts run (bin/mail.ts through esbuild). */
let bundle: string | undefined;
function bundled(): string {
  if (!bundle) {
    bundle = path.join(tmpdir('mail-bundle-'), 'mail.js');
    buildServiceBundle('bin/mail.ts', bundle);
  }
  return bundle;
}

function role(env: Record<string, string>, log: string[]): ChildProcess {
  const c = spawn(process.execPath, [bundled()], { cwd: ROOT, env: { ...process.env, MAIL_POLL_MS: '50', MAIL_RETRY_BASE_MS: '100', MAIL_RETRY_MAX_MS: '500', MAIL_LISTEN: '127.0.0.1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout!.on('data', (d) => log.push(String(d)));
  c.stderr!.on('data', (d) => log.push(String(d)));
  children.push(c);
  return c;
}

async function listening(c: ChildProcess, log: string[], what: string): Promise<void> {
  await until(() => log.join('').includes(what) || c.exitCode !== null, 60_000, what);
  assert.equal(c.exitCode, null, `${what}: the process exited:\n${log.join('')}`);
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(sinks.map((s) => s.close()));
});

describe('durability: relays killed with SIGKILL under load', () => {
  test(`all ${N} messages accepted around the crash arrive exactly once at the LGWAN mail server`, async () => {
    const fsRoot = tmpdir('mail-crash-');
    const lgwan = new Sink({ name: 'lgwan-mail-server' });
    const network = new Sink({ name: 'lgwan-network' });
    const internet = new Sink({ name: 'internet' });
    sinks.push(lgwan, network, internet);
    const t0 = Date.now();
    const [lgwanPort, netPort, internetPort, gatewayPort, relayPort] = [await lgwan.listen(), await network.listen(), await internet.listen(), await freePort(), await freePort()];
    const logs = { gateway: [] as string[], relay: [] as string[], sanitizer: [] as string[], ingester: [] as string[] };
    const buckets = { MAIL_INBOUND_BUCKET: 'inbound', MAIL_OUTBOUND_BUCKET: 'outbound', MAIL_SANITIZED_BUCKET: 'sanitized' };
    // The gateway checks every sender (SPF, DKIM, DMARC, ARC); there is no DNS here, so the sender's domain is in a zone file.
    const zoneFile = path.join(fsRoot, 'dns-zone.json');
    fs.mkdirSync(fsRoot, { recursive: true });
    fs.writeFileSync(zoneFile, JSON.stringify({ 'example.com': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] }, '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject'] } }));
    const env = {
      gateway: { MAIL_ROLE: 'gateway', MAIL_FS_ROOT: fsRoot, MAIL_DNS_ZONE: zoneFile, MAIL_PORT: String(gatewayPort), MAIL_SPOOL_BUCKET: 'spool', MAIL_ROUTES: JSON.stringify({ [MUNI]: `127.0.0.1:${relayPort}` }), MAIL_INTERNET_SMARTHOST: `127.0.0.1:${internetPort}` },
      relay: { MAIL_ROLE: 'internet-relay', MAIL_FS_ROOT: fsRoot, MAIL_PORT: String(relayPort), MAIL_DOMAINS: MUNI, MAIL_STATE_BUCKET: 'relay-state', MAIL_INTERNET_SMARTHOST: `127.0.0.1:${internetPort}`, ...buckets },
      sanitizer: { MAIL_ROLE: 'mail-sanitizer', MAIL_FS_ROOT: fsRoot, MAIL_QUARANTINE_BUCKET: 'quarantine', MAIL_AUDIT_BUCKET: 'log-archive', ...buckets },
      ingester: { MAIL_ROLE: 'lgwan-ingester', MAIL_FS_ROOT: fsRoot, MAIL_PORT: '0', MAIL_STATE_BUCKET: 'ingester-state', MAIL_LGWAN_SERVER: `127.0.0.1:${lgwanPort}`, MAIL_LGWAN_NETWORK: `127.0.0.1:${netPort}`, MAIL_LGWAN_DOMAINS: 'lg.jp', MAIL_OWN_DOMAINS: DEMO_DOMAINS.own[0], ...buckets },
    };
    let gw = role(env.gateway, logs.gateway);
    let rl = role(env.relay, logs.relay);
    const sz = role(env.sanitizer, logs.sanitizer);
    const ig = role(env.ingester, logs.ingester);
    await Promise.all([listening(gw, logs.gateway, 'gateway: listening'), listening(rl, logs.relay, 'internet-relay: listening'), listening(sz, logs.sanitizer, 'mail-sanitizer: waiting'), listening(ig, logs.ingester, 'lgwan-ingester: listening')]);

    let accepted = 0;
    let attempts = 0;
    const messages = Array.from({ length: N }, (_, i) => ({ id: `<crash-${i}@example.com>`, raw: buildMail({ from: 'sender@example.com', to: [`staff${i % 7}@${MUNI}`], subject: `試験 ${i}`, messageId: `<crash-${i}@example.com>`, html: `<p>番号 ${i}: 詳細はhttps://example.jp/${i}を参照</p>`, charset: 'ISO-2022-JP' }) }));
    // A sending MTA: each message is sent until it gets our 250 (50 sessions at a time).
    const sendAll = async () => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          while (next < N) {
            const m = messages[next++];
            for (;;) {
              attempts++;
              const t = nodemailer.createTransport({ host: '127.0.0.1', port: gatewayPort, secure: false, ignoreTLS: true, connectionTimeout: 2000, greetingTimeout: 2000, socketTimeout: 10_000 });
              try {
                await t.sendMail({ envelope: { from: 'sender@example.com', to: [`staff${Number(/\d+/.exec(m.id)![0]) % 7}@${MUNI}`] }, raw: m.raw });
                accepted++;
                break;
              } catch {
                await new Promise((r) => setTimeout(r, 100));
              } finally {
                t.close();
              }
            }
          }
        }),
      );
    };
    const sending = sendAll();
    await until(() => accepted >= 150, 60_000, '150 accepted messages');
    const atKill = { ms: Date.now() - t0, accepted, delivered: lgwan.messages.length, spool: fs.existsSync(path.join(fsRoot, 'spool', 'spool')) ? fs.readdirSync(path.join(fsRoot, 'spool', 'spool')).length : 0 };
    gw.kill('SIGKILL');
    rl.kill('SIGKILL');
    await until(() => gw.exitCode !== null || gw.signalCode !== null, 10_000, 'the gateway to die');
    await until(() => rl.exitCode !== null || rl.signalCode !== null, 10_000, 'the relay to die');
    assert.equal(gw.signalCode, 'SIGKILL');
    assert.ok(atKill.accepted - atKill.delivered > 0, `messages were in flight at the kill (accepted ${atKill.accepted}, delivered ${atKill.delivered})`);
    await new Promise((r) => setTimeout(r, 300));
    const logs2 = { gateway: [] as string[], relay: [] as string[] };
    gw = role(env.gateway, logs2.gateway);
    rl = role(env.relay, logs2.relay);
    await Promise.all([listening(gw, logs2.gateway, 'gateway: listening'), listening(rl, logs2.relay, 'internet-relay: listening')]);
    await sending;
    assert.equal(accepted, N);
    const allAccepted = Date.now() - t0;
    await lgwan.waitFor(N, 150_000);
    const allDelivered = Date.now() - t0;
    // Let anything late (a duplicate on its way) arrive before counting.
    // (Files starting with "." are temporary files a killed process left; they are never read as messages.)
    const pending = (d: string) => (fs.existsSync(path.join(fsRoot, d)) ? fs.readdirSync(path.join(fsRoot, d)).filter((f) => !f.startsWith('.')).length : 0);
    await until(() => pending('spool/spool') === 0 && pending('sanitized/mail') === 0, 60_000, 'spool and sanitized drained');
    await until(() => fs.readdirSync(path.join(fsRoot, 'queue', 'ready')).length === 0 && fs.readdirSync(path.join(fsRoot, 'queue', 'leased')).length === 0, 60_000, 'the sanitizer queue to drain');
    await new Promise((r) => setTimeout(r, 1500));
    const counts = new Map<string, number>();
    for (const m of lgwan.messages) {
      const id = /^Message-ID: (<[^>]+>)/im.exec(m.raw.toString('latin1'))?.[1] ?? '?';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const missing = messages.filter((m) => !counts.has(m.id)).map((m) => m.id);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(missing, [], 'every message arrived');
    assert.deepEqual(twice, [], 'no message arrived twice');
    assert.equal(lgwan.messages.length, N);
    assert.match((await simpleParser(lgwan.messages[0].raw)).text ?? '', /Sender authenticated: example\.com/, 'staff see the sender authenticated by the gateway');
    process.stdout.write(`# crash: killed after ${atKill.ms} ms at ${atKill.accepted} accepted / ${atKill.delivered} delivered / ${atKill.spool} in the gateway spool; ${attempts} SMTP attempts for ${N} messages; ${[...logs.ingester, ...logs.sanitizer].join('').split('duplicate suppressed').length - 1} duplicates suppressed; all accepted after ${allAccepted} ms, all delivered after ${allDelivered} ms\n`);
  }, 240_000);
});
