import { describe, test, expect, beforeAll } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { syntheticConfig } from '../config/layout';
import { withCheckDigit } from '../config/codes';
import { ThreeTierConfigInput } from '../config/schema';
import { validateConfig } from '../config';
import { national } from '../config/national';
import { readShapesIndex, ShapesIndex } from '../lib/scale/assembly';
import { QUOTAS } from '../lib/scale/stacksets';
import { PARAMETER_BINDINGS } from '../lib/isolation/cfn/resolve';
import { TENANT_DEFAULTS_TYPE } from '../lib/isolation/analyzer';
import { check, editTemplate, freshAssembly, readTemplate, summary } from './helpers/assembly';
import { CfnTemplate, synth, synthShipped, Synthesized } from './helpers/synth';

/**
 * rollout.stackSets (#17): a multi-account config synthesizes, offline, one
 * stack per prefecture wave holding one service-managed stack set per zone
 * shape and one instance group per municipality (the prefecture OU
 * intersected with its account, its values as parameter overrides); the
 * hub's ids reach the stack sets as references to the hub stack, and the
 * hub takes tenant attachments by its default route tables, so nobody copies
 * an id. Every template stays within the CloudFormation quotas.
 */

type Json = any;

function stackSets(t: CfnTemplate): [string, Json][] {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === 'AWS::CloudFormation::StackSet').map(([id, r]) => [id, r.Properties]);
}

function manifestOf(dir: string): Json {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
}

/** The file a stack set's TemplateURL points to, from the stack's asset manifest. */
function templateFileOf(dir: string, stack: string, url: Json): string {
  const text = JSON.stringify(url);
  const assets = JSON.parse(fs.readFileSync(path.join(dir, `${stack}.assets.json`), 'utf8'));
  const hit = Object.values<Json>(assets.files).find((f) => text.includes(Object.values<Json>(f.destinations)[0].objectKey));
  if (!hit) throw new Error(`${stack}: no asset for ${text}`);
  return path.join(dir, hit.source.path);
}

/** Every template of an assembly: name, resources, parameters, bytes. */
function templateSizes(dir: string): { name: string; resources: number; parameters: number; bytes: number }[] {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(dir, f));
  const shapes = path.join(dir, 'shapes');
  if (fs.existsSync(shapes)) files.push(...fs.readdirSync(shapes).filter((f) => f.endsWith('.template.json')).map((f) => path.join(shapes, f)));
  return files.map((f) => {
    const t = JSON.parse(fs.readFileSync(f, 'utf8'));
    return { name: path.relative(dir, f), resources: Object.keys(t.Resources ?? {}).length, parameters: Object.keys(t.Parameters ?? {}).length, bytes: fs.statSync(f).size };
  });
}

/** A stackSets config of `n` synthetic municipalities: every one in an account of its own, every prefecture a wave. */
function stackSetConfig(n: number, name = `ss-${n}`): ThreeTierConfigInput {
  const base = syntheticConfig(n, name);
  const prefectures = [...new Set(base.municipalities.map((m) => m.code.slice(0, 2)))].sort();
  return {
    ...base,
    account: '200000000000',
    securityCloud: { ...base.securityCloud, account: '200000000000' },
    rollout: {
      method: 'shapes',
      stackSets: {
        organizationId: 'o-exampleorg1',
        managementAccount: '100000000000',
        waves: prefectures.map((p) => ({ prefecture: p, organizationalUnitId: `ou-jp00-pref00${p}` })),
      },
    },
    municipalities: base.municipalities.map((m, i) => ({ ...m, account: String(300000000000 + i + 1) })),
  };
}

describe('national: StackSets waves, offline', () => {
  let s: Synthesized;
  let index: ShapesIndex;
  beforeAll(() => {
    s = synthShipped('national');
    index = readShapesIndex(s.outdir);
  });

  test('one rollout stack per prefecture wave, in config order, each after the one before, the assets stack and the hub', () => {
    const ss = s.config.rollout.stackSets!;
    expect(ss.waves).toHaveLength(47);
    const manifest = manifestOf(s.outdir);
    let previous: string | undefined;
    for (const w of ss.waves) {
      const name = `National-Rollout-${w.prefecture}`;
      const deps: string[] = manifest.artifacts[name].dependencies;
      expect(deps).toEqual(expect.arrayContaining(['National-Rollout-Assets', 'National-SecurityCloud-Japan', ...(previous ? [previous] : [])]));
      previous = name;
    }
  });

  test('each municipality is one instance of each of its four zone shapes: its prefecture OU intersected with its account, its own values as overrides', () => {
    const ss = s.config.rollout.stackSets!;
    const seen: string[] = [];
    for (const w of ss.waves) {
      const t = s.templates.get(`National-Rollout-${w.prefecture}`)!;
      const sets = stackSets(t);
      expect(sets).toHaveLength(4);
      for (const [, p] of sets) {
        expect(p.PermissionModel).toBe('SERVICE_MANAGED');
        expect(p.CallAs).toBe('DELEGATED_ADMIN');
        // Overrides are not applied to auto-deployed instances (cloudformation-coverage-roadmap#1291): off.
        expect(p.AutoDeployment).toEqual({ Enabled: false });
        expect(p.OperationPreferences).toEqual({ MaxConcurrentPercentage: 25, FailureTolerancePercentage: 0, RegionConcurrencyType: 'SEQUENTIAL' });
        // The zone templates refuse a direct deploy; only the stack sets say "stackset".
        expect(p.Parameters).toContainEqual({ ParameterKey: 'ThreeTierDeployedBy', ParameterValue: 'stackset' });
        const classId = String(p.StackSetName).replace(`national-${w.prefecture}-`, '');
        const shape = index.classes.find((c) => c.id === classId)!;
        expect(shape).toBeDefined();
        // The template deployed is the shape of this assembly, byte for byte.
        const file = templateFileOf(s.outdir, `National-Rollout-${w.prefecture}`, p.TemplateURL);
        expect(fs.readFileSync(file, 'utf8')).toBe(fs.readFileSync(path.join(s.outdir, 'shapes', shape.template), 'utf8'));
        for (const g of p.StackInstancesGroup) {
          expect(g.DeploymentTargets.OrganizationalUnitIds).toEqual([w.organizationalUnitId]);
          expect(g.DeploymentTargets.AccountFilterType).toBe('INTERSECTION');
          expect(g.DeploymentTargets.Accounts).toHaveLength(1);
          expect(g.Regions).toEqual(['ap-northeast-1']);
          const m = s.config.municipalities.find((x) => x.account === g.DeploymentTargets.Accounts[0])!;
          expect(m.code.slice(0, 2)).toBe(w.prefecture);
          const member = shape.members.find((x) => x.code === m.code)!;
          const values = JSON.parse(fs.readFileSync(path.join(s.outdir, 'shapes', member.parametersFile), 'utf8')).Parameters;
          expect(Object.fromEntries(g.ParameterOverrides.map((o: Json) => [o.ParameterKey, o.ParameterValue]))).toEqual(values);
          seen.push(`${m.code}/${shape.zone}`);
        }
      }
    }
    expect(seen.sort()).toEqual(s.config.municipalities.flatMap((m) => ['internet', 'lgwan', 'mynumber', 'transfer'].map((z) => `${m.code}/${z}`)).sort());
  });

  test('a zone stack of the assembly refuses a direct cdk deploy (its Rule needs the stack sets\' parameter)', () => {
    for (const c of index.classes) {
      const t = JSON.parse(fs.readFileSync(path.join(s.outdir, 'shapes', c.template), 'utf8'));
      expect(t.Parameters.ThreeTierDeployedBy).toMatchObject({ Default: 'cdk-deploy', AllowedValues: ['cdk-deploy', 'stackset'] });
      expect(t.Rules.DeployedByStackSet.Assertions[0].Assert).toEqual({ 'Fn::Equals': [{ Ref: 'ThreeTierDeployedBy' }, 'stackset'] });
      expect(t.Rules.DeployedByStackSet.Assertions[0].AssertDescription).toMatch(/deploy National-Rollout-<prefecture> instead/);
    }
  });

  test("the hub's ids reach the internet shape as references to the hub stack (no id is copied), and the shape binds them to the hub's resources", () => {
    const t = s.templates.get('National-Rollout-13')!;
    const [, internet] = stackSets(t).find(([, p]) => String(p.StackSetName).includes('-internet-'))!;
    const hubParams = Object.fromEntries(internet.Parameters.filter((x: Json) => String(x.ParameterKey).startsWith('Hub')).map((x: Json) => [x.ParameterKey, x.ParameterValue]));
    expect(Object.keys(hubParams).sort()).toEqual(['HubDnsFirewallRuleGroupId', 'HubTransitGatewayId']);
    for (const v of Object.values(hubParams)) expect(String((v as Json)['Fn::ImportValue'])).toMatch(/^National-SecurityCloud-Japan:/);
    const shape = JSON.parse(fs.readFileSync(path.join(s.outdir, 'shapes', index.classes.find((c) => c.zone === 'internet')!.template), 'utf8'));
    const bindings = shape.Metadata[PARAMETER_BINDINGS];
    const hub = readTemplate(s.outdir, 'National-SecurityCloud-Japan');
    expect(hub.Resources[bindings.HubTransitGatewayId.logicalId].Type).toBe('AWS::EC2::TransitGateway');
    expect(hub.Resources[bindings.HubDnsFirewallRuleGroupId.logicalId].Type).toBe('AWS::Route53Resolver::FirewallRuleGroup');
    // The export the override imports is the same hub resource the binding names.
    const exportOf = (name: string) => Object.values<Json>(hub.Outputs ?? {}).find((o) => o.Export?.Name === name)?.Value;
    expect(exportOf(hubParams.HubTransitGatewayId['Fn::ImportValue'])).toEqual({ Ref: bindings.HubTransitGatewayId.logicalId });
    expect(exportOf(hubParams.HubDnsFirewallRuleGroupId['Fn::ImportValue'])).toEqual({ 'Fn::GetAtt': [bindings.HubDnsFirewallRuleGroupId.logicalId, 'Id'] });
  });

  test('the hub has no resource per tenant: shared with the prefecture OUs, attachments taken by its default tables (tenants, firewall)', () => {
    const hub = readTemplate(s.outdir, 'National-SecurityCloud-Japan');
    const types = Object.values(hub.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::EC2::TransitGatewayRouteTableAssociation')).toHaveLength(2); // firewall, egress
    const share = Object.values(hub.Resources).find((r) => r.Type === 'AWS::RAM::ResourceShare')!;
    expect(share.Properties!.Principals).toHaveLength(47);
    for (const p of share.Properties!.Principals) expect(JSON.stringify(p)).toMatch(/:organizations::100000000000:ou\/o-exampleorg1\/ou-jp00-pref00\d\d"/);
    const defaults = Object.values(hub.Resources).filter((r) => r.Type === TENANT_DEFAULTS_TYPE);
    expect(defaults).toHaveLength(1);
    // The log archive admits deliveries for the organization, not a list of every account (20 kB bucket policy limit).
    const archive = JSON.stringify(readTemplate(s.outdir, 'National-SecurityCloud-LogArchive'));
    expect(archive).toContain('"aws:SourceOrgID":"o-exampleorg1"');
    for (const m of s.config.municipalities) expect(archive).not.toContain(m.account!);
  });

  test('zone templates name the org-readable asset bucket, not a CDK bootstrap bucket, and the assets stack carries every object they name', () => {
    const keys = new Set<string>();
    for (const c of index.classes) {
      const text = fs.readFileSync(path.join(s.outdir, 'shapes', c.template), 'utf8');
      expect(text).not.toMatch(/cdk-hnb659fds/);
      expect(text).not.toMatch(/BootstrapVersion/);
      // Lambda code (S3Key) and host bundles (s3:// URLs in user data).
      for (const m of text.matchAll(/\b([0-9a-f]{64}\.zip)\b/g)) keys.add(m[1]);
      expect(text).toMatch(/national-ss-assets-200000000000-ap-northeast-1/);
    }
    expect(keys.size).toBeGreaterThan(0);
    const assets = readTemplate(s.outdir, 'National-Rollout-Assets');
    const bucket = Object.values(assets.Resources).find((r) => r.Type === 'AWS::S3::Bucket')!;
    expect(bucket.Properties!.BucketName).toBe('national-ss-assets-200000000000-ap-northeast-1');
    const policy = JSON.stringify(Object.values(assets.Resources).find((r) => r.Type === 'AWS::S3::BucketPolicy')!.Properties);
    expect(policy).toContain('"aws:PrincipalOrgID":"o-exampleorg1"');
    // The deployment's source folder holds exactly the objects the shapes name.
    const am = JSON.parse(fs.readFileSync(path.join(s.outdir, 'National-Rollout-Assets.assets.json'), 'utf8'));
    const dirs = Object.values<Json>(am.files).map((f) => path.join(s.outdir, f.source.path)).filter((p) => fs.statSync(p).isDirectory());
    const folder = dirs.find((d) => fs.readdirSync(d).some((f) => keys.has(f)))!;
    expect(new Set(fs.readdirSync(folder))).toEqual(keys);
  });

  test('the isolation check passes for all 47 municipalities, and fails closed without the tenant defaults, with them pointing elsewhere, or with a bound parameter unbound', () => {
    const dir = freshAssembly('national');
    const ok = check(dir);
    expect(summary(ok)).toEqual({ rules: [], analyzer: [] });
    const hubName = 'National-SecurityCloud-Japan';
    const defaultsId = (t: CfnTemplate) => Object.entries(t.Resources).find(([, r]) => r.Type === TENANT_DEFAULTS_TYPE)![0];

    // Without the defaults, no tenant attachment is associated: every internet zone loses its way out.
    const a = freshAssembly('national');
    editTemplate(a, hubName, (t) => delete t.Resources[defaultsId(t)]);
    const ra = check(a);
    const broken = ra.analyzer.findings.filter((f) => f.kind === 'broken-crossing' && f.crossing === 'X7' && f.zone === 'internet');
    expect(new Set(broken.map((f) => f.municipality)).size).toBe(47);

    // Tenants associated with the firewall table: out to the internet without inspection.
    const b = freshAssembly('national');
    editTemplate(b, hubName, (t) => {
      const r = t.Resources[defaultsId(t)] as Json;
      const fw = Object.entries(t.Resources).find(([id, x]) => x.Type === 'AWS::EC2::TransitGatewayRouteTable' && id.startsWith('HubFirewallTable'))![0];
      for (const k of ['Create', 'Update']) r.Properties[k] = JSON.parse(JSON.stringify(r.Properties[k]).replace(/HubTenantsTable[0-9A-F]{8}/g, fw));
    });
    const rb = check(b);
    const uninspected = rb.analyzer.findings.filter((f) => f.kind === 'uninspected-path' && f.zone === 'internet');
    expect(new Set(uninspected.map((f) => f.municipality)).size).toBe(47);

    // A parameter whose binding is removed cannot be resolved: the check does not guess.
    const c = freshAssembly('national');
    const shapeFile = path.join(c, 'shapes', readShapesIndex(c).classes.find((x) => x.zone === 'internet')!.template);
    const shape = JSON.parse(fs.readFileSync(shapeFile, 'utf8'));
    delete shape.Metadata[PARAMETER_BINDINGS].HubTransitGatewayId;
    fs.writeFileSync(shapeFile, JSON.stringify(shape));
    const rc = check(c);
    const unverifiable = rc.analyzer.findings.filter((f) => f.kind === 'unverifiable-path' && /HubTransitGatewayId has no default and no value/.test(f.message));
    expect(new Set(unverifiable.map((f) => f.municipality)).size).toBe(47);

    // The defaults as the Transit Gateway really gets them: an Update that sets other tables than Create, or any other
    // deploy-time call that modifies the Transit Gateway, and the analysis refuses to guess.
    const e = freshAssembly('national');
    editTemplate(e, hubName, (t) => {
      const r = t.Resources[defaultsId(t)] as Json;
      const fw = Object.keys(t.Resources).find((id) => id.startsWith('HubFirewallTable'))!;
      r.Properties.Update = JSON.parse(JSON.stringify(r.Properties.Create).replace(/HubTenantsTable[0-9A-F]{8}/g, fw));
    });
    expect(() => check(e)).toThrow(/its Create and Update calls set different default tables/);
    const f = freshAssembly('national');
    editTemplate(f, hubName, (t) => {
      const r = structuredClone(t.Resources[defaultsId(t)]) as Json;
      r.Type = 'Custom::AWS';
      t.Resources.RogueModify = r;
    });
    expect(() => check(f)).toThrow(/RogueModify \(Custom::AWS\): a deploy-time call modifies a Transit Gateway/);

    // A binding is a claim, checked against what supplies the value: a stack set passing another Transit Gateway id
    // (here an override in one wave, as a literal) leaves the parameter unresolved everywhere it is bound.
    const d = freshAssembly('national');
    editTemplate(d, 'National-Rollout-13', (t) => {
      for (const r of Object.values(t.Resources) as Json[]) {
        if (r.Type !== 'AWS::CloudFormation::StackSet') continue;
        for (const g of r.Properties.StackInstancesGroup) g.ParameterOverrides.push({ ParameterKey: 'HubTransitGatewayId', ParameterValue: 'tgw-0123456789abcdef0' });
      }
    });
    const rd = check(d);
    const claimed = rd.analyzer.findings.filter((f) => f.kind === 'unverifiable-path' && /a stack set in National-Rollout-13 passes "tgw-0123456789abcdef0", not that resource's id/.test(f.message));
    expect(new Set(claimed.map((f) => f.municipality)).size).toBe(47);
    expect(rd.verdict).toBe('mismatch');
  });
});

describe('quotas', () => {
  test('national: every template, shapes included, within 500 resources, 200 parameters and 1 MB; fewer than 1,000 stack sets, one OU each', () => {
    const s = synthShipped('national');
    // 47 tenants: one MX egress rule per tenant (within the default 60 rules per group).
    const hub = readTemplate(s.outdir, 'National-SecurityCloud-Japan');
    const mx = Object.values(hub.Resources).find((r) => r.Type === 'AWS::EC2::SecurityGroup' && /MX gateway hosts/.test(r.Properties!.GroupDescription))!;
    expect(mx.Properties!.SecurityGroupEgress.filter((e: Json) => e.FromPort === 25).map((e: Json) => e.CidrIp).sort()).toEqual(s.config.municipalities.map((m) => m.cidrs.internet).sort());
    const sizes = templateSizes(s.outdir);
    const largest = [...sizes].sort((a, b) => b.resources - a.resources)[0];
    const mostParameters = [...sizes].sort((a, b) => b.parameters - a.parameters)[0];
    console.log(`national: largest template ${largest.name} (${largest.resources} resources, ${largest.bytes} bytes); most parameters ${mostParameters.name} (${mostParameters.parameters})`);
    for (const t of sizes) {
      expect([t.name, t.resources <= QUOTAS.resourcesPerTemplate]).toEqual([t.name, true]);
      expect([t.name, t.parameters <= QUOTAS.parametersPerTemplate]).toEqual([t.name, true]);
      expect([t.name, t.bytes <= QUOTAS.templateBytesViaS3]).toEqual([t.name, true]);
    }
    const sets = [...s.templates.values()].flatMap((t) => stackSets(t));
    expect(sets.length).toBeLessThan(QUOTAS.stackSetsPerAdministrator);
    for (const [, p] of sets) for (const g of p.StackInstancesGroup) expect(g.DeploymentTargets.OrganizationalUnitIds.length).toBeLessThanOrEqual(QUOTAS.organizationalUnitsPerCall);
  });

  test('1,741 municipalities in 47 waves, and 400 in one prefecture: waves split so no template passes a quota; every municipality deployed once per zone', () => {
    for (const cfg of [stackSetConfig(1741, 'ss-1741'), onePrefecture(400)]) {
      const s = synth(cfg, { builtinValidation: false, treeMetadata: false });
      const sizes = templateSizes(s.outdir);
      const largest = [...sizes].sort((a, b) => b.bytes - a.bytes)[0];
      const mostParameters = [...sizes].sort((a, b) => b.parameters - a.parameters)[0];
      console.log(`${cfg.name}: ${sizes.length} templates; largest ${largest.name} (${largest.resources} resources, ${largest.bytes} bytes); most parameters ${mostParameters.name} (${mostParameters.parameters})`);
      for (const t of sizes) {
        expect([t.name, t.resources <= QUOTAS.resourcesPerTemplate, t.parameters <= QUOTAS.parametersPerTemplate, t.bytes <= QUOTAS.templateBytesViaS3]).toEqual([t.name, true, true, true]);
      }
      const instances = [...s.templates.values()].flatMap((t) => stackSets(t)).flatMap(([, p]) => p.StackInstancesGroup.map((g: Json) => `${g.DeploymentTargets.Accounts[0]}/${String(p.StackSetName).split('-').slice(-2, -1)[0]}`));
      expect(instances.length).toBe(cfg.municipalities.length * 4);
      expect(new Set(instances).size).toBe(instances.length);
      if (cfg.name === 'one-pref') expect([...s.templates.keys()].filter((k) => k.startsWith('OnePref-Rollout-01')).length).toBeGreaterThan(1);
      // The MX hosts' security group: beyond 50 tenant blocks, SMTP to the private ranges (the hub's routes reach only tenants).
      const hub = [...s.templates.entries()].find(([k]) => /-SecurityCloud-Synthetic$/.test(k))![1];
      const mx = Object.values(hub.Resources).find((r) => r.Type === 'AWS::EC2::SecurityGroup' && /MX gateway hosts/.test(r.Properties!.GroupDescription))!;
      const smtp = mx.Properties!.SecurityGroupEgress.filter((e: Json) => e.FromPort === 25).map((e: Json) => e.CidrIp);
      expect(smtp.sort()).toEqual(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    }
  });
});

/** `n` municipalities, all in prefecture 01 (Hokkaido has 179; this is more than twice that). */
function onePrefecture(n: number): ThreeTierConfigInput {
  const cfg = stackSetConfig(n, 'one-pref');
  return {
    ...cfg,
    rollout: { method: 'shapes', stackSets: { ...cfg.rollout!.stackSets!, waves: [{ prefecture: '01', organizationalUnitId: 'ou-jp00-pref0001' }] } },
    municipalities: cfg.municipalities.map((m, i) => ({ ...m, code: withCheckDigit(`01${String(201 + i).padStart(3, '0')}`) })),
  };
}

describe('config: rollout.stackSets names the field and the fix', () => {
  const problems = (edit: (c: Json) => void): string => {
    const c = structuredClone(national) as Json;
    edit(c);
    try {
      validateConfig(c, 'national');
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  test('the shipped national config is valid', () => expect(problems(() => undefined)).toBe(''));
  test.each([
    ['method stacks', (c: Json) => (c.rollout.method = 'stacks'), /rollout\.method: is "stacks" but rollout\.stackSets deploys shapes; set rollout\.method to "shapes"/],
    ['no account', (c: Json) => delete c.municipalities[3].account, /municipalities\[3\]\.account: is required with rollout\.stackSets/],
    ['shared account', (c: Json) => (c.municipalities[4].account = c.municipalities[3].account), /municipalities\[4\]\.account: "300000000004" is also the account of municipalities\[3\]; a stack set has one instance per account and region/],
    ['management account', (c: Json) => (c.municipalities[5].account = '100000000000'), /municipalities\[5\]\.account: "100000000000" is the management account.*service-managed stack sets never deploy/],
    ['security cloud account', (c: Json) => (c.municipalities[5].account = '200000000000'), /municipalities\[5\]\.account: "200000000000" is the security cloud account/],
    ['no wave', (c: Json) => c.rollout.stackSets.waves.splice(12, 1), /municipalities\[12\]\.code: "131041" is in prefecture 13, which has no wave; add \{ prefecture: "13"/],
    ['duplicate OU', (c: Json) => (c.rollout.stackSets.waves[1].organizationalUnitId = c.rollout.stackSets.waves[0].organizationalUnitId), /rollout\.stackSets\.waves\[1\]\.organizationalUnitId: .* is already the OU of wave 0/],
    ['bad OU', (c: Json) => (c.rollout.stackSets.waves[0].organizationalUnitId = 'ou-x'), /rollout\.stackSets\.waves\[0\]\.organizationalUnitId: must be an organizational unit id such as "ou-ab12-cd34ef56"/],
    ['percent', (c: Json) => (c.rollout.stackSets.maxConcurrentPercentage = 0), /rollout\.stackSets\.maxConcurrentPercentage: must be at least 1/],
    ['model', (c: Json) => (c.municipalities[0].model = 'alpha-prime'), /municipalities\[0\]\.model: is "alpha-prime"; rollout\.stackSets deploys model alpha only/],
    ['copied ids', (c: Json) => (c.securityCloud.transitGatewayId = 'tgw-0123456789abcdef0'), /securityCloud\.transitGatewayId: is no longer used/],
    ['delegated admin in the management account', (c: Json) => (c.securityCloud.account = c.account = '100000000000'), /rollout\.stackSets\.callAs: is "DELEGATED_ADMIN" but the security cloud account 100000000000 is the management account/],
  ])('%s', (_name, edit, expected) => expect(problems(edit)).toMatch(expected));
});
