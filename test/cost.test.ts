import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pilot } from '../config/pilot';
import { CostError, estimateCost, loadPrices, PriceTable } from '../lib/cost/model';
import { readAssembly } from '../lib/isolation/model';
import { synth, synthShipped } from './helpers/synth';

const prices = loadPrices('ap-northeast-1');
const stacksOf = (outdir: string) => readAssembly(outdir).stacks;

describe('cost model (dated price table × resources in the synthesized templates)', () => {
  test('the price table is dated, regional and sourced, and covers what the issue names', () => {
    assert.match(prices.recorded, /^\d{4}-\d{2}-\d{2}$/);
    assert.equal(prices.region, 'ap-northeast-1');
    for (const key of ['networkFirewall.endpointHour', 'natGateway.hour', 'transitGateway.attachmentHour', 'vpcEndpoint.interfaceAzHour', 'nlb.hour', 'ec2.c6i.large', 'ec2.c6i.xlarge', 'ec2.t3.micro', 'appstream.stream.standard.medium', 'appstream.userMonth']) {
      const item = prices.items[key];
      assert.ok(item, key);
      assert.match(item.source, /^https:\/\/aws\.amazon\.com\//, key);
    }
  });

  test('pilot: each line is the count of its resources in the templates times the price', () => {
    const s = synthShipped('pilot');
    const e = estimateCost(stacksOf(s.outdir), prices);
    const H = prices.hoursPerMonth;
    const line = (group: string, item: string) => e.lines.filter((l) => l.group === group && l.item === item).reduce((n, l) => n + l.quantity, 0);
    const azs = s.config.availabilityZones.length;
    assert.equal(line('security-cloud', 'networkFirewall.endpointHour'), azs);
    assert.equal(line('security-cloud', 'natGateway.hour'), azs);
    assert.equal(line('security-cloud', 'ec2.c6i.large'), s.config.securityCloud.mailGateway.minHosts);
    // Interface endpoints: 5 services × the configured endpoint AZs in mynumber, lgwan and transfer, the sanitizer's SQS endpoint in transfer, plus the X1 consumer endpoint in lgwan in every AZ.
    const eAz = s.config.sizing.interfaceEndpointAzs;
    assert.equal(line('131016', 'vpcEndpoint.interfaceAzHour'), 3 * 5 * eAz + eAz + azs);
    // The sanitizer hosts (X2) at their minimum, and the one pickup host in lgwan, next to the screen-transfer hosts.
    // The mail roles (relay, mail sanitizer, ingester) run one host each at minimum, on the same type here.
    assert.equal(s.config.mail.instanceTypes[0], s.config.sanitizer.instanceTypes[0]);
    // The updates feed (#19): one fetch host, one verify-and-publish host, and a mirror in lgwan and in mynumber;
    // and the virtual browser's sign-in broker in lgwan (one host, the pickup page's type).
    assert.equal(line('131016', `ec2.${s.config.sanitizer.instanceTypes[0]}`), s.config.sanitizer.minHosts + 1 + 3 + 4 + (s.config.screenTransfer.signIn ? 1 : 0));
    assert.equal(line('131016', `ec2.${s.config.screenTransfer.instanceTypes[0]}`), s.config.screenTransfer.prewarmed);
    assert.equal(line('131016', 'transitGateway.attachmentHour'), 1);
    const sum = e.lines.filter((l) => l.group === '131016').reduce((n, l) => n + l.monthly, 0);
    assert.ok(Math.abs(sum - e.municipalities['131016']) < 0.05);
    assert.ok(Math.abs(line('security-cloud', 'networkFirewall.endpointHour') * prices.items['networkFirewall.endpointHour'].price * H - e.lines.find((l) => l.item === 'networkFirewall.endpointHour')!.monthly) < 0.01);
    assert.ok(e.usageBased['AWS::S3::Bucket'] > 0, 'buckets are usage-based, listed not priced');
  });

  test('the 47 problem: shared vs per prefecture vs per municipality, at 1, 47 and 1,741', () => {
    const e = estimateCost(stacksOf(synthShipped('pilot').outdir), prices);
    const S = e.securityCloud;
    const M = e.averageMunicipality;
    const row = (n: number) => e.fortySeven.find((r) => r.municipalities === n)!;
    assert.deepEqual(e.fortySeven.map((r) => r.municipalities), [1, 47, 1741]);
    assert.ok(Math.abs(row(1741).shared - (S / 1741 + M)) < 0.01);
    assert.ok(Math.abs(row(1741).perPrefecture - ((47 * S) / 1741 + M)) < 0.01);
    assert.ok(Math.abs(row(47).perPrefecture - (S + M)) < 0.01);
    assert.equal(row(1).shared, row(1).perMunicipality);
    assert.ok(row(1741).shared < row(1741).perPrefecture && row(1741).perPrefecture < row(1741).perMunicipality);
  });

  test('the estimate follows the config: fewer endpoint AZs cost exactly that much less', () => {
    const cfg = structuredClone(pilot) as any;
    cfg.sizing = { ...(cfg.sizing ?? {}), interfaceEndpointAzs: 1 };
    const one = estimateCost(stacksOf(synth(cfg).outdir), prices);
    const two = estimateCost(stacksOf(synthShipped('pilot').outdir), prices);
    const perAz = prices.items['vpcEndpoint.interfaceAzHour'].price * prices.hoursPerMonth;
    // The 15 X6 endpoints and the sanitizer's SQS endpoint lose one AZ each (the X1 consumer endpoint stays in every AZ).
    assert.ok(Math.abs(two.municipalities['131016'] - one.municipalities['131016'] - 16 * perAz) < 0.05, `${two.municipalities['131016']} - ${one.municipalities['131016']}`);
    assert.equal(one.securityCloud, two.securityCloud);
  });

  test('streaming per user: AppStream and the DCV virtual browser each get a per-user figure with its basis', () => {
    const cfg = structuredClone(pilot) as any;
    cfg.screenTransfer = { ...cfg.screenTransfer, implementation: 'appstream', appstreamImageName: 'virtual-browser-image' };
    const e = estimateCost(stacksOf(synth(cfg).outdir), prices);
    const hours = prices.assumptions.streamingHoursPerUserMonth.value;
    const as = e.streamingPerUser.find((x) => /AppStream/.test(x.label) && /virtual browser/.test(x.label));
    assert.ok(as, JSON.stringify(e.streamingPerUser));
    const type = String(cfg.screenTransfer.appstreamInstanceType ?? 'stream.standard.medium');
    assert.ok(Math.abs(as.monthly - (prices.items[`appstream.${type}`].price * hours + prices.items['appstream.userMonth'].price)) < 0.01);
    const dcv = estimateCost(stacksOf(synthShipped('pilot').outdir), prices).streamingPerUser.find((x) => x.label.startsWith('X1'));
    assert.ok(dcv && dcv.monthly > 0 && /sessions per host/.test(dcv.basis));
  });

  test('a price the table lacks, or a malformed table, is a clear error naming the item and the file', () => {
    const stacks = stacksOf(synthShipped('pilot').outdir);
    const { ['natGateway.hour']: _drop, ...rest } = prices.items;
    void _drop;
    assert.throws(() => estimateCost(stacks, { ...prices, items: rest } as PriceTable), (e: Error) => e instanceof CostError && /no "natGateway\.hour" \(needed for NAT gateways\); add it to prices\.ap-northeast-1\.json/.test(e.message));
    assert.throws(() => loadPrices('eu-west-9'), /no price table for region eu-west-9 .* the repo has ap-northeast-1/);
    const dir = path.join(__dirname, '..', 'lib', 'cost');
    const bad = path.join(dir, 'prices.test-broken-1.json');
    fs.writeFileSync(bad, JSON.stringify({ ...prices, region: 'test-broken-1', recorded: 'last week', items: { x: { price: -1, unit: '', source: 'http://x', checked: 'trust me' } } }));
    try {
      assert.throws(() => loadPrices('test-broken-1'), (e: Error) => /recorded must be a date/.test(e.message) && /items\.x\.price must be a positive number/.test(e.message) && /items\.x\.source must be an https URL/.test(e.message) && /items\.x\.checked/.test(e.message));
    } finally {
      fs.rmSync(bad);
    }
  });
});
