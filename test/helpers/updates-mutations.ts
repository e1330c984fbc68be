import { editTemplate, resourcesOf, subnetIds, zoneStack } from './assembly';

/**
 * Broken templates for the updates feed's checks (issue #19), run with the
 * other mutations in test/isolation.test.ts (same cached synth of the pilot).
 */
export interface UpdatesMutation {
  label: string;
  apply: (dir: string) => void;
  rules?: string[];
  analyzer?: RegExp[];
}

const CODE = '131016';
const tag = (r: any, key: string) => (r.Properties?.Tags ?? []).find((t: any) => t.Key === key)?.Value;
const mirrorSg = (t: any): any => resourcesOf(t, 'AWS::EC2::SecurityGroup').find(([, r]) => tag(r, 'ThreeTier:Role') === 'updates-mirror')![1];
const updatesPolicy = (t: any): any => Object.values<any>(t.Resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && JSON.stringify(r).includes('WritesOnlyByPublisher'))!;

export const UPDATES_MUTATIONS: UpdatesMutation[] = [
  {
    label: 'updates: the lgwan mirror admits HTTPS from the internet zone',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      mirrorSg(t).Properties.SecurityGroupIngress.push({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '10.1.32.0/20' });
    }),
    rules: ['ThreeTier-UP1'],
    analyzer: [/lgwan@131016 admits traffic from internet@131016 via security-group \(ports 443\)/],
  },
  {
    label: 'updates: the mynumber mirror admits the LGWAN terminals\' office segment (another tier)',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'mynumber'), (t) => {
      t.Resources.MirrorFromLgwanOffice = { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: { 'Fn::GetAtt': [resourcesOf(t, 'AWS::EC2::SecurityGroup').find(([, r]) => tag(r, 'ThreeTier:Role') === 'updates-mirror')![0], 'GroupId'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '192.168.20.0/24' } };
    }),
    rules: ['ThreeTier-UP1'],
  },
  {
    label: 'updates: a fetch host group in transfer',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      t.Resources.FetchInTransfer = { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MinSize: '1', MaxSize: '1', VPCZoneIdentifier: subnetIds(t, 'workload').map((s) => ({ Ref: s })), Tags: [{ Key: 'ThreeTier:Role', Value: 'updates-fetch', PropagateAtLaunch: true }] } };
    }),
    rules: ['ThreeTier-UP2'],
  },
  {
    label: 'updates: an untagged launch template in lgwan that installs the fetch service',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
      const sg = resourcesOf(t, 'AWS::EC2::SecurityGroup').find(([, r]) => tag(r, 'ThreeTier:Role') === 'updates-mirror')![0];
      t.Resources.FetchInLgwan = { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { SecurityGroupIds: [{ 'Fn::GetAtt': [sg, 'GroupId'] }], UserData: { 'Fn::Base64': 'systemctl enable --now three-tier-updates-fetch' } } } };
    }),
    rules: ['ThreeTier-UP2'],
  },
  {
    label: 'updates: the updates bucket loses its "writes only from transfer" Deny',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      const p = updatesPolicy(t);
      p.Properties.PolicyDocument.Statement = p.Properties.PolicyDocument.Statement.filter((st: any) => st.Sid !== 'WritesOnlyFromTransfer');
    }),
    rules: ['ThreeTier-UP3'],
  },
  {
    label: 'updates: the updates bucket may be written through lgwan\'s endpoint',
    apply: (d) => editTemplate(d, zoneStack(d, CODE, 'transfer'), (t) => {
      const st = updatesPolicy(t).Properties.PolicyDocument.Statement;
      const readers = st.find((x: any) => x.Sid === 'OnlyThroughTheZonesEndpoints').Condition.StringNotEquals['aws:SourceVpce'];
      const w = st.find((x: any) => x.Sid === 'WritesOnlyFromTransfer');
      w.Condition.StringNotEquals['aws:SourceVpce'] = [w.Condition.StringNotEquals['aws:SourceVpce'], ...readers.filter((v: any) => JSON.stringify(v).includes('Lgwan'))];
      st.push({ Sid: 'LgwanMayPublish', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:PutObject', Resource: w.Resource, Condition: { StringEquals: { 'aws:SourceVpce': readers.filter((v: any) => JSON.stringify(v).includes('Lgwan')) } } });
    }),
    rules: ['ThreeTier-UP3'],
  },
];
