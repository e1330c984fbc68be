import * as path from 'path';
import { FsQueue, runWorker } from '../sanitizer/worker';
import { FsBlobStore } from './store';
import { RetryPolicy } from './outbox';
import { MAIL_PREFIX, Running, sanitizeMailJob, smarthost, startGateway, startIngester, startInternetRelay } from './roles';
import { Sink } from './sink';
import { SenderAuthOptions } from './sender-auth';

/**
 * The whole mail path on 127.0.0.1, with folders for buckets and queue:
 * gateway → internet relay → inbound → mail sanitizer → sanitized →
 * LGWAN ingester → LGWAN mail server (a sink); the ingester's outbound
 * mail → LGWAN network (a sink) or outbound → internet relay → internet (a
 * sink). Used by `npm run demo:mail`, the end-to-end tests and the benchmark.
 */
export interface LocalPathOptions {
  readonly dir: string;
  readonly gatewayPort?: number;
  /** The municipality's internet mail domains (accepted by the MX). */
  readonly domains?: string[];
  readonly ownLgwanDomains?: string[];
  readonly lgwanDomains?: string[];
  readonly maxBytes?: number;
  readonly retry?: RetryPolicy;
  readonly pollMs?: number;
  readonly tls?: { key: Buffer; cert: Buffer };
  /** Sinks write each message as a file (the demo). */
  readonly sinkFiles?: boolean;
  readonly answer?: { lgwan?: ConstructorParameters<typeof Sink>[0]['answer']; internet?: ConstructorParameters<typeof Sink>[0]['answer'] };
  readonly log?: (line: string) => void;
  /** Benchmark baseline: the mail sanitizer passes messages through unchanged. */
  readonly passThrough?: boolean;
  /** Mail sanitizer workers in parallel (one per host in AWS). */
  readonly sanitizers?: number;
  /** The MX gateway's sender authentication (with a stub resolver: there is no DNS here). */
  readonly senderAuth?: SenderAuthOptions;
  /** The internet relay's DKIM signer for outbound mail. */
  readonly sign?: (raw: Buffer) => Promise<Buffer>;
}

export interface LocalPath {
  readonly gateway: Running;
  readonly relay: Running;
  readonly ingester: Running;
  readonly lgwanServer: Sink;
  readonly lgwanNetwork: Sink;
  readonly internet: Sink;
  readonly domains: string[];
  readonly stores: Record<'spool' | 'inbound' | 'outbound' | 'sanitized' | 'quarantine' | 'audit' | 'relayState' | 'ingesterState', FsBlobStore>;
  close(): Promise<void>;
}

export const DEMO_DOMAINS = { internet: ['city.chiyoda.example.jp'], own: ['city.chiyoda.lg.jp'], lgwan: ['lg.jp'] };

export async function startLocalPath(o: LocalPathOptions): Promise<LocalPath> {
  const log = o.log ?? (() => undefined);
  const domains = o.domains ?? DEMO_DOMAINS.internet;
  const d = (name: string) => path.join(o.dir, name);
  const queue = new FsQueue(d('queue'), 5);
  const stores = {
    spool: new FsBlobStore(d('security-cloud-spool')),
    inbound: new FsBlobStore(d('inbound'), (key) => key.startsWith(MAIL_PREFIX) && void queue.send(JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: 'inbound' }, object: { key } } }] }))),
    outbound: new FsBlobStore(d('outbound')),
    sanitized: new FsBlobStore(d('sanitized')),
    quarantine: new FsBlobStore(d('quarantine')),
    audit: new FsBlobStore(d('log-archive')),
    relayState: new FsBlobStore(d('internet-relay-state')),
    ingesterState: new FsBlobStore(d('lgwan-ingester-state')),
  };
  const lgwanServer = new Sink({ name: 'lgwan-mail-server', dir: o.sinkFiles ? d('sink-lgwan-mail-server') : undefined, answer: o.answer?.lgwan });
  const lgwanNetwork = new Sink({ name: 'lgwan-network', dir: o.sinkFiles ? d('sink-lgwan-network') : undefined });
  const internet = new Sink({ name: 'internet', dir: o.sinkFiles ? d('sink-internet') : undefined, answer: o.answer?.internet });
  const [lgwanPort, netPort, internetPort] = [await lgwanServer.listen(), await lgwanNetwork.listen(), await internet.listen()];
  const common = { maxBytes: o.maxBytes ?? 25 * 1024 * 1024, retry: o.retry, pollMs: o.pollMs ?? 200, log, tls: o.tls };
  const toInternet = smarthost({ host: '127.0.0.1', port: internetPort });
  const relay = await startInternetRelay({ ...common, hostname: 'relay.internet.local', domains, inbound: stores.inbound, outbound: stores.outbound, state: stores.relayState, internet: toInternet, sign: o.sign }, 0);
  const gateway = await startGateway({ ...common, hostname: 'mx.security-cloud.local', routes: Object.fromEntries(domains.map((x) => [x, [{ host: '127.0.0.1', port: relay.port }]])), spool: stores.spool, internet: toInternet, senderAuth: o.senderAuth }, o.gatewayPort ?? 0);
  const ingester = await startIngester(
    {
      ...common,
      hostname: 'ingester.lgwan.local',
      sanitized: stores.sanitized,
      outbound: stores.outbound,
      state: stores.ingesterState,
      lgwanMailServer: [{ host: '127.0.0.1', port: lgwanPort }],
      lgwanNetwork: [{ host: '127.0.0.1', port: netPort }],
      lgwanDomains: o.lgwanDomains ?? DEMO_DOMAINS.lgwan,
      ownDomains: o.ownLgwanDomains ?? DEMO_DOMAINS.own,
    },
    0,
  );
  let stopped = false;
  const sanitizer = Promise.all(
    Array.from({ length: o.sanitizers ?? 1 }, () =>
      runWorker({
        queue,
        handle: (job) => sanitizeMailJob(job, { inbound: stores.inbound, sanitized: stores.sanitized, quarantine: stores.quarantine, audit: stores.audit, auditPrefix: 'mail-audit/', reporter: 'sanitizer.transfer.local', passThrough: o.passThrough }),
        log,
        stopped: () => stopped,
        idleSleepMs: o.pollMs ?? 200,
        batch: 10,
      }),
    ),
  );
  return {
    gateway,
    relay,
    ingester,
    lgwanServer,
    lgwanNetwork,
    internet,
    domains,
    stores,
    async close() {
      stopped = true;
      await Promise.all([gateway.close(), relay.close(), ingester.close()]);
      await sanitizer;
      await Promise.all([lgwanServer.close(), lgwanNetwork.close(), internet.close()]);
    },
  };
}
