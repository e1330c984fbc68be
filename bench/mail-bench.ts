/**
 * `npm run bench:mail`: 1,000 mixed messages through the mail path on
 * 127.0.0.1, side by side in one run with two baselines:
 * - a plain pass-through relay (receive, forward to the sink at once, no
 *   storage, no sanitizing): what an SMTP proxy costs;
 * - the same durable path with the sanitizer passing messages through
 *   unchanged: what durability and the hops cost without sanitizing.
 * Prints messages/s, p50/p99/max end-to-end latency (first byte sent →
 * arrival at the LGWAN mail server stand-in) and the ratios.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as nodemailer from 'nodemailer';
import { PDFDocument, PDFName, PDFString } from 'pdf-lib';
import { SMTPServer } from 'smtp-server';
import { AddressInfo } from 'net';
import { Sink, SinkMessage } from '../lib/mail/sink';
import { DEMO_DOMAINS, startLocalPath } from '../lib/mail/local';
import { NEWSLETTER_HTML, buildMail, logoPng } from '../lib/mail/samples';

const N = Number(process.env.BENCH_MAIL_N ?? 1000);
const CONCURRENCY = 20;
const PACED_RATE = Number(process.env.BENCH_MAIL_RATE ?? 25);
const CORPUS = path.resolve(__dirname, '..', '..', 'shared', 'corpus');
const TO = `kikaku@${DEMO_DOMAINS.internet[0]}`;

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0;
}

async function pdfWithJs(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.addPage([595, 842]).drawText('Application guide', { x: 50, y: 800, size: 14 });
  doc.catalog.set(PDFName.of('OpenAction'), doc.context.obj({ S: 'JavaScript', JS: PDFString.of("app.alert('x')") }));
  return Buffer.from(await doc.save());
}

/** The mix: 50 % short text (ISO-2022-JP / UTF-8), 30 % HTML newsletters with an inline image, 15 % with an Office or PDF attachment, 5 % with a 500 KB CSV. */
async function messages(): Promise<{ id: string; raw: Buffer; kind: string }[]> {
  const docm = fs.existsSync(path.join(CORPUS, 'oletools/test-data/oleform/oleform-PR314.docm')) ? fs.readFileSync(path.join(CORPUS, 'oletools/test-data/oleform/oleform-PR314.docm')) : undefined;
  const pdf = await pdfWithJs();
  const csv = Buffer.from(Array.from({ length: 10_000 }, (_, i) => `${i},住民${i},東京都千代田区${i}番地,=SUM(A${i}:A${i + 1})`).join('\n'));
  const logo = logoPng();
  return Array.from({ length: N }, (_, i) => {
    const id = `<bench-${i}-${process.pid}@example.jp>`;
    const r = i % 20;
    const base = { from: '"差出人" <sender@example.jp>', to: [TO], messageId: id };
    if (r < 10) return { id, kind: 'text', raw: buildMail({ ...base, subject: `お問い合わせ ${i}`, text: `担当者様\n番号 ${i} の件、詳細はhttps://example.jp/q/${i}をご確認ください。\n`, charset: i % 2 ? 'ISO-2022-JP' : 'UTF-8' }) };
    if (r < 16) return { id, kind: 'html', raw: buildMail({ ...base, subject: `お知らせ ${i}`, html: NEWSLETTER_HTML, attachments: [{ name: 'logo.png', contentType: 'image/png', content: logo, cid: 'logo@example.jp' }] }) };
    if (r < 19) return { id, kind: 'attachment', raw: buildMail({ ...base, subject: `資料 ${i}`, text: '資料を添付します。', attachments: [r % 2 && docm ? { name: '申込書.docm', contentType: 'application/vnd.ms-word.document.macroEnabled.12', content: docm } : { name: '案内.pdf', contentType: 'application/pdf', content: pdf }] }) };
    return { id, kind: 'csv', raw: buildMail({ ...base, subject: `名簿 ${i}`, text: '名簿です。', attachments: [{ name: 'meibo.csv', contentType: 'text/csv', content: csv }] }) };
  });
}

interface Row {
  name: string;
  wallMs: number;
  latencies: number[];
}

/** Sends every message (burst: 20 sessions as fast as they go; paced: one message every 1/rate s) and waits until all arrived. */
async function drive(name: string, port: number, sink: Sink, msgs: { id: string; raw: Buffer }[], rate?: number): Promise<Row> {
  const started = new Map<string, number>();
  const latencies: number[] = [];
  const onArrive = (m: SinkMessage) => {
    const id = /^Message-ID:\s*(<[^>]+>)/im.exec(m.raw.subarray(0, 8192).toString('latin1'))?.[1];
    const t0 = id ? started.get(id) : undefined;
    if (t0 !== undefined) latencies.push(m.at - t0);
  };
  sink.onMessage = onArrive;
  const before = sink.messages.length;
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity, ignoreTLS: true });
  const t0 = Date.now();
  let next = 0;
  if (rate) {
    await Promise.all(
      msgs.map(async (m, i) => {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + (i * 1000) / rate - Date.now())));
        started.set(m.id, Date.now());
        await t.sendMail({ envelope: { from: 'sender@example.jp', to: [TO] }, raw: m.raw });
      }),
    );
  } else {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < msgs.length) {
          const m = msgs[next++];
          started.set(m.id, Date.now());
          await t.sendMail({ envelope: { from: 'sender@example.jp', to: [TO] }, raw: m.raw });
        }
      }),
    );
  }
  await sink.waitFor(before + msgs.length, 600_000);
  const wallMs = Date.now() - t0;
  t.close();
  return { name, wallMs, latencies: latencies.sort((a, b) => a - b) };
}

/** The baseline relay: accepts, forwards to the sink at once, answers with the sink's answer; stores nothing. */
async function passThroughRelay(sinkPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const out = nodemailer.createTransport({ host: '127.0.0.1', port: sinkPort, pool: true, maxConnections: CONCURRENCY, maxMessages: Infinity, ignoreTLS: true });
  const server = new SMTPServer({
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    logger: false,
    size: 100 * 1024 * 1024,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        out.sendMail({ envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address) }, raw: Buffer.concat(chunks) }).then(
          () => cb(),
          (e: Error) => cb(Object.assign(new Error(e.message), { responseCode: 451 })),
        );
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return { port, close: () => new Promise<void>((r) => server.close(() => (out.close(), r()))) };
}

async function main(): Promise<void> {
  const msgs = await messages();
  const mb = msgs.reduce((a, m) => a + m.raw.length, 0) / 1024 / 1024;
  const kinds = msgs.reduce<Record<string, number>>((a, m) => ((a[m.kind] = (a[m.kind] ?? 0) + 1), a), {});
  console.log(`bench:mail — ${N} messages (${mb.toFixed(1)} MB: ${Object.entries(kinds).map(([k, v]) => `${v} ${k}`).join(', ')}), ${CONCURRENCY} SMTP sessions, ${os.cpus().length} CPUs, node ${process.version}`);
  const fmt = (n: number, d = 1) => n.toFixed(d);
  const rateOf = (r: Row) => r.latencies.length / r.wallMs;
  // Burst: all 1,000 as fast as 20 sessions send them (throughput; latency is mostly waiting in line).
  // Paced: the same 1,000 at a steady PACED_RATE per second (latency of a loaded but not saturated path).
  for (const [label, rate] of [['burst (20 sessions, as fast as possible)', undefined], [`paced (${PACED_RATE} messages/s)`, PACED_RATE]] as const) {
    const rows: Row[] = [];
    {
      const sink = new Sink({ name: 'lgwan-mail-server' });
      const relay = await passThroughRelay(await sink.listen());
      rows.push(await drive('plain pass-through relay (no storage, no sanitizing)', relay.port, sink, msgs, rate));
      await relay.close();
      await sink.close();
    }
    for (const passThrough of [true, false]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mail-'));
      const p = await startLocalPath({ dir, pollMs: 50, passThrough, sanitizers: 2 });
      rows.push(await drive(passThrough ? 'durable path, sanitizer passes through' : 'durable path with sanitizing (this project)', p.gateway.port, p.lgwanServer, msgs, rate));
      await p.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    console.log('');
    console.log(`### ${label}`);
    console.log('| variant | messages | wall s | messages/s | p50 ms | p99 ms | max ms |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.name} | ${r.latencies.length} | ${fmt(r.wallMs / 1000, 2)} | ${fmt(rateOf(r) * 1000)} | ${fmt(pct(r.latencies, 50), 0)} | ${fmt(pct(r.latencies, 99), 0)} | ${fmt(r.latencies[r.latencies.length - 1] ?? 0, 0)} |`);
    const [plain, durable, full] = rows;
    console.log('');
    console.log(`sanitizing path vs plain pass-through: throughput ${fmt(rateOf(full) / rateOf(plain), 3)}×, p50 latency ${fmt(pct(full.latencies, 50) / Math.max(1, pct(plain.latencies, 50)), 1)}×, p99 latency ${fmt(pct(full.latencies, 99) / Math.max(1, pct(plain.latencies, 99)), 1)}×`);
    console.log(`sanitizing path vs the same durable path passing through: throughput ${fmt(rateOf(full) / rateOf(durable), 3)}×, p50 latency ${fmt(pct(full.latencies, 50) / Math.max(1, pct(durable.latencies, 50)), 1)}×, p99 latency ${fmt(pct(full.latencies, 99) / Math.max(1, pct(durable.latencies, 99)), 1)}×`);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench:mail: ${(e as Error).stack ?? e}`);
    process.exit(1);
  },
);
