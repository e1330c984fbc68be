import { ThreeTierConfig, ZONES } from '../../config/schema';
import { channelHosts } from '../../config/updates';
import type { Crossing } from './intent';

/**
 * The updates feed's crossings (issue #19), added to the intent of every
 * municipality when `updates.channels` is not empty: X7 for the fetch hosts'
 * polls through the security cloud, X2-like objects for the hand-over
 * (internet writes updates/ of the inbound bucket; transfer verifies and
 * publishes), and X6 for each mirror's read of the updates bucket through its
 * tier's S3 endpoint.
 */
export function updatesCrossings(cfg: ThreeTierConfig, m: ThreeTierConfig['municipalities'][number], stackName: (code: string, zone: (typeof ZONES)[number]) => string, hubStack: string): Crossing[] {
  if (!cfg.updates.channels.length) return [];
  const internet = stackName(m.code, 'internet');
  const transfer = stackName(m.code, 'transfer');
  const hosts = channelHosts(cfg.updates);
  const updatesPolicy = { stack: transfer, constructPath: `${transfer}/Updates/Bucket/Policy/Resource`, role: 'updates bucket policy: written only by the verify-and-publish role through transfer, read through the isolated tiers\' endpoints' };
  const out: Crossing[] = [
    {
      id: 'X7',
      municipality: m.code,
      from: 'internet',
      to: 'public-internet',
      mechanism: 'tgw-firewall-nat',
      ports: [443],
      description: `the updates fetch hosts poll the channels' hosts (${hosts.join(', ')}) over HTTPS through the security cloud's firewall`,
      enforcedBy: [
        { stack: internet, constructPath: `${internet}/UpdatesFetch/Sg/Resource`, role: 'fetch hosts: HTTPS out only, no inbound' },
        { stack: hubStack, constructPath: `${hubStack}/Inspection/Domains`, role: 'firewall domain rules (an allowlist holds exactly the channels\' hosts)' },
      ],
    },
    {
      id: 'X2',
      municipality: m.code,
      from: 'internet',
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: 'the fetch hosts hand new artefacts over into the inbound bucket under updates/<channel>/ through internet\'s S3 endpoint (write only)',
      enforcedBy: [
        { stack: internet, constructPath: `${internet}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' },
        { stack: transfer, constructPath: `${transfer}/Sanitizer/Inbound/Policy/Resource`, role: 'inbound bucket policy: writes only through internet, reads only through transfer' },
      ],
    },
    {
      id: 'X2',
      municipality: m.code,
      from: 'transfer',
      to: 'aws-apis',
      mechanism: 'vpc-endpoint',
      ports: [443],
      services: ['s3', 'sqs'],
      description: 'the verify-and-publish hosts take updates/ events from their queue, check each artefact against the pinned anchors, and write the updates bucket or the quarantine, with an audit record in the log archive',
      enforcedBy: [
        { stack: transfer, constructPath: `${transfer}/UpdatesPublisher/Queue/Resource`, role: 'queue of updates/ object-created events' },
        { stack: transfer, constructPath: `${transfer}/Zone/Vpc/Sqs/Resource`, role: 'SQS interface endpoint (policy: the named queues only)' },
        updatesPolicy,
      ],
    },
  ];
  const tiers = cfg.updates.mirrorTiers.filter((z) => z === 'lgwan' || m.terminals.mynumber !== undefined);
  for (const tier of tiers) {
    const stack = stackName(m.code, tier);
    out.push({
      id: 'X6',
      municipality: m.code,
      from: tier,
      to: 'aws-apis',
      mechanism: 's3-gateway-endpoint',
      ports: [443],
      services: ['s3'],
      description: `the ${tier} updates mirror reads the updates bucket through ${tier}'s S3 endpoint and serves it over HTTPS to ${tier}'s own terminals and servers only`,
      enforcedBy: [
        { stack, constructPath: `${stack}/Zone/Vpc/S3/Resource`, role: 's3 gateway endpoint' },
        { stack, constructPath: `${stack}/UpdatesMirror/Sg/Resource`, role: `mirror security group: HTTPS from ${tier}'s office segments (or its zone) only` },
        updatesPolicy,
      ],
    });
  }
  return out;
}
