import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { ISOLATED_ZONES, SHIPPED_CONFIGS, ZONES } from '../config';
import { awsManagedRepositoryBuckets } from '../lib/network/endpoint-policies';
import { internetScreenStackName, zoneStackName, securityCloudStackName, logArchiveBucketName } from '../lib/core/naming';
import { allTemplates, CfnTemplate, resources, synthShipped, tagValue } from './helpers/synth';
import { builtMunicipalities } from '../lib/scale/features';
import { pascal } from '../lib/core/naming';
import { zoneRuleViolations } from './helpers/zone-rules';
import { alphaPrimeMunicipalities } from '../lib/security-cloud/proxy';

const PATCH_SERVICES = ['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages'];

/**
 * Every zone rule of the foundation issue, asserted on the synthesized
 * templates of every shipped config. The same rules run against broken
 * templates in the last block, to show each one can fail.
 */
for (const name of Object.keys(SHIPPED_CONFIGS)) {
  describe(`zones of config "${name}"`, () => {
    const s = synthShipped(name);
    const cfg = s.config;

    test('one stack per municipality and zone, named <Config>-<Municipality>-<Zone>, plus the log archive and the security cloud (and, under β, each municipality\'s <Config>-<Municipality>-InternetScreen)', () => {
      const simulated = cfg.municipalities.some((m) => m.specificCommunications?.lgwanConnection.type === 'simulated') ? [`${cfg.name[0].toUpperCase()}${cfg.name.slice(1)}-LgwanNetwork-Simulated`] : [];
      // α′: each municipality's inspecting proxy in a security-cloud stack of its own; β: each municipality's InternetScreen stack.
      const proxies = alphaPrimeMunicipalities(cfg).map((m) => securityCloudStackName(cfg.name, `Proxy${m.code}`));
      const screen = cfg.municipalities.filter((m) => m.beta).map((m) => internetScreenStackName(zoneStackName(cfg.name, m.code, 'internet')));
      // rollout.method "shapes": the built municipalities' zone stacks (the others are shapes + parameter files); rollout.stackSets: the assets stack and one stack per wave.
      const rollout = cfg.rollout.stackSets ? [`${pascal(cfg.name)}-Rollout-Assets`, ...cfg.rollout.stackSets.waves.map((w) => `${pascal(cfg.name)}-Rollout-${w.prefecture}`)] : [];
      const expected = [...simulated, ...screen, securityCloudStackName(cfg.name, 'LogArchive'), securityCloudStackName(cfg.name, cfg.securityCloud.name), ...proxies, ...rollout, ...builtMunicipalities(cfg).flatMap((m) => ZONES.map((z) => zoneStackName(cfg.name, m.code, z)))];
      assert.deepEqual([...s.templates.keys()].sort(), expected.sort());
    });
    const all = allTemplates(s);

    for (const m of cfg.municipalities) {
      for (const zone of ZONES) {
        const stackName = zoneStackName(cfg.name, m.code, zone);
        describe(`${stackName}`, () => {
          const t = all.get(stackName)!;
          test('every zone rule holds', () => {
            assert.deepEqual(zoneRuleViolations(t, { zone, code: m.code, cidr: m.cidrs[zone], configName: cfg.name, region: m.region ?? cfg.region }), []);
          });
          test('VPC carries the zone CIDR and tags', () => {
            const vpcs = resources(t, 'AWS::EC2::VPC');
            assert.equal(vpcs.length, 1);
            assert.equal(vpcs[0][1].CidrBlock, m.cidrs[zone]);
          });
          test('subnets span every configured AZ', () => {
            const azs = new Set(resources(t, 'AWS::EC2::Subnet').map(([, p]) => p.AvailabilityZone));
            assert.deepEqual([...azs].sort(), [...(m.availabilityZones ?? cfg.availabilityZones)].sort());
          });
          if (zone === 'internet') {
            test('has attachment subnets ready for the security-cloud Transit Gateway', () => {
              const attach = resources(t, 'AWS::EC2::Subnet').filter(([, p]) => tagValue(p, 'aws-cdk:subnet-name') === 'attachment');
              assert.equal(attach.length, (m.availabilityZones ?? cfg.availabilityZones).length);
            });
          }
          if ((ISOLATED_ZONES as readonly string[]).includes(zone)) {
            test('interface endpoints for SSM, SSM messages, EC2 messages, KMS and CloudWatch Logs', () => {
              const services = resources(t, 'AWS::EC2::VPCEndpoint')
                .filter(([, p]) => p.VpcEndpointType === 'Interface')
                .map(([, p]) => String(p.ServiceName).replace(/^com\.amazonaws\.[a-z0-9-]+\./, ''))
                .filter((svc) => PATCH_SERVICES.includes(svc));
              assert.deepEqual(services.sort(), ['ec2messages', 'kms', 'logs', 'ssm', 'ssmmessages']);
            });
            test('interface endpoints sit in as many AZs as sizing says', () => {
              for (const [, p] of resources(t, 'AWS::EC2::VPCEndpoint').filter(([, p]) => p.VpcEndpointType === 'Interface' && PATCH_SERVICES.some((svc) => String(p.ServiceName).endsWith(`.${svc}`)))) {
                assert.equal(p.SubnetIds.length, cfg.sizing.interfaceEndpointAzs);
              }
            });
          }
        });
      }
    }

    describe('log archive', () => {
      const t = s.templates.get(securityCloudStackName(cfg.name, 'LogArchive'))!;
      const archive = resources(t, 'AWS::S3::Bucket').find(([, p]) => p.ObjectLockEnabled === true);
      test('has an object-locked bucket with the configured retention and mode', () => {
        assert.ok(archive, 'no bucket with object lock');
        const rule = archive![1].ObjectLockConfiguration.Rule.DefaultRetention;
        assert.equal(rule.Days, cfg.logArchive.retentionDays);
        assert.equal(rule.Mode, cfg.logArchive.objectLockMode);
        assert.equal(archive![1].ObjectLockConfiguration.ObjectLockEnabled, 'Enabled');
      });
      test('is KMS-encrypted with a rotated key', () => {
        const enc = archive![1].BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
        assert.equal(enc.SSEAlgorithm, 'aws:kms');
        assert.ok(enc.KMSMasterKeyID, 'names its key');
        const keys = resources(t, 'AWS::KMS::Key');
        assert.equal(keys.length, 1);
        assert.equal(keys[0][1].EnableKeyRotation, true);
      });
      test('is TLS-only and not public', () => {
        const [archiveId] = archive!;
        const policy = resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket.Ref === archiveId);
        assert.ok(policy, 'archive has a bucket policy');
        const denyInsecure = policy![1].PolicyDocument.Statement.find(
          (st: any) => st.Effect === 'Deny' && st.Condition?.Bool?.['aws:SecureTransport'] === 'false',
        );
        assert.ok(denyInsecure, 'denies requests without TLS');
        const pab = archive![1].PublicAccessBlockConfiguration;
        assert.deepEqual(pab, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      });
      test('has the deterministic name every zone delivers flow logs to', () => {
        const bucketName = JSON.stringify(archive![1].BucketName);
        assert.match(bucketName, new RegExp(`${cfg.name}-log-archive-`));
        assert.match(bucketName, new RegExp(`-${cfg.region}`));
      });
      test('lets VPC flow log delivery write only under its prefix', () => {
        const [archiveId] = archive!;
        const policy = resources(t, 'AWS::S3::BucketPolicy').find(([, p]) => p.Bucket.Ref === archiveId)!;
        const write = policy[1].PolicyDocument.Statement.find((st: any) => st.Sid === 'AWSLogDeliveryWrite');
        assert.equal(write.Principal.Service, 'delivery.logs.amazonaws.com');
        assert.match(JSON.stringify(write.Resource), /vpc-flow-logs\/\*/);
        // Pinned to the source accounts, or under rollout.stackSets to the organization (a list of every account passes the policy size limit).
        if (cfg.rollout.stackSets) assert.equal(write.Condition.StringEquals['aws:SourceOrgID'], cfg.rollout.stackSets.organizationId);
        else assert.ok(write.Condition.StringEquals['aws:SourceAccount'], 'pinned to source accounts');
      });
    });
  });
}

describe('the S3 gateway endpoint names the AWS repositories of its region', () => {
  test('Amazon Linux 2023 and SSM buckets are named in every zone', () => {
    const s = synthShipped('pilot');
    for (const [stackName, t] of s.templates) {
      if (!stackName.includes('-131016-')) continue;
      const gw = resources(t, 'AWS::EC2::VPCEndpoint').find(([, p]) => p.VpcEndpointType === 'Gateway');
      assert.ok(gw, `${stackName} has an S3 gateway endpoint`);
      const text = JSON.stringify(gw![1].PolicyDocument);
      for (const b of awsManagedRepositoryBuckets('ap-northeast-1').slice(0, 2)) assert.ok(text.includes(b), `${stackName} names ${b}`);
      assert.ok(text.includes(':s3:::pilot-*'), 'names the project buckets');
    }
  });
  test('every interface endpoint that admits office terminals can answer them: its subnets route each admitted office segment to the tier\'s gateway', () => {
    // An endpoint answers from its own subnet: without a route back to the terminal, the answer is dropped.
    let checked = 0;
    for (const name of ['pilot', 'alpha-prime', 'lab']) {
      const s = synthShipped(name);
      const offices = new Set(s.config.municipalities.flatMap((m) => Object.values(m.terminals).flatMap((t) => (t as { officeCidrs: string[] } | undefined)?.officeCidrs ?? [])));
      for (const [stackName, t] of s.templates) {
        const tableOf = (subnet: string) => resources(t, 'AWS::EC2::SubnetRouteTableAssociation').find(([, a]) => a.SubnetId?.Ref === subnet)?.[1].RouteTableId?.Ref as string | undefined;
        for (const [id, ep] of resources(t, 'AWS::EC2::VPCEndpoint')) {
          if (ep.VpcEndpointType !== 'Interface') continue;
          const sgs = (ep.SecurityGroupIds ?? []).map((x: any) => x['Fn::GetAtt']?.[0]).filter(Boolean) as string[];
          const admitted = sgs.flatMap((g) => (t.Resources[g]?.Properties?.SecurityGroupIngress ?? []).map((r: any) => r.CidrIp)).filter((c: string) => offices.has(c));
          if (!admitted.length) continue;
          for (const subnet of ep.SubnetIds.map((x: any) => x.Ref)) {
            const table = tableOf(subnet);
            assert.ok(table, `${stackName}/${id}: subnet ${subnet} has a route table`);
            for (const office of admitted) {
              const route = resources(t, 'AWS::EC2::Route').find(([, r]) => r.RouteTableId?.Ref === table && r.DestinationCidrBlock === office);
              assert.ok(route && route[1].GatewayId?.Ref && t.Resources[route[1].GatewayId.Ref].Type === 'AWS::EC2::VPNGateway', `${stackName}/${id} in ${subnet}: no route back to the office segment ${office} through the tier's gateway`);
            }
          }
          checked++;
        }
      }
    }
    assert.ok(checked >= 3, `checked ${checked} endpoints (X1 in lgwan, the α′ proxy endpoint, ...)`);
  });
  test('log archive bucket name helper matches the naming convention', () => {
    assert.equal(logArchiveBucketName('pilot', '123456789012', 'ap-northeast-1'), 'pilot-log-archive-123456789012-ap-northeast-1');
  });
});

// --- each zone rule fails on a deliberately broken template -----------------

function brokenCopy(): CfnTemplate {
  const s = synthShipped('pilot');
  return structuredClone(s.templates.get(zoneStackName('pilot', '131016', 'mynumber'))!);
}
const ctx = { zone: 'mynumber' as const, code: '131016', cidr: '10.1.0.0/20', configName: 'pilot', region: 'ap-northeast-1' };
function vpcId(t: CfnTemplate): string {
  return resources(t, 'AWS::EC2::VPC')[0][0];
}
const BREAKS: [string, (t: CfnTemplate) => void, RegExp][] = [
  ['internet gateway', (t) => (t.Resources.Igw = { Type: 'AWS::EC2::InternetGateway', Properties: {} }), /AWS::EC2::InternetGateway/],
  ['NAT gateway', (t) => (t.Resources.Nat = { Type: 'AWS::EC2::NatGateway', Properties: {} }), /AWS::EC2::NatGateway/],
  ['elastic IP', (t) => (t.Resources.Eip = { Type: 'AWS::EC2::EIP', Properties: {} }), /AWS::EC2::EIP/],
  ['VPC peering', (t) => (t.Resources.Peer = { Type: 'AWS::EC2::VPCPeeringConnection', Properties: {} }), /AWS::EC2::VPCPeeringConnection/],
  ['TGW attachment', (t) => (t.Resources.Att = { Type: 'AWS::EC2::TransitGatewayAttachment', Properties: {} }), /AWS::EC2::TransitGatewayAttachment/],
  ['default route', (t) => (t.Resources.R = { Type: 'AWS::EC2::Route', Properties: { DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-1' } }), /route R to 0\.0\.0\.0\/0/],
  ['public IP on launch', (t) => (resources(t, 'AWS::EC2::Subnet')[0][1].MapPublicIpOnLaunch = true), /assigns public IPs/],
  ['instance with public IP', (t) => (t.Resources.I = { Type: 'AWS::EC2::Instance', Properties: { NetworkInterfaces: [{ AssociatePublicIpAddress: true }] } }), /instance I has a public IP/],
  ['default SG left open', (t) => { for (const [id, r] of Object.entries(t.Resources)) if (r.Type === 'Custom::VpcRestrictDefaultSG') delete t.Resources[id]; }, /default security group is not closed/],
  ['flow log not ALL', (t) => (resources(t, 'AWS::EC2::FlowLog')[0][1].TrafficType = 'REJECT'), /flow log .* captures REJECT, not ALL/],
  ['flow log elsewhere', (t) => (resources(t, 'AWS::EC2::FlowLog')[0][1].LogDestination = 'arn:aws:s3:::someone-else'), /does not deliver to the log archive/],
  ['no flow log', (t) => { for (const [id] of resources(t, 'AWS::EC2::FlowLog')) delete t.Resources[id]; }, /no flow log of ALL traffic/],
  ['endpoint policy open to all', (t) => (resources(t, 'AWS::EC2::VPCEndpoint')[0][1].PolicyDocument = { Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] }), /open to every principal and every resource/],
  ['endpoint without policy', (t) => delete resources(t, 'AWS::EC2::VPCEndpoint')[0][1].PolicyDocument, /has no endpoint policy/],
  ['missing KMS endpoint', (t) => { const e = resources(t, 'AWS::EC2::VPCEndpoint').find(([, p]) => /kms$/.test(p.ServiceName))!; delete t.Resources[e[0]]; }, /missing interface endpoint kms/],
  ['zone tag missing', (t) => (resources(t, 'AWS::EC2::VPC')[0][1].Tags = []), new RegExp(`AWS::EC2::VPC .* lacks ThreeTier:Zone=mynumber`)],
  ['wrong municipality tag', (t) => (resources(t, 'AWS::EC2::Subnet')[0][1].Tags = [{ Key: 'ThreeTier:Zone', Value: 'mynumber' }, { Key: 'ThreeTier:Municipality', Value: '011002' }]), /lacks ThreeTier:Municipality=131016/],
  ['SG open to the world', (t) => (t.Resources.Sg = { Type: 'AWS::EC2::SecurityGroup', Properties: { VpcId: { Ref: vpcId(t) }, SecurityGroupIngress: [{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 22, ToPort: 22 }], Tags: [{ Key: 'ThreeTier:Zone', Value: 'mynumber' }, { Key: 'ThreeTier:Municipality', Value: '131016' }] } }), /security group Sg allows 0\.0\.0\.0\/0/],
];

describe('each zone rule catches a deliberately broken template', () => {
  test('the unbroken template passes', () => {
    assert.deepEqual(zoneRuleViolations(brokenCopy(), ctx), []);
  });
  for (const [label, breakIt, expected] of BREAKS) {
    test(label, () => {
      const t = brokenCopy();
      breakIt(t);
      const v = zoneRuleViolations(t, ctx);
      assert.ok(v.some((x) => expected.test(x)), `expected a violation matching ${expected}, got:\n  ${v.join('\n  ')}`);
    });
  }
});
