import { describe, test, expect, beforeAll } from '@jest/globals';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { syntheticConfig } from '../config/layout';
import { ThreeTierConfigInput } from '../config/schema';
import { checkAssembly } from '../lib/isolation/check';
import { checkIsolationCli } from '../lib/isolation/cli';
import { readShapesIndex, SHAPES_DIR, ShapesIndex, writeShapes } from '../lib/scale/assembly';
import { configValues, generalize, instantiate, ShapeError, Template } from '../lib/scale/shapes';
import { builtMunicipalities, featureGroups, featureKey } from '../lib/scale/features';
import { aws_s3 as s3 } from 'aws-cdk-lib';
import { addRulebooks, buildThreeTier, createApp, writeIsolationIntent } from '../lib/app-builder';
import { validateConfig } from '../config';
import { synth, synthShipped, Synthesized, tmpDir } from './helpers/synth';

/**
 * Template shapes (#17, first part): every zone stack of every municipality
 * is its shape instantiated with that municipality's values, exactly; the
 * isolation check on shapes + parameter files gives the same verdict and
 * reaches as on the templates; a change to one municipality's parameter file
 * is found for that municipality only.
 */

/** Municipalities with 特定通信 (X5), each with its own destination. */
function withSpecificCommunications(count = 3, name = 'shapes-3'): ThreeTierConfigInput {
  const cfg = syntheticConfig(count, name);
  return {
    ...cfg,
    rollout: { method: 'stacks' },
    municipalities: cfg.municipalities.map((m, i) => ({
      ...m,
      specificCommunications: {
        lgwanConnection: { type: 'vpn' as const, customerGatewayIp: `192.0.2.${40 + i}`, bgpAsn: 65040 },
        lgwanNetworkCidr: '172.20.0.0/16',
        destinations: [{ name: '中間サーバー', address: `172.20.1.${10 + i}`, port: 443, protocol: 'tcp' as const }],
        mailPeer: `172.20.2.${25 + i}`,
      },
    })),
  };
}

function copyAssembly(from: string): string {
  const to = fs.mkdtempSync(`${from}-copy-`);
  fs.cpSync(from, to, { recursive: true });
  return to;
}

describe('template shapes', () => {
  let s: Synthesized;
  let index: ShapesIndex;
  beforeAll(() => {
    s = synth(withSpecificCommunications(), { builtinValidation: false, treeMetadata: false });
    index = writeShapes(s.outdir, s.config).index;
  });

  test('three municipalities with the same features share one shape per zone; every zone stack is its shape with its own values, exactly', () => {
    expect(index.classes.map((c) => [c.zone, c.members.length]).sort()).toEqual([['internet', 3], ['lgwan', 3], ['mynumber', 3], ['transfer', 3]]);
    let checked = 0;
    for (const c of index.classes) {
      const shape: Template = JSON.parse(fs.readFileSync(path.join(s.outdir, SHAPES_DIR, c.template), 'utf8'));
      for (const mem of c.members) {
        // The shape declares the municipality's values besides the template's own parameters (CDK's BootstrapVersion, SSM lookups).
        const own = Object.keys((s.templates.get(mem.stack) as { Parameters?: object }).Parameters ?? {});
        expect(Object.keys(shape.Parameters as object).sort()).toEqual([...own, ...c.parameters].sort());
        const { Parameters } = JSON.parse(fs.readFileSync(path.join(s.outdir, SHAPES_DIR, mem.parametersFile), 'utf8'));
        expect(instantiate(shape, Parameters)).toEqual(s.templates.get(mem.stack));
        checked++;
      }
    }
    expect(checked).toBe(12);
    // The shape holds no municipality's code or address: those are parameters.
    const mynumber = index.classes.find((c) => c.zone === 'mynumber')!;
    const text = fs.readFileSync(path.join(s.outdir, SHAPES_DIR, mynumber.template), 'utf8');
    for (const m of s.config.municipalities) {
      expect(text).not.toContain(m.code);
      expect(text).not.toContain(m.cidrs.mynumber);
      expect(text).not.toContain(`${m.specificCommunications!.destinations[0].address}/32`);
    }
    expect(mynumber.parameters).toEqual(expect.arrayContaining(['Code', 'CidrsMynumber', 'SpecificCommunicationsDestinations0AddressCidr']));
  });

  test('quotas: a shape stays within 500 resources and 200 parameters', () => {
    for (const c of index.classes) {
      expect(c.resources).toBeLessThanOrEqual(500);
      expect(c.parameters.length).toBeLessThanOrEqual(200);
    }
  });

  test('the isolation check on the shapes and parameter files gives the verdict, reaches and matrix of the check on the templates', () => {
    const plain = checkAssembly(s.outdir).report;
    const shaped = checkAssembly(s.outdir, { shapes: true }).report;
    expect(plain.verdict).toBe('match');
    expect(shaped.verdict).toBe('match');
    expect(shaped.analyzer.reaches).toEqual(plain.analyzer.reaches);
    expect(shaped.matrix).toEqual(plain.matrix);
    expect(shaped.pack).toEqual(plain.pack);
  });

  test('a 特定通信 /32 widened to /16 in one municipality\'s parameter file is found for that municipality only', () => {
    const dir = copyAssembly(s.outdir);
    const victim = s.config.municipalities[1];
    const idx = readShapesIndex(dir);
    const mem = idx.classes.find((c) => c.zone === 'mynumber')!.members.find((x) => x.code === victim.code)!;
    const file = path.join(dir, SHAPES_DIR, mem.parametersFile);
    const p = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(p.Parameters.SpecificCommunicationsDestinations0AddressCidr).toBe('172.20.1.11/32');
    p.Parameters.SpecificCommunicationsDestinations0AddressCidr = '172.20.0.0/16';
    fs.writeFileSync(file, JSON.stringify(p));

    const shaped = checkAssembly(dir, { shapes: true }).report;
    expect(shaped.verdict).toBe('mismatch');
    const found = [...shaped.analyzer.findings.map((f) => f.municipality), ...shaped.pack.findings.map((f) => f.stack)];
    expect(found.length).toBeGreaterThan(0);
    for (const f of shaped.analyzer.findings) expect(f.municipality).toBe(victim.code);
    for (const f of shaped.pack.findings) expect(f.stack).toContain(victim.code);
    // The templates themselves were not touched: only the check on shapes sees the widened value.
    expect(checkAssembly(dir).report.verdict).toBe('match');
    const out: string[] = [];
    expect(checkIsolationCli([dir, '--shapes'], { out: (x) => out.push(x), err: (x) => out.push(x) })).toBe(1);
    expect(out.join('')).toContain(victim.code);
  });

  test('fails closed: a municipality whose template differs by more than its values gets a shape of its own', () => {
    const dir = copyAssembly(s.outdir);
    const odd = `Shapes3-${s.config.municipalities[2].code}-Lgwan`;
    const file = path.join(dir, `${odd}.template.json`);
    const t = JSON.parse(fs.readFileSync(file, 'utf8'));
    t.Resources.ExtraTopic = { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'extra' } };
    fs.writeFileSync(file, JSON.stringify(t));
    const { index: idx } = writeShapes(dir, s.config);
    const lgwan = idx.classes.filter((c) => c.zone === 'lgwan');
    expect(lgwan.map((c) => c.members.length).sort()).toEqual([1, 2]);
    expect(lgwan.find((c) => c.members.length === 1)!.members[0].stack).toBe(odd);
  });

  test('a value that would have to become a key is refused, not guessed; equal spellings inside longer names are left alone', () => {
    const values = [{ name: 'Code', value: '131016' }, { name: 'Address', value: '10.1.2.3' }];
    expect(() => generalize({ Resources: { R: { Type: 'AWS::SNS::Topic', Properties: { Tags: { '131016': 'x' } } } } } as Template, values)).toThrow(ShapeError);
    const { shape } = generalize({ Resources: { R: { Type: 'X', Properties: { A: 'pilot-131016-x', B: '1310160', C: '10.1.2.30', D: '10.1.2.3/32', E: 'echo ${HOME} 131016' } } } } as Template, values);
    const props = (shape.Resources as any).R.Properties;
    expect(props).toEqual({ A: { 'Fn::Sub': 'pilot-${Code}-x' }, B: '1310160', C: '10.1.2.30', D: { 'Fn::Sub': '${Address}/32' }, E: { 'Fn::Sub': 'echo ${!HOME} ${Code}' } });
    expect((instantiate(shape, { Code: '011002', Address: '10.9.9.9' }).Resources as any).R.Properties).toEqual({ A: 'pilot-011002-x', B: '1310160', C: '10.1.2.30', D: '10.9.9.9/32', E: 'echo ${HOME} 011002' });
  });

  test.each(['pilot', 'lab', 'prefecture'])('%s: every zone stack of the shipped config is its shape with its own values, exactly', (name) => {
    const shipped = synthShipped(name);
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `three-tier-shapes-${name}-`));
    const { index: idx } = writeShapes(shipped.outdir, shipped.config, out);
    const members = idx.classes.flatMap((c) => c.members);
    expect(members.length).toBe(shipped.config.municipalities.length * 4);
    for (const c of idx.classes) {
      const shape: Template = JSON.parse(fs.readFileSync(path.join(out, c.template), 'utf8'));
      for (const mem of c.members) {
        const { Parameters } = JSON.parse(fs.readFileSync(path.join(out, mem.parametersFile), 'utf8'));
        expect(instantiate(shape, Parameters)).toEqual(shipped.templates.get(mem.stack));
      }
    }
    if (name === 'prefecture') {
      // Municipalities of the same model and features share shapes: fewer shapes than zone stacks.
      expect(idx.classes.length).toBeLessThan(members.length);
    }
  });

  test('a municipality\'s values: code, names, addresses (also as /32), CIDRs and domains, by config path', () => {
    const m = s.config.municipalities[0];
    const v = Object.fromEntries(configValues(m).map((x) => [x.name, x.value]));
    expect(v).toMatchObject({ Code: m.code, Name: m.name, CidrsLgwan: m.cidrs.lgwan, SpecificCommunicationsDestinations0Address: '172.20.1.10', SpecificCommunicationsDestinations0AddressCidr: '172.20.1.10/32', LgwanMailDomains0: m.lgwanMailDomains![0] });
  });

  test('a parameter file that names a parameter its shape lacks, or lacks one it has, is an input error (exit 2) naming the file and the parameter', () => {
    const run = (edit: (p: Record<string, string>) => void) => {
      const dir = copyAssembly(s.outdir);
      const mem = readShapesIndex(dir).classes.find((c) => c.zone === 'lgwan')!.members[1];
      const file = path.join(dir, SHAPES_DIR, mem.parametersFile);
      const p = JSON.parse(fs.readFileSync(file, 'utf8'));
      edit(p.Parameters);
      fs.writeFileSync(file, JSON.stringify(p));
      const err: string[] = [];
      expect(checkIsolationCli([dir, '--shapes'], { out: () => undefined, err: (x) => err.push(x) })).toBe(2);
      return err.join('');
    };
    expect(run((p) => (p.CidrsLgwn = '10.0.0.0/8'))).toMatch(/instances\/Shapes3-\d{6}-Lgwan\.parameters\.json: Parameters\.CidrsLgwn: the shape lgwan-[0-9a-f]+ has no such parameter/);
    expect(run((p) => delete p.CidrsLgwan)).toMatch(/Lgwan\.parameters\.json: .*no value for parameter CidrsLgwan/);
  });

  test('a parameter value is put in literally, as CloudFormation does: a "${...}" inside it is not substituted again', () => {
    const values = [{ name: 'Code', value: '131016' }];
    const { shape } = generalize({ Resources: { R: { Type: 'X', Properties: { A: 'pilot-131016-x', B: { 'Fn::Sub': 'pilot-131016-${AWS::Region}' } } } } } as Template, values);
    const props = (code: string) => (instantiate(shape, { Code: code }).Resources as any).R.Properties;
    expect(props('${AWS::AccountId}')).toEqual({ A: 'pilot-${AWS::AccountId}-x', B: { 'Fn::Sub': 'pilot-${!AWS::AccountId}-${AWS::Region}' } });
    expect(props('011002')).toEqual({ A: 'pilot-011002-x', B: { 'Fn::Sub': 'pilot-011002-${AWS::Region}' } });
  });

  test('a missing or damaged shapes folder is an input error (exit 2) that names the file', () => {
    const dir = copyAssembly(s.outdir);
    fs.writeFileSync(path.join(dir, SHAPES_DIR, 'index.json'), '{"classes": 3}');
    const err: string[] = [];
    expect(checkIsolationCli([dir, '--shapes'], { out: () => undefined, err: (x) => err.push(x) })).toBe(2);
    expect(err.join('')).toMatch(/shapes\/index\.json: classes: missing or not a list/);
    fs.rmSync(path.join(dir, SHAPES_DIR), { recursive: true });
    err.length = 0;
    expect(checkIsolationCli([dir, '--shapes'], { out: () => undefined, err: (x) => err.push(x) })).toBe(2);
    expect(err.join('')).toMatch(/index\.json: missing; this assembly was synthesized without shapes/);
  });
});

describe('rulebooks once per shape', () => {
  test('AwsSolutions, the Control Tower controls and the built-in validation evaluate one zone stack per shape; a stack that differs is a shape of its own, evaluated, and its finding fails the synth', () => {
    const cfg = validateConfig({ ...syntheticConfig(2, 'scope-2'), rollout: { method: 'stacks' } });
    const app = createApp({}, tmpDir('scope-2'));
    const built = buildThreeTier(app, cfg);
    // The second municipality's lgwan stack gets a bucket no rulebook accepts (no encryption settings, no public access block, no logs).
    const odd = built.zones.get(cfg.municipalities[1].code)!.get('lgwan')!;
    new s3.CfnBucket(odd, 'Unruly', {});
    const scope = addRulebooks(app, cfg)!;
    writeIsolationIntent(app, built);
    expect(() => app.synth()).toThrow(/Scope2-022012-Lgwan\/Unruly/);
    // 8 zone stacks: mynumber, internet and transfer share a shape each; lgwan has two (the odd one evaluated on its own).
    expect(scope.summary).toEqual({ shapes: 5, zoneStacks: 8 });
    const zone = [...scope.selected!].filter((n) => /-(Mynumber|Lgwan|Internet|Transfer)$/.test(n)).sort();
    expect(zone).toEqual(['Scope2-012017-Internet', 'Scope2-012017-Lgwan', 'Scope2-012017-Mynumber', 'Scope2-012017-Transfer', 'Scope2-022012-Lgwan']);
    // Every stack that is not a zone stack is evaluated.
    for (const st of built.stacks) if (!/-(Mynumber|Lgwan|Internet|Transfer)$/.test(st.stackName)) expect(scope.selected!.has(st.stackName)).toBe(true);
  });
});

describe('rollout.method "shapes": one municipality per shape built, the others predicted', () => {
  test('every predicted zone stack is exactly the template a full build gives; the intent and the isolation check are the same', () => {
    const input = syntheticConfig(7, 'predict-7');
    expect(input.rollout).toEqual({ method: 'shapes' });
    const shaped = synth(input, { builtinValidation: false, treeMetadata: false });
    const full = synth({ ...input, rollout: { method: 'stacks' } }, { builtinValidation: false, treeMetadata: false });
    // The first and the last municipality are built (the last verifies the shape); the five others are parameter files.
    expect(shaped.templates.size).toBe(2 * 4 + 2);
    expect(full.templates.size).toBe(7 * 4 + 2);
    const { index: idx } = writeShapes(shaped.outdir, shaped.config);
    expect(idx.classes.map((c) => [c.members.length, c.members.filter((m) => m.predicted).length])).toEqual([[7, 5], [7, 5], [7, 5], [7, 5]]);
    for (const c of idx.classes) {
      const shape: Template = JSON.parse(fs.readFileSync(path.join(shaped.outdir, SHAPES_DIR, c.template), 'utf8'));
      for (const mem of c.members) {
        const { Parameters } = JSON.parse(fs.readFileSync(path.join(shaped.outdir, SHAPES_DIR, mem.parametersFile), 'utf8'));
        expect(instantiate(shape, Parameters)).toEqual(full.templates.get(mem.stack));
      }
    }
    const intent = (d: string) => JSON.parse(fs.readFileSync(path.join(d, 'isolation-intent.json'), 'utf8'));
    expect(intent(shaped.outdir)).toEqual(intent(full.outdir));
    // The check reads the predicted stacks from the shapes by itself (the assembly holds only the built ones).
    const a = checkAssembly(shaped.outdir).report;
    const b = checkAssembly(full.outdir).report;
    expect(a.verdict).toBe('match');
    expect(b.verdict).toBe('match');
    // The same reaches and rows (the predicted stacks are read after the built ones, so the order differs).
    const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
    expect(sorted(a.analyzer.reaches)).toEqual(sorted(b.analyzer.reaches));
    expect(sorted(a.matrix)).toEqual(sorted(b.matrix));
  });

  test('municipalities with other features get shapes of their own; a model with a stack beyond the four zones is refused with the fix', () => {
    const base = syntheticConfig(4, 'predict-4');
    const mixed = { ...base, municipalities: base.municipalities.map((m, i) => (i === 2 ? { ...m, dnsAllow: { mynumber: ['registry.example.jp'] } } : m)) };
    const cfg = validateConfig(mixed);
    const groups = featureGroups(cfg);
    expect(groups.map((g) => g.members.map((m) => m.code))).toEqual([[cfg.municipalities[0].code, cfg.municipalities[1].code, cfg.municipalities[3].code], [cfg.municipalities[2].code]]);
    expect(builtMunicipalities(cfg).map((m) => m.code)).toEqual([cfg.municipalities[0].code, cfg.municipalities[2].code, cfg.municipalities[3].code]);
    // Equal values in other places are another feature: a mail peer that is also the 特定通信 destination.
    const sc = (addr: string, peer: string) => ({ lgwanConnection: { type: 'vpn' as const, customerGatewayIp: '192.0.2.40', bgpAsn: 65040 }, lgwanNetworkCidr: '172.20.0.0/16', destinations: [{ name: 'x', address: addr, port: 443, protocol: 'tcp' as const }], mailPeer: peer });
    const a = featureKey(validateConfig({ ...base, municipalities: [{ ...base.municipalities[0], specificCommunications: sc('172.20.1.10', '172.20.2.25') }] }).municipalities[0]);
    const b = featureKey(validateConfig({ ...base, municipalities: [{ ...base.municipalities[0], specificCommunications: sc('172.20.1.11', '172.20.2.26') }] }).municipalities[0]);
    const c = featureKey(validateConfig({ ...base, municipalities: [{ ...base.municipalities[0], specificCommunications: sc('172.20.1.10', '172.20.1.10') }] }).municipalities[0]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(() => validateConfig({ ...base, model: 'beta' as const })).toThrow(/municipalities\[0\]\.model: is "beta", whose internet-side screen endpoints are a stack of their own.*use rollout\.method "stacks"/);
  });
});

describe('check-isolation in batches of municipalities (assemblies of shapes)', () => {
  let dir: string;
  let cfgCodes: string[];
  beforeAll(() => {
    const s = synth({ ...withSpecificCommunications(7, 'batch-7'), rollout: { method: 'shapes' } }, { builtinValidation: false, treeMetadata: false });
    writeShapes(s.outdir, s.config);
    dir = s.outdir;
    cfgCodes = s.config.municipalities.map((m) => m.code);
  });

  test('checked in batches of 3 (hub and shared stacks in every batch), the verdict, reaches, matrix and findings are those of one check of everything', () => {
    const whole = checkAssembly(dir, { batchSize: 100 }).report;
    const parts = checkAssembly(dir, { batchSize: 3 }).report;
    // As sets: one check of everything lists a reach once per route table that has it; the batches list each once.
    const sorted = (xs: unknown[]) => [...new Set(xs.map((x) => JSON.stringify(x)))].sort();
    expect(parts.verdict).toBe('match');
    expect(whole.verdict).toBe('match');
    expect(sorted(parts.analyzer.reaches)).toEqual(sorted(whole.analyzer.reaches));
    expect(sorted(parts.matrix)).toEqual(sorted(whole.matrix));
    expect(sorted(parts.pack.acknowledged)).toEqual(sorted(whole.pack.acknowledged));
    expect(parts.matrix.length).toBe(whole.matrix.length);
  });

  test('a 特定通信 /32 widened to /16 in one predicted municipality\'s parameter file is found in batches too, for that municipality only', () => {
    const copy = copyAssembly(dir);
    const victim = cfgCodes[3];
    const idx = readShapesIndex(copy);
    const mem = idx.classes.find((c) => c.zone === 'mynumber')!.members.find((m) => m.code === victim)!;
    expect(mem.predicted).toBe(true);
    const file = path.join(copy, SHAPES_DIR, mem.parametersFile);
    const p = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(p.Parameters.SpecificCommunicationsDestinations0AddressCidr).toBe('172.20.1.13/32');
    p.Parameters.SpecificCommunicationsDestinations0AddressCidr = '172.20.0.0/16';
    fs.writeFileSync(file, JSON.stringify(p));
    for (const batchSize of [3, 100]) {
      const r = checkAssembly(copy, { batchSize }).report;
      expect(r.verdict).toBe('mismatch');
      const named = [...r.analyzer.findings.map((f) => f.municipality ?? f.message), ...r.pack.findings.map((f) => f.stack)];
      expect(named.length).toBeGreaterThan(0);
      for (const n of named) expect(String(n)).toContain(victim);
    }
  });
});
