import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { synthShipped, resources, tagValue, CfnTemplate } from './helpers/synth';
import { check, freshAssembly, summary } from './helpers/assembly';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mailAddresses } from '../lib/crossings/mail';
import { IsolationIntent } from '../lib/isolation/intent';

/**
 * The mail crossings' infrastructure in the pilot: four host groups running
 * bin/mail.ts as systemd units, SMTP opened only where the crossing table
 * says, the X3/X4 buckets pinned to their endpoints, the MX routing each
 * municipal domain to the relay's fixed addresses.
 */
const CODE = '131016';
const stack = (s: ReturnType<typeof synthShipped>, suffix: string): CfnTemplate => [...s.templates.entries()].find(([n]) => n.endsWith(suffix))![1];
const sgs = (t: CfnTemplate, re: RegExp) => resources(t, 'AWS::EC2::SecurityGroup').filter(([, g]) => re.test(g.GroupDescription));
const ingress = (t: CfnTemplate, [id, g]: [string, any]) => [
  ...(g.SecurityGroupIngress ?? []),
  ...resources(t, 'AWS::EC2::SecurityGroupIngress').filter(([, i]) => i.GroupId?.['Fn::GetAtt']?.[0] === id).map(([, i]) => i),
];
const egress = (t: CfnTemplate, [id, g]: [string, any]) => [
  ...(g.SecurityGroupEgress ?? []),
  ...resources(t, 'AWS::EC2::SecurityGroupEgress').filter(([, e]) => e.GroupId?.['Fn::GetAtt']?.[0] === id).map(([, e]) => e),
];
const launchTemplate = (t: CfnTemplate, role: string) => resources(t, 'AWS::EC2::LaunchTemplate').map(([, l]) => JSON.stringify(l)).find((l) => l.includes(`MAIL_ROLE=${role}`));

describe('mail infrastructure (pilot)', () => {
  const s = synthShipped('pilot');
  const m = s.config.municipalities[0];

  test('sender authentication and DKIM: the gateway is told its authserv-id and DMARC action; the relay gets the DKIM selector and the secret\'s name (never the key) and may read only that secret', () => {
    const gw = launchTemplate(stack(s, 'SecurityCloud-Tokyo'), 'gateway')!;
    assert.match(gw, /MAIL_AUTHSERV_ID=mx\.tokyo\.pilot\.three-tier/);
    assert.match(gw, /MAIL_DMARC_REJECT_ACTION=reject/);
    const internet = stack(s, `${CODE}-Internet`);
    const relay = launchTemplate(internet, 'internet-relay')!;
    assert.match(relay, /MAIL_DKIM_SELECTOR=tt2026/);
    assert.match(relay, /MAIL_DKIM_SECRET_ID=three-tier\/131016\/dkim-tt2026/);
    assert.doesNotMatch(JSON.stringify([...s.templates.values()]), /BEGIN (RSA )?PRIVATE KEY/, 'no private key in any template');
    const policy = resources(internet, 'AWS::IAM::Policy').map(([, p]) => p.PolicyDocument.Statement).flat().find((st: any) => st.Sid === 'DkimKey');
    assert.deepEqual(policy.Action, 'secretsmanager:GetSecretValue');
    assert.match(JSON.stringify(policy.Resource), /secret:three-tier\/131016\/dkim-tt2026-\?\?\?\?\?\?/);
  });

  test('each role is an auto-scaling group running bin/mail.ts as the systemd unit three-tier-mail, fetched from a CDK asset', () => {
    const where: [string, string, string][] = [
      ['gateway', 'SecurityCloud-Tokyo', 'mail-gateway'],
      ['internet-relay', `${CODE}-Internet`, 'internet-relay'],
      ['mail-sanitizer', `${CODE}-Transfer`, 'mail-sanitizer'],
      ['lgwan-ingester', `${CODE}-Lgwan`, 'lgwan-ingester'],
    ];
    for (const [role, suffix, tag] of where) {
      const t = stack(s, suffix);
      const lt = launchTemplate(t, role);
      assert.ok(lt, `${role}: a launch template in ${suffix}`);
      assert.match(lt!, /ExecStart=\/usr\/bin\/node \/opt\/three-tier-mail\/mail\.js/);
      assert.match(lt!, /systemctl enable --now three-tier-mail/);
      assert.match(lt!, /aws s3 cp ",\{"Fn::Sub":"s3:\/\/cdk-[a-z0-9]+-assets-[^"]*\.zip"\}/);
      assert.ok(resources(t, 'AWS::AutoScaling::AutoScalingGroup').some(([, g]) => tagValue(g, 'ThreeTier:Role') === tag), `${role}: group tagged ${tag}`);
    }
  });

  test('the MX routes each municipal domain to the internet relay\'s fixed NLB addresses, which the relay NLB really has', () => {
    const hub = stack(s, 'SecurityCloud-Tokyo');
    const lt = launchTemplate(hub, 'gateway')!;
    const addresses = mailAddresses(s.config, m, 'internet');
    assert.equal(addresses.length, s.config.availabilityZones.length);
    const routes = JSON.parse(JSON.parse(`"${/MAIL_ROUTES=(\{.*?\})\\n/.exec(lt)![1]}"`));
    assert.deepEqual(routes, { [m.mail!.domains[0]]: addresses.map((a) => `${a}:25`).join(',') });
    const inet = stack(s, `${CODE}-Internet`);
    const nlb = resources(inet, 'AWS::ElasticLoadBalancingV2::LoadBalancer').find(([id]) => id.startsWith('MailRelay'))![1];
    assert.equal(nlb.Scheme, 'internal');
    assert.deepEqual(nlb.SubnetMappings.map((x: any) => x.PrivateIPv4Address), addresses);
    assert.match(lt, /MAIL_TLS_CERT=\/etc\/three-tier-mail\/tls\.crt/, 'STARTTLS offered at the MX');
    assert.match(lt, new RegExp(`MAIL_MAX_BYTES=${s.config.mail.maxMessageBytes}`));
  });

  test('SMTP is open only where the crossing table says', () => {
    const inet = stack(s, `${CODE}-Internet`);
    const relayHosts = sgs(inet, /^Internet mail relay:/)[0];
    const relayNlb = sgs(inet, /^Internet mail relay NLB/)[0];
    assert.deepEqual(ingress(inet, relayNlb).map((r) => `${r.CidrIp}:${r.FromPort}`), [`${s.config.securityCloud.cidr}:25`]);
    assert.ok(ingress(inet, relayHosts).every((r) => r.FromPort === 25 && (r.CidrIp === s.config.securityCloud.cidr || r.SourceSecurityGroupId)));
    // Outbound SMTP to the internet (X4 → X7), HTTPS to endpoints and S3, and HTTPS through X7 to Secrets Manager (the DKIM key at start): nothing else.
    assert.deepEqual(egress(inet, relayHosts).map((r) => `${r.CidrIp ?? (r.DestinationPrefixListId ? 'prefix-list' : '?')}:${r.FromPort}`).sort(), ['0.0.0.0/0:25', '0.0.0.0/0:443', `${m.cidrs.internet}:443`, 'prefix-list:443'].sort());
    const lgwan = stack(s, `${CODE}-Lgwan`);
    const ingHosts = sgs(lgwan, /^LGWAN mail ingester:/)[0];
    assert.ok(ingress(lgwan, ingHosts).every((r) => r.FromPort === 25 && (r.CidrIp === `${m.mail!.lgwanMailServer}/32` || r.SourceSecurityGroupId)));
    assert.deepEqual(egress(lgwan, ingHosts).map((r) => `${r.CidrIp ?? 'prefix-list'}:${r.FromPort}`).sort(), [`${m.mail!.lgwanMailServer}/32:25`, `${m.specificCommunications!.mailPeer}/32:25`, `${m.cidrs.lgwan}:443`, 'prefix-list:443'].sort());
    const transfer = stack(s, `${CODE}-Transfer`);
    const sanHosts = sgs(transfer, /^Mail sanitizer hosts/)[0];
    assert.deepEqual(ingress(transfer, sanHosts), [], 'the mail sanitizer takes no connections: work arrives as objects');
    assert.ok(egress(transfer, sanHosts).every((r) => r.FromPort === 443));
  });

  test('X3 and X4 buckets: mail-text written only by the mail sanitizer through transfer and consumed only through lgwan; outbound written only through lgwan and read only through internet', () => {
    const transfer = stack(s, `${CODE}-Transfer`);
    const bucket = (role: string, crossing: string) => resources(transfer, 'AWS::S3::Bucket').find(([, b]) => tagValue(b, 'ThreeTier:Role') === role && tagValue(b, 'ThreeTier:Crossing') === crossing)!;
    const policy = (id: string) => resources(transfer, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket?.Ref === id)![1].PolicyDocument.Statement as any[];
    const vpces = (st: any) => [st.Condition.StringNotEquals['aws:SourceVpce']].flat().map((v: any) => JSON.stringify(v));
    const [textId] = bucket('sanitized', 'X3');
    const text = policy(textId);
    assert.equal(vpces(text.find((x) => x.Sid === 'WritesOnlyFromTransfer')).length, 1);
    assert.match(vpces(text.find((x) => x.Sid === 'ReadsOnlyFromLgwan'))[0], /ImportValue.*Lgwan/);
    assert.equal(vpces(text.find((x) => x.Sid === 'DeletesOnlyFromTransferAndLgwan')).length, 2);
    assert.match(JSON.stringify(text.find((x) => x.Sid === 'WritesOnlyByMailSanitizer').Condition), /MailSanitizerRole/);
    const [outId] = bucket('outbound', 'X4');
    const out = policy(outId);
    assert.match(vpces(out.find((x) => x.Sid === 'WritesOnlyFromLgwan'))[0], /ImportValue.*Lgwan/);
    assert.match(vpces(out.find((x) => x.Sid === 'ReadsOnlyFromInternet'))[0], /ImportValue.*Internet/);
    assert.match(vpces(out.find((x) => x.Sid === 'DeletesOnlyFromInternet'))[0], /ImportValue.*Internet/);
    // The quarantine keeps mail originals: the mail sanitizer may write it too.
    const [qId] = resources(transfer, 'AWS::S3::Bucket').find(([, b]) => tagValue(b, 'ThreeTier:Role') === 'quarantine')!;
    assert.match(JSON.stringify(policy(qId).find((x) => x.Sid === 'WritesOnlyBySanitizer').Condition), /MailSanitizerRole/);
  });

  test('the mail sanitizer is queue-driven: mail/ events of the inbound bucket, a dead-letter queue, scaling on queue depth', () => {
    const transfer = stack(s, `${CODE}-Transfer`);
    const q = resources(transfer, 'AWS::SQS::Queue').find(([id, x]) => id.startsWith('MailSanitizerQueue') && x.RedrivePolicy)!;
    assert.ok(q[1].RedrivePolicy.deadLetterTargetArn);
    const scaling = resources(transfer, 'AWS::AutoScaling::ScalingPolicy').map(([, p]) => JSON.stringify(p)).filter((p) => p.includes(q[0]));
    assert.ok(scaling.some((p) => /ApproximateNumberOfMessagesVisible/.test(p)));
    const sqsEp = resources(transfer, 'AWS::EC2::VPCEndpoint').find(([, e]) => JSON.stringify(e.ServiceName).includes('.sqs'))!;
    assert.match(JSON.stringify(sqsEp[1].PolicyDocument), new RegExp(q[0]));
  });

  test('the pilot (with mail) matches its intent, which lists X3 and X4', () => {
    const d = freshAssembly('pilot');
    const r = check(d);
    assert.deepEqual(summary(r), { rules: [], analyzer: [] });
    const intent = JSON.parse(fs.readFileSync(path.join(d, 'isolation-intent.json'), 'utf8')) as IsolationIntent;
    const ids = intent.crossings.filter((c) => c.municipality === CODE).map((c) => `${c.id} ${c.from}→${c.to}`);
    for (const x of ['X3 security-cloud→internet', 'X3 internet→aws-apis', 'X3 transfer→aws-apis', 'X3 lgwan→aws-apis', 'X4 lgwan→aws-apis', 'X4 internet→aws-apis', 'X4 lgwan→lgwan-network']) assert.ok(ids.includes(x), `${x} in ${ids.join(', ')}`);
  });
});
