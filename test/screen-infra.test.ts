import { describe, test, expect } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validateConfig } from '../config';
import { pilot } from '../config/pilot';
import { CloudModel, readAssembly, StackInput } from '../lib/isolation/model';
import { runRules } from '../lib/isolation/rules';
import { screenBrokerCrossingFree } from '../lib/isolation/screen-rules';
import { ZoneIndex } from '../lib/isolation/zones';
import { readIntent } from '../lib/isolation/intent';
import { synthShipped } from './helpers/synth';

/**
 * The virtual browser in the templates: the DCV hosts authenticate with the
 * local token verifier and fail loudly; the sign-in broker is a
 * crossing-free lgwan service (ThreeTier-SB1), and each deliberately broken
 * broker is caught.
 */
const s = synthShipped('pilot');
const stacks = (): StackInput[] => JSON.parse(JSON.stringify(readAssembly(s.outdir).stacks));
const find = (st: StackInput[], suffix: string) => st.find((x) => x.name.endsWith(suffix))!;
const brokerSg = (st: StackInput[]) => Object.values(find(st, '-Lgwan').template.Resources!).find((r) => r.Type === 'AWS::EC2::SecurityGroup' && (r.Properties?.Tags ?? []).some((t: { Key: string; Value: string }) => t.Key === 'ThreeTier:Role' && t.Value === 'screen-broker'))!;
const sb1 = (st: StackInput[]) => {
  const model = new CloudModel(st);
  return runRules({ model, zones: new ZoneIndex(model) }, [screenBrokerCrossingFree]).map((f) => f.message);
};

describe('virtual browser in the templates (pilot)', () => {
  // The hosts' user data as the shell sees it (tokens resolved at deploy shown as <token>).
  const userData = () =>
    Object.entries(find(stacks(), '-Internet').template.Resources!)
      .filter(([id, r]) => r.Type === 'AWS::EC2::LaunchTemplate' && id.startsWith('ScreenTransfer'))
      .map(([, r]) => (r.Properties!.LaunchTemplateData.UserData['Fn::Base64']['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<token>')).join(''))
      .join('\n');

  test('DCV authenticates with the local verifier, one session per member of staff, no console session', () => {
    const ud = userData();
    expect(ud).toContain('[security]\nauth-token-verifier="http://127.0.0.1:8444"');
    expect(ud).toContain('create-session=false');
    expect(ud).not.toContain('automatic-console-session');
    expect(ud).toContain('SCREEN_AUDIENCE=three-tier-screen:pilot:131016');
    expect(ud).toContain('SCREEN_PUBLIC_KEYS={');
    expect(ud).toContain('7s8VHxGRV5e29hP_JZgCgjEzOIotgHSi-hD7aTKC6Gk');
    // The private key never appears in a template.
    for (const st of stacks()) expect(JSON.stringify(st.template)).not.toMatch(/"d":|BEGIN (EC )?PRIVATE KEY/);
  });

  test('a host without its browser fails loudly, and the NLB health-checks the host service', () => {
    const ud = userData();
    expect(ud).not.toMatch(/install (firefox|chromium)[^\n]*\|\|/);
    expect(ud).toContain('dnf -y install firefox');
    expect(ud).toContain('test -x /usr/bin/firefox');
    const tg = Object.values(find(stacks(), '-Internet').template.Resources!).find((r) => r.Type === 'AWS::ElasticLoadBalancingV2::TargetGroup' && r.Properties?.Port === 8443)!;
    expect(tg.Properties).toMatchObject({ HealthCheckProtocol: 'HTTP', HealthCheckPort: '8445', HealthCheckPath: '/healthz' });
  });

  test('the broker is in lgwan, admits the LGWAN office segment only and reaches only the identity provider', () => {
    const sg = brokerSg(stacks());
    expect(sg.Properties!.SecurityGroupIngress.map((r: { CidrIp: string; FromPort: number }) => `${r.CidrIp}:${r.FromPort}`)).toEqual(['192.168.20.0/24:443']);
    expect(sg.Properties!.SecurityGroupEgress.filter((r: { CidrIp?: string }) => r.CidrIp).map((r: { CidrIp: string }) => r.CidrIp).sort()).toEqual(['10.1.16.0/20', '192.168.20.10/32']);
    expect(sb1(stacks())).toEqual([]);
    const x1 = readIntent(s.outdir).crossings.find((c) => c.id === 'X1')!;
    expect(x1.enforcedBy.map((e) => e.constructPath)).toEqual(expect.arrayContaining(['Pilot-131016-Lgwan/ScreenBroker/Sg/Resource', 'Pilot-131016-Internet/ScreenTransfer/HostSg/Resource']));
  });

  const broken: [string, (st: StackInput[]) => void, RegExp][] = [
    ['reachable from the internet zone', (st) => brokerSg(st).Properties!.SecurityGroupIngress.push({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '10.1.32.0/20' }), /ingress from the internet zone of 131016/],
    ['reachable from everyone', (st) => brokerSg(st).Properties!.SecurityGroupIngress.push({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }), /ingress from 0\.0\.0\.0\/0: open/],
    ['reaching the internet zone', (st) => brokerSg(st).Properties!.SecurityGroupEgress.push({ IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, CidrIp: '10.1.32.0/20' }), /egress to the internet zone/],
    ['reaching anywhere', (st) => brokerSg(st).Properties!.SecurityGroupEgress.push({ IpProtocol: '-1', CidrIp: '0.0.0.0/0' }), /egress to 0\.0\.0\.0\/0/],
    [
      'a separate ingress rule from the internet zone',
      (st) => {
        const lg = find(st, '-Lgwan').template.Resources!;
        const id = Object.entries(lg).find(([, r]) => r === brokerSg(st))![0];
        lg.Mutant = { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: { 'Fn::GetAtt': [id, 'GroupId'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '10.1.32.0/22' } };
      },
      /ingress from the internet zone/,
    ],
    [
      'the broker moved into the internet zone',
      (st) => {
        const sg = brokerSg(st);
        const inet = find(st, '-Internet').template.Resources!;
        const vpcId = Object.entries(inet).find(([, r]) => r.Type === 'AWS::EC2::VPC')![0];
        inet.MovedBroker = { Type: 'AWS::EC2::SecurityGroup', Properties: { ...sg.Properties, VpcId: { Ref: vpcId } } };
      },
      /sign-in broker in the internet zone, not lgwan/,
    ],
  ];
  test.each(broken)('SB1 catches a broker %s', (_name, mutate, want) => {
    const st = stacks();
    mutate(st);
    const found = sb1(st);
    expect(found.some((m) => want.test(m))).toBe(true);
  });

  test('sign-in config: the key is public P-256 only, the token lives seconds, the active key is listed', () => {
    const si = pilot.screenTransfer!.signIn!;
    const bad = (patch: object) => () => validateConfig({ ...pilot, screenTransfer: { ...pilot.screenTransfer!, signIn: { ...si, ...patch } } } as never);
    expect(bad({ tokenTtlSeconds: 3600 })).toThrow(/tokenTtlSeconds.*at most 120 seconds/s);
    expect(bad({ activeKeyId: 'other' })).toThrow(/activeKeyId must name one of publicKeys/);
    expect(bad({ publicKeys: { k: { ...si.publicKeys['2026-12'], d: 'secret' } } })).toThrow(/publicKeys.k: has unknown field\(s\) "d"/);
    expect(bad({ issuer: 'http://sso.example/' })).toThrow(/https:\/\/ issuer URL/);
    expect(bad({ idpCidrs: [] })).toThrow(/address\(es\) of the identity provider/);
  });
});

test('the broker and host bundles exist in the assembly', () => {
  const assets = fs.readdirSync(s.outdir).filter((d) => d.startsWith('asset.'));
  const bundles = assets.flatMap((d) => (fs.statSync(path.join(s.outdir, d)).isDirectory() ? fs.readdirSync(path.join(s.outdir, d)) : []));
  expect(bundles).toEqual(expect.arrayContaining(['screen-host.js', 'screen-broker.js']));
});
