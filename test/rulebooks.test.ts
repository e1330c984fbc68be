import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Stack, aws_ec2 as ec2, aws_s3 as s3 } from 'aws-cdk-lib';
import { ThreeTierApp } from '../lib/app-builder';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { SHIPPED_CONFIGS } from '../config';
import { acknowledgementsMarkdown, collectAcknowledgements } from '../lib/review/acknowledgements';
import { ControlTowerChecks, relevantControlTowerRules, templateResourceTypes } from '../lib/compliance/control-tower';
import { synth, synthShipped } from './helpers/synth';
import { withoutGuardCache } from './helpers/guard-cache';

type Report = {
  pluginReports: { pluginName: string; conclusion: string; violations: { ruleName: string; description: string; violatingConstructs: { constructPath: string }[] }[]; suppressedViolations?: { ruleName: string }[] }[];
};
function report(outdir: string): Report {
  return JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8')) as Report;
}

/** Synth expected to fail validation; returns the report it wrote. */
function synthExpectingFailure(mutate: (built: ThreeTierApp) => void): { report: Report; error: Error } {
  let outdir = '';
  let error: Error | undefined;
  try {
    synth('pilot', {
      rulebooks: true,
      mutate: (b) => {
        outdir = (b.logArchive.node.root as App).outdir;
        mutate(b);
      },
    });
  } catch (e) {
    error = e as Error;
  }
  assert.ok(error, 'synth should have failed validation');
  return { report: report(outdir), error };
}

describe('rulebooks on every shipped config', () => {
  for (const name of Object.keys(SHIPPED_CONFIGS)) {
    test(`${name}: AwsSolutions, the Control Tower controls and the ThreeTier pack pass with per-resource acknowledgements only`, () => {
      // The shared synth of a shipped config runs every rulebook and throws if any
      // plugin reports an error (the broken-template tests below show that it does).
      const s = synthShipped(name);
      const r = report(s.outdir);
      assert.ok(r.pluginReports.length >= 2, 'the validation report lists the plugins that reported');
      for (const p of r.pluginReports) assert.equal(p.conclusion, 'success', `${p.pluginName}: ${p.violations.map((v) => v.ruleName).join(', ')}`);
      const ct = r.pluginReports.find((p) => p.pluginName === 'cdk-validator-cfnguard');
      assert.ok(ct, 'the Control Tower plugin ran and reported');
      assert.equal(ct!.violations.length, 0);
      assert.ok((ct!.suppressedViolations ?? []).length > 0, 'its acknowledgements are in the report');
    });
  }
});

describe('acknowledgements', () => {
  const s = synthShipped('pilot');
  const acks = collectAcknowledgements(s.outdir);
  test('sit on resources, never on a stack or the app, and give a reason', () => {
    assert.ok(acks.length > 0);
    const stackNames = new Set(s.templates.keys());
    for (const a of acks) {
      assert.ok(!stackNames.has(a.resource), `${a.rule} acknowledged on the whole stack ${a.resource}`);
      assert.ok(a.resource.includes('/'), `${a.rule} acknowledged on ${a.resource}`);
      assert.ok(a.reason.length >= 20, `${a.rule} on ${a.resource} has no real reason`);
    }
  });
  test('the review listing shows AwsSolutions and Control Tower acknowledgements side by side', () => {
    const md = acknowledgementsMarkdown(acks);
    assert.match(md, /## AwsSolutions \(cdk-nag\)/);
    assert.match(md, /## AWS Control Tower proactive controls/);
    assert.match(md, /\| s3_event_notifications_enabled_check \| Pilot-SecurityCloud-LogArchive \| `Pilot-SecurityCloud-LogArchive\/Archive\/Resource` \|/);
    assert.match(md, /\| AwsSolutions-S1 \| Pilot-SecurityCloud-LogArchive \|/);
  });
  test('the acknowledge helper refuses a stack', async () => {
    const { acknowledge } = await import('../lib/compliance/acknowledge');
    // A small app of its own: the shared pilot assembly may come from another worker, without its constructs.
    const app = new App();
    const stack = new Stack(app, 'AckTest');
    const bucket = new s3.Bucket(stack, 'Bucket');
    assert.throws(() => acknowledge(stack, 'AwsSolutions-S1', 'a long enough reason for the test'), /never per stack or app/);
    assert.throws(() => acknowledge(app, 'AwsSolutions-S1', 'a long enough reason for the test'), /never per stack or app/);
    assert.throws(() => acknowledge(bucket, 'AwsSolutions-S1', 'short'), /needs a real reason/);
  });
});

describe('a broken template fails the synth', () => {
  test('Control Tower: removing the log archive encryption fails CT.S3.PR.10', () => {
    const { report: r, error } = synthExpectingFailure((b) => {
      (b.logArchive.bucket.node.defaultChild as s3.CfnBucket).addPropertyDeletionOverride('BucketEncryption');
    });
    assert.match(error.message, /ERROR \[CT\.S3\.PR\.10\]/);
    const ct = r.pluginReports.find((p) => p.pluginName === 'cdk-validator-cfnguard')!;
    assert.equal(ct.conclusion, 'failure');
    const v = ct.violations.find((x) => x.description.startsWith('[CT.S3.PR.10]'));
    assert.ok(v, `CT.S3.PR.10 reported; got ${ct.violations.map((x) => x.description.slice(0, 14)).join(', ')}`);
    assert.deepEqual(v!.violatingConstructs.map((c) => c.constructPath), ['Pilot-SecurityCloud-LogArchive/Archive/Resource']);
  });
  test('Control Tower: turning off versioning fails CT.S3.PR.11', () => {
    const { report: r } = synthExpectingFailure((b) => {
      (b.logArchive.bucket.node.defaultChild as s3.CfnBucket).addPropertyOverride('VersioningConfiguration.Status', 'Suspended');
    });
    const ct = r.pluginReports.find((p) => p.pluginName === 'cdk-validator-cfnguard')!;
    assert.ok(ct.violations.some((x) => x.description.startsWith('[CT.S3.PR.11]')));
  });
  test('AwsSolutions: SSH open to the world in mynumber fails AwsSolutions-EC23', () => {
    const { report: r } = synthExpectingFailure((b) => {
      const st = b.zones.get('131016')!.get('mynumber')!;
      const sg = new ec2.SecurityGroup(st, 'Broken', { vpc: st.zoneVpc.vpc, description: 'deliberately broken' });
      sg.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(22));
    });
    const nag = r.pluginReports.find((p) => p.pluginName === 'AwsSolutions');
    assert.ok(nag, `AwsSolutions reported; plugins: ${r.pluginReports.map((p) => p.pluginName).join(', ')}`);
    assert.ok(nag!.violations.some((v) => /EC23/.test(v.ruleName) && v.violatingConstructs.some((c) => c.constructPath.includes('Broken'))));
  });
});

describe('the Control Tower plugin wrapper', () => {
  test('selects only rule files for resource types present, keeping type-less ones', () => {
    const rules = relevantControlTowerRules(new Set(['AWS::S3::Bucket']));
    assert.ok(rules.some((r) => r.endsWith('ct-s3-pr-1.guard')));
    assert.ok(!rules.some((r) => r.endsWith('ct-dynamodb-pr-1.guard')));
  });
  // The evaluator (aws-cdk-lib's Guard engine) against the stock plugin and its
  // cfn-guard binary, with the verdict cache off so both really evaluate.
  const withoutCache = withoutGuardCache;
  const key = (r: any): string[] => r.violations.flatMap((v: any) => v.violatingResources.map((x: any) => `${v.ruleName} ${path.basename(x.templatePath)} ${x.resourceLogicalId}`)).sort();
  let broken: string[] = [];
  const brokenAssembly = () => {
    if (!broken.length) {
      const s = synth('pilot', { mutate: (b) => (b.logArchive.bucket.node.defaultChild as s3.CfnBucket).addPropertyDeletionOverride('BucketEncryption') });
      broken = fs.readdirSync(s.outdir).filter((f) => f.endsWith('.template.json')).map((f) => path.join(s.outdir, f));
    }
    return broken;
  };
  test('finds exactly what the stock CfnGuardValidator and its cfn-guard binary find on a broken assembly', () => {
    const templatePaths = brokenAssembly();
    const ctx = { templatePaths } as any;
    const ours = withoutCache(() => new ControlTowerChecks().validate(ctx));
    // The stock plugin, template by template, over the rule files for the
    // resource types in it (the next test shows that leaving out the others
    // changes nothing).
    const stock = {
      violations: templatePaths.flatMap((t) => new CfnGuardValidator({ controlTowerRulesEnabled: false, rules: relevantControlTowerRules(templateResourceTypes([t])) }).validate({ templatePaths: [t] } as any).violations),
    };
    assert.equal(ours.success, false);
    assert.deepEqual(key(ours), key(stock));
    assert.ok(key(ours).length > 5);
    assert.ok(key(ours).some((k) => k.startsWith('s3_bucket_default_encryption_kms_check Pilot-SecurityCloud-LogArchive')), key(ours).join('\n'));
  });
  test('leaving out the rule files for resource types a template does not hold changes no finding (every rule file on the broken log archive)', () => {
    const ctx = { templatePaths: brokenAssembly().filter((t) => t.endsWith('Pilot-SecurityCloud-LogArchive.template.json')) } as any;
    assert.equal(ctx.templatePaths.length, 1);
    const relevantOnly = withoutCache(() => new ControlTowerChecks().validate(ctx));
    const everyRule = withoutCache(() => new ControlTowerChecks({ ruleSelection: 'all' }).validate(ctx));
    assert.deepEqual(key(relevantOnly), key(everyRule));
    assert.ok(key(everyRule).length >= 2, key(everyRule).join('\n'));
  });
  test('a cached verdict is the evaluated one, and the cache key follows the template bytes', () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-cache-'));
    const before = process.env.THREE_TIER_GUARD_CACHE;
    process.env.THREE_TIER_GUARD_CACHE = cacheDir;
    try {
      const ctx = { templatePaths: brokenAssembly() } as any;
      const first = new ControlTowerChecks().validate(ctx);
      const files = fs.readdirSync(cacheDir, { recursive: true }).filter((f) => String(f).endsWith('.json'));
      assert.equal(files.length, brokenAssembly().length, 'one verdict per template');
      const second = new ControlTowerChecks().validate(ctx);
      assert.deepEqual(key(second), key(first));
      // A changed template is a different key: the fixed bucket is evaluated afresh.
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-cache-tpl-'));
      const copies = brokenAssembly().map((t) => {
        const c = path.join(dir, path.basename(t));
        fs.copyFileSync(t, c);
        return c;
      });
      const la = copies.find((t) => t.endsWith('LogArchive.template.json'))!;
      const doc = JSON.parse(fs.readFileSync(la, 'utf8'));
      const id = Object.keys(doc.Resources).find((k) => k.startsWith('Archive') && doc.Resources[k].Type === 'AWS::S3::Bucket' && !/AccessLogs/.test(k))!;
      doc.Resources[id].Properties.BucketEncryption = { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms' } }] };
      fs.writeFileSync(la, JSON.stringify(doc, null, 1));
      const third = new ControlTowerChecks().validate({ templatePaths: copies } as any);
      assert.ok(key(first).some((k) => k.startsWith(`s3_bucket_default_encryption_kms_check Pilot-SecurityCloud-LogArchive.template.json ${id}`)));
      assert.ok(!key(third).some((k) => k.startsWith(`s3_bucket_default_encryption_kms_check Pilot-SecurityCloud-LogArchive.template.json ${id}`)));
    } finally {
      if (before === undefined) delete process.env.THREE_TIER_GUARD_CACHE;
      else process.env.THREE_TIER_GUARD_CACHE = before;
    }
  });
});
