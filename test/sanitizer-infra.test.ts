import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { synthShipped, resources, tagValue, CfnTemplate } from './helpers/synth';
import { check, editTemplate, freshAssembly, readTemplate, summary, zoneStack } from './helpers/assembly';

const CODE = '131016';

/** The X2 buckets, queue, endpoint and hosts in the transfer stack of a shipped config. */
function transferOf(config: string): CfnTemplate {
  const s = synthShipped(config);
  const name = [...s.templates.keys()].find((n) => n.endsWith(`-${CODE}-Transfer`) || /-\d{6}-Transfer$/.test(n))!;
  return s.templates.get(name)!;
}

/** The X2 bucket of a role (the mail crossings have a `sanitized` bucket of their own, tagged X3). */
const bucketByRole = (t: CfnTemplate, role: string) => resources(t, 'AWS::S3::Bucket').find(([, r]) => tagValue(r, 'ThreeTier:Role') === role && tagValue(r, 'ThreeTier:Crossing') === 'X2')!;
const policyOf = (t: CfnTemplate, bucketId: string) => resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket?.Ref === bucketId)![1].PolicyDocument.Statement as any[];
const denyVpces = (st: any) => [st?.Condition?.StringNotEquals?.['aws:SourceVpce']].flat();

describe('X2 infrastructure: buckets, queue, endpoint and sanitizer hosts in transfer', () => {
  for (const config of ['pilot', 'lab']) {
    test(`${config}: inbound, sanitized and quarantine buckets are KMS-encrypted, TLS-only, versioned and pinned to their endpoints`, () => {
      const t = transferOf(config);
      for (const role of ['inbound', 'sanitized', 'quarantine']) {
        const [id, b] = bucketByRole(t, role);
        assert.equal(tagValue(b, 'ThreeTier:Crossing'), 'X2');
        assert.equal(b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm, 'aws:kms');
        assert.equal(b.VersioningConfiguration.Status, 'Enabled');
        const st = policyOf(t, id);
        assert.ok(st.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'), `${role}: TLS only`);
        assert.ok(st.some((s) => s.Effect === 'Deny' && s.Action === 's3:*' && denyVpces(s).length >= 1), `${role}: pinned`);
      }
      const [inId] = bucketByRole(t, 'inbound');
      const inbound = policyOf(t, inId);
      // Writes only through the internet zone's endpoint (imported from the internet stack), reads only through transfer's.
      const writes = inbound.find((s) => s.Sid === 'WritesOnlyFromInternet');
      assert.ok(writes && 'Fn::ImportValue' in denyVpces(writes)[0], JSON.stringify(writes));
      const reads = inbound.find((s) => s.Sid === 'ReadsOnlyFromTransfer');
      assert.ok(reads && 'Ref' in denyVpces(reads)[0]);
      const [saId] = bucketByRole(t, 'sanitized');
      const sanitized = policyOf(t, saId);
      assert.ok(denyVpces(sanitized.find((s) => s.Sid === 'WritesOnlyFromTransfer'))[0].Ref);
      assert.equal(denyVpces(sanitized.find((s) => s.Sid === 'OnlyThroughTransferAndLgwan')).length, 2, 'transfer writes, lgwan reads');
      assert.ok(denyVpces(sanitized.find((s) => s.Sid === 'ReadsOnlyFromLgwan'))[0]['Fn::ImportValue'], 'only lgwan reads sanitized files');
      const onlyRole = sanitized.find((s) => s.Sid === 'WritesOnlyBySanitizer');
      assert.equal(onlyRole.Effect, 'Deny');
      assert.match(JSON.stringify(onlyRole.Condition.ArnNotEquals['aws:PrincipalArn']), /SanitizerRole[0-9A-F]+","Arn"/);
      const [quId, qu] = bucketByRole(t, 'quarantine');
      assert.ok(policyOf(t, quId).some((s) => s.Sid === 'WritesOnlyBySanitizer'));
      assert.equal(qu.LifecycleConfiguration.Rules[0].ExpirationInDays, 90);
      assert.equal(denyVpces(policyOf(t, quId).find((s) => s.Sid === 'OnlyThroughTransfer')).length, 1);
    });
  }

  test('object-created events go to a queue with a dead-letter queue; the SQS endpoint names only these queues', () => {
    const t = transferOf('pilot');
    const [, inbound] = bucketByRole(t, 'inbound');
    const qc = inbound.NotificationConfiguration.QueueConfigurations[0];
    assert.equal(qc.Event, 's3:ObjectCreated:*');
    // Files (users/) and mail (mail/) go to different queues.
    assert.deepEqual(qc.Filter.S3Key.Rules, [{ Name: 'prefix', Value: 'users/' }]);
    assert.deepEqual(inbound.NotificationConfiguration.QueueConfigurations[1].Filter.S3Key.Rules, [{ Name: 'prefix', Value: 'mail/' }]);
    const queues = resources(t, 'AWS::SQS::Queue');
    const main = queues.find(([id, q]) => q.RedrivePolicy && id.startsWith('Sanitizer'))!;
    assert.deepEqual(qc.Queue, { 'Fn::GetAtt': [main[0], 'Arn'] });
    assert.equal(main[1].RedrivePolicy.maxReceiveCount, 5);
    assert.ok(queues.every(([, q]) => q.SqsManagedSseEnabled === true));
    const policy = resources(t, 'AWS::SQS::QueuePolicy').find(([, p]) => JSON.stringify(p).includes('s3.amazonaws.com'))!;
    assert.match(JSON.stringify(policy[1].PolicyDocument), /aws:SourceArn.*pilot-131016-inbound-/);
    const sqsEp = resources(t, 'AWS::EC2::VPCEndpoint').find(([, e]) => JSON.stringify(e.ServiceName).includes('.sqs'))!;
    const doc = JSON.stringify(sqsEp[1].PolicyDocument);
    assert.match(doc, /sqs:ReceiveMessage/);
    assert.doesNotMatch(doc, /"Resource":"\*"/);
  });

  test('the sanitizer hosts scale on queue depth and run the worker as a systemd unit fetched from a CDK asset', () => {
    const t = transferOf('pilot');
    const [, group] = resources(t, 'AWS::AutoScaling::AutoScalingGroup').find(([, g]) => tagValue(g, 'ThreeTier:Role') === 'sanitizer' || JSON.stringify(g.Tags ?? []).includes('sanitizer'))!;
    assert.equal(group.MinSize, '1');
    const scaling = resources(t, 'AWS::AutoScaling::ScalingPolicy').map(([, p]) => JSON.stringify(p));
    assert.ok(scaling.some((p) => /TargetTrackingConfiguration/.test(p) && /ApproximateNumberOfMessagesVisible/.test(p)), scaling.join('\n'));
    const lt = resources(t, 'AWS::EC2::LaunchTemplate').map(([, l]) => JSON.stringify(l)).find((l) => l.includes('three-tier-sanitizer'))!;
    assert.match(lt, /ExecStart=\/usr\/bin\/node \/opt\/three-tier-sanitizer\/sanitizer-worker\.js/);
    assert.match(lt, /aws s3 cp ",\{"Fn::Sub":"s3:\/\/cdk-[a-z0-9]+-assets-[^"]*\.zip"\}/);
    assert.match(lt, /systemctl enable --now three-tier-sanitizer/);
    // The bundle is fetched through the S3 gateway endpoint, whose policy admits the CDK asset bucket read-only.
    const s3Ep = resources(t, 'AWS::EC2::VPCEndpoint').find(([, e]) => e.VpcEndpointType === 'Gateway')![1];
    const cdkAssets = s3Ep.PolicyDocument.Statement.find((st: any) => st.Sid === 'CdkAssetsReadOnly');
    assert.deepEqual(cdkAssets.Action, 's3:GetObject');
    const sgs = resources(t, 'AWS::EC2::SecurityGroup').filter(([, g]) => /Sanitizer hosts/.test(g.GroupDescription));
    assert.equal(sgs.length, 1);
    assert.ok(!JSON.stringify(sgs[0][1]).includes('0.0.0.0/0'), 'no open egress in the isolated zone');
    const egress = resources(t, 'AWS::EC2::SecurityGroupEgress').filter(([, e]) => e.GroupId?.['Fn::GetAtt']?.[0] === sgs[0][0]);
    assert.ok(egress.some(([, e]) => e.DestinationPrefixListId && e.FromPort === 443), 'S3 by its prefix list (looked up at deploy time)');
  });

  test('staff path: browser downloads on the SBC hosts go to the inbound bucket under users/<login>/; the pickup page runs in lgwan for LGWAN terminals', () => {
    const s = synthShipped('pilot');
    const internet = s.templates.get(`Pilot-${CODE}-Internet`)!;
    const sbcLt = resources(internet, 'AWS::EC2::LaunchTemplate').map(([, l]) => JSON.stringify(l)).find((l) => l.includes('dcvserver'))!;
    // The hand-off is the host service's (lib/screen/handoff.ts): each user's downloads to users/<login>/ of the inbound bucket.
    assert.match(sbcLt, /three-tier-screen\.service/);
    assert.match(sbcLt, /SCREEN_INBOUND_BUCKET=pilot-131016-inbound-/);
    const sbcPolicy = resources(internet, 'AWS::IAM::Policy').map(([, p]) => JSON.stringify(p)).find((p) => p.includes('DownloadsToSanitizer'))!;
    assert.match(sbcPolicy, /pilot-131016-inbound-.*\/users\/\*/);
    const lgwan = s.templates.get(`Pilot-${CODE}-Lgwan`)!;
    const pickupSg = resources(lgwan, 'AWS::EC2::SecurityGroup').find(([, g]) => /Pickup page/.test(g.GroupDescription))![1];
    const office = s.config.municipalities[0].terminals.lgwan!.officeCidrs;
    assert.deepEqual(pickupSg.SecurityGroupIngress.map((r: any) => `${r.CidrIp}:${r.FromPort}`).sort(), office.map((c) => `${c}:443`).sort());
    const pickupPolicy = resources(lgwan, 'AWS::IAM::Policy').map(([, p]) => JSON.stringify(p)).find((p) => p.includes('ReadSanitized'))!;
    assert.match(pickupPolicy, /pilot-131016-sanitized-.*\/users\/\*/);
    assert.doesNotMatch(pickupPolicy, /s3:PutObject/, 'the pickup page only reads');
    const pickupLt = resources(lgwan, 'AWS::EC2::LaunchTemplate').map(([, l]) => JSON.stringify(l)).find((l) => l.includes('three-tier-pickup'))!;
    assert.match(pickupLt, /ExecStart=\/usr\/bin\/node \/opt\/three-tier-pickup\/pickup\.js/);
    assert.match(pickupLt, /PICKUP_IDENTITY=oidc/, 'the pilot page signs staff in itself (test/pickup-infra.test.ts covers the modes)');
  });

  test('the pilot assembly matches its intent with the X2 crossings of transfer and lgwan', () => {
    const r = check(freshAssembly('pilot'));
    assert.equal(r.verdict, 'match', JSON.stringify(summary(r)));
  });
});

describe('X2 infrastructure: broken templates are caught', () => {
  const sanitizedPolicy = (t: CfnTemplate) => {
    const [id] = bucketByRole(t, 'sanitized');
    return resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket?.Ref === id)![1].PolicyDocument;
  };
  test('the sanitized bucket loses its "writes only from transfer" Deny → S3P2', () => {
    const d = freshAssembly('pilot');
    editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      const doc = sanitizedPolicy(t);
      doc.Statement = doc.Statement.filter((s: any) => s.Sid !== 'WritesOnlyFromTransfer');
    });
    const r = check(d);
    assert.deepEqual(summary(r).rules, ['ThreeTier-S3P2']);
    assert.match(r.pack.findings[0].message, /no Deny statement keeps writes to the transfer zone's endpoint/);
  });
  test('lgwan may write the sanitized bucket → S3P2', () => {
    const d = freshAssembly('pilot');
    editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      const doc = sanitizedPolicy(t);
      const w = doc.Statement.find((s: any) => s.Sid === 'WritesOnlyFromTransfer');
      const both = doc.Statement.find((s: any) => s.Sid === 'OnlyThroughTransferAndLgwan');
      w.Condition.StringNotEquals['aws:SourceVpce'] = both.Condition.StringNotEquals['aws:SourceVpce'];
    });
    assert.deepEqual(summary(check(d)).rules, ['ThreeTier-S3P2']);
  });
  test('the inbound bucket without its endpoint pins → S3P1', () => {
    const d = freshAssembly('pilot');
    editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      const [id] = bucketByRole(t, 'inbound');
      const doc = resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket?.Ref === id)![1].PolicyDocument;
      doc.Statement = doc.Statement.filter((s: any) => !s.Condition?.StringNotEquals?.['aws:SourceVpce']);
    });
    assert.deepEqual(summary(check(d)).rules, ['ThreeTier-S3P1']);
  });
  test('an SQS endpoint in lgwan (outside the crossing) → the analyzer reports a forbidden reach', () => {
    const d = freshAssembly('pilot');
    const transfer = readTemplate(d, zoneStack(d, CODE, 'transfer'));
    const sqsEp = resources(transfer, 'AWS::EC2::VPCEndpoint').find(([, e]) => JSON.stringify(e.ServiceName).includes('.sqs'))![1];
    editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      const [vpc] = resources(t, 'AWS::EC2::VPC')[0];
      const subnets = resources(t, 'AWS::EC2::Subnet').slice(0, 1).map(([k]) => ({ Ref: k }));
      t.Resources.SqsEndpoint = { Type: 'AWS::EC2::VPCEndpoint', Properties: { ...sqsEp, VpcId: { Ref: vpc }, SubnetIds: subnets, SecurityGroupIds: undefined } };
    });
    const r = check(d);
    assert.ok(summary(r).analyzer.some((a) => /FORBIDDEN-REACH.*lgwan@131016 reaches aws-api:sqs/i.test(a) || /lgwan@131016 reaches aws-api:sqs/.test(a)), JSON.stringify(summary(r)));
  });
});
