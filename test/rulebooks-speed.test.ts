import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationValidatePlugin, IPolicyValidationContext } from 'aws-cdk-lib';
import { loadConfig } from '../config';
import { collectVerdicts, ControlTowerChecks, relevantControlTowerRules } from '../lib/compliance/control-tower';
import { GuardDiagnostic, Pending, rulebookThread, wasmTieringFlag, WASM_TIERING_BUDGET } from '../lib/compliance/rulebook-threads';
import { RulebookScope, ScopedCloudFormationValidate } from '../lib/scale/rulebook-scope';
import { withoutGuardCache } from './helpers/guard-cache';

// The template rulebooks run in worker threads (lib/compliance/rulebook-threads.ts).
// These tests hold what that must not change: the verdicts, failing closed,
// and that no thread keeps a process alive. (rulebooks.test.ts compares the
// Control Tower verdicts with the stock cfn-guard plugin.)

const ROOT = path.resolve(__dirname, '..');

const withoutCache = withoutGuardCache;

function templates(docs: Record<string, unknown>): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rulebook-threads-'));
  return Object.entries(docs).map(([name, doc]) => {
    const file = path.join(dir, `${name}.template.json`);
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 1));
    return file;
  });
}

function context(files: string[]): IPolicyValidationContext {
  return { templatePaths: files, stackTemplates: files.map((f) => ({ stackConstructPath: path.basename(f, '.template.json'), templatePath: f, region: 'ap-northeast-1' })) } as unknown as IPolicyValidationContext;
}

const key = (r: { violations: { ruleName: string; violatingResources: { resourceLogicalId?: string; templatePath?: string; locations?: string[] }[] }[] }): string[] =>
  r.violations.flatMap((v) => v.violatingResources.map((x) => `${v.ruleName} ${path.basename(x.templatePath ?? '')} ${x.resourceLogicalId ?? ''} ${(x.locations ?? []).join(',')}`)).sort();

describe('rulebooks in worker threads', () => {
  test('aws-cdk-lib’s CloudFormation validation reports in its thread what it reports in-process', () => {
    const files = templates({
      Broken: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { NoSuchProperty: true, VersioningConfiguration: { Status: 'Sometimes' } } }, Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 42 } } } },
      Fine: { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } },
    });
    const ctx = context(files);
    const inProcess = new CloudFormationValidatePlugin().validate(ctx);
    const inThread = rulebookThread('cfn-validate')
      .submit({ type: 'cfn-validate', context: { templatePaths: ctx.templatePaths, stackTemplates: ctx.stackTemplates } }, () => 'cfn-validate')
      .wait();
    assert.ok(key(inProcess).length >= 2, key(inProcess).join('\n'));
    assert.deepEqual(key(inThread), key(inProcess));
    assert.deepEqual(
      inThread.violations.map((v) => [v.ruleName, v.severity, v.description]).sort(),
      inProcess.violations.map((v) => [v.ruleName, v.severity, v.description]).sort(),
    );
  });

  test('a Control Tower evaluation started ahead reports what validate() reports', () => {
    const files = templates({ Bucket: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } } });
    withoutCache(() => {
      const checks = new ControlTowerChecks();
      const started = checks.start(context(files));
      const direct = checks.validate(context(files));
      const ahead = started.wait();
      assert.equal(ahead.success, false);
      assert.ok(key(ahead).length > 0);
      assert.deepEqual(key(ahead), key(direct));
    });
  });

  test('an evaluation that fails fails the validation closed, naming the template, and the next one gets a fresh thread', () => {
    // The engine refuses templates over 10 MB: a failed evaluation, not a verdict.
    const big = JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } }, Metadata: { Padding: 'x'.repeat(11 * 1024 * 1024) } });
    const [tooBig] = templates({ TooBig: big });
    withoutCache(() => {
      assert.throws(
        () => new ControlTowerChecks().validate(context([tooBig])),
        (e: Error) => e.message.includes('Control Tower controls: the Guard evaluator failed on') && e.message.includes(tooBig),
      );
      const [fine] = templates({ Fine: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } } });
      const again = new ControlTowerChecks().validate(context([fine]));
      assert.equal(again.success, false, 'the bucket without versioning and logging is still found');
    });
  });

  test('the threads never keep a process alive', () => {
    // A process that evaluates both rulebooks and returns from its script must exit by itself.
    const script = [
      "const { ControlTowerChecks } = require('./lib/compliance/control-tower');",
      "const { rulebookThread } = require('./lib/compliance/rulebook-threads');",
      `const files = ${JSON.stringify(templates({ T: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } } }))};`,
      'const r = new ControlTowerChecks().validate({ templatePaths: files });',
      "const c = rulebookThread('cfn-validate').submit({ type: 'cfn-validate', context: { templatePaths: files, stackTemplates: files.map((f) => ({ stackConstructPath: 'T', templatePath: f })) } }, () => 'x').wait();",
      "console.log(JSON.stringify({ ct: r.violations.length, cfn: c.success }));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 170_000, env: { ...process.env, THREE_TIER_GUARD_CACHE: 'off' } });
    assert.equal(r.error, undefined, `the process did not exit: ${String(r.error)}`);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ct: number; cfn: boolean };
    assert.ok(out.ct > 0);
  });
});

describe('Guard templates shared between the rulebook threads', () => {
  // Templates the S3 and SQS controls find things in, under different logical ids.
  const docs: Record<string, unknown> = {};
  for (let i = 0; i < 6; i++) {
    docs[`T${i}`] = {
      Resources: {
        [`Bucket${i}`]: { Type: 'AWS::S3::Bucket', Properties: i % 2 ? { VersioningConfiguration: { Status: 'Enabled' } } : {} },
        [`Queue${i}`]: { Type: 'AWS::SQS::Queue', Properties: i % 3 ? {} : { SqsManagedSseEnabled: true } },
      },
    };
  }
  const files = templates(docs);
  const rules = relevantControlTowerRules(new Set(['AWS::S3::Bucket', 'AWS::SQS::Queue']));
  // Named by the rule files' contents, as ControlTowerChecks names its engines (the threads keep engines by key).
  const ruleKey = rules.map((f) => createHash('sha256').update(fs.readFileSync(f)).digest('hex')).sort().join(',');
  const job = (claim?: SharedArrayBuffer) => ({ type: 'guard' as const, key: ruleKey, rules, templates: files.map((file) => ({ file, bytes: fs.readFileSync(file) })), claim });
  const verdicts = (answers: { file: string; diagnostics: GuardDiagnostic[] }[]): string[] =>
    answers.flatMap((a) => a.diagnostics.filter((d) => d.source === 'GUARD').map((d) => `${path.basename(a.file)} ${d.ruleId} ${d.entity?.logicalId ?? ''} ${d.propertyPath ?? ''}`)).sort();

  test('the built-in validation’s thread evaluates a Guard job as the Guard thread does', () => {
    const inGuard = rulebookThread('guard').submit(job(), () => 'guard').wait();
    const inCfn = rulebookThread('cfn-validate').submit(job(), () => 'cfn-validate').wait();
    assert.equal(inGuard.length, files.length);
    assert.ok(verdicts(inGuard).length >= files.length, verdicts(inGuard).join('\n'));
    assert.deepEqual(verdicts(inCfn), verdicts(inGuard));
  });

  test('one job posted to both threads with one counter: every template evaluated exactly once, the same verdicts', () => {
    const alone = rulebookThread('guard').submit(job(), () => 'guard').wait();
    const claim = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const shared = [rulebookThread('guard'), rulebookThread('cfn-validate')].map((t) => t.submit(job(claim), () => t.role)).flatMap((p) => p.wait());
    assert.deepEqual(shared.map((a) => a.file).sort(), [...files].sort());
    assert.deepEqual(verdicts(shared), verdicts(alone));
  });

  test('ControlTowerChecks with the built-in validation’s thread running reports what it reports alone', () => {
    withoutCache(() => {
      const alone = new ControlTowerChecks({ shareWithBuiltinValidation: false }).validate(context(files));
      rulebookThread('cfn-validate');
      const shared = new ControlTowerChecks().validate(context(files));
      assert.equal(alone.success, false);
      assert.ok(key(alone).length >= files.length);
      assert.deepEqual(key(shared), key(alone));
    });
  });

  test('an engine prepared for other resource types changes no verdict', () => {
    withoutCache(() => {
      const plain = new ControlTowerChecks({ shareWithBuiltinValidation: false }).validate(context(files));
      const checks = new ControlTowerChecks();
      checks.prepare(new Set(['AWS::Lambda::Function']));
      assert.deepEqual(key(checks.validate(context(files))), key(plain));
      const right = new ControlTowerChecks();
      right.prepare(new Set(['AWS::S3::Bucket', 'AWS::SQS::Queue']));
      assert.deepEqual(key(right.validate(context(files))), key(plain));
    });
  });

  test('when the built-in validation’s thread ends on its own job, the Guard verdicts are still complete, and its own failure is its own', () => {
    withoutCache(() => {
      const alone = new ControlTowerChecks({ shareWithBuiltinValidation: false }).validate(context(files));
      const missing = path.join(os.tmpdir(), `no-such-template-${process.pid}.template.json`);
      // Its own job first (as in a synth), failing: the thread ends before it takes any Guard template.
      const own = rulebookThread('cfn-validate').submit({ type: 'cfn-validate', context: { templatePaths: [missing], stackTemplates: [{ stackConstructPath: 'Missing', templatePath: missing }] } as never }, () => 'CloudFormation Validate: the validation failed');
      const shared = new ControlTowerChecks().validate(context(files));
      assert.deepEqual(key(shared), key(alone));
      assert.throws(() => own.wait(), (e: Error) => e.message.startsWith('CloudFormation Validate: the validation failed') && e.message.includes('no-such-template'));
    });
  });

  test('a template that fails in either thread fails the evaluation closed, naming it; the next evaluation gets fresh threads', () => {
    const big = JSON.stringify({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } }, Metadata: { Padding: 'x'.repeat(11 * 1024 * 1024) } });
    const [tooBig] = templates({ TooBigShared: big });
    withoutCache(() => {
      rulebookThread('cfn-validate');
      assert.throws(
        () => new ControlTowerChecks().validate(context([...files, tooBig])),
        (e: Error) => e.message.includes('Control Tower controls: the Guard evaluator failed on') && e.message.includes(tooBig),
      );
      rulebookThread('cfn-validate');
      const again = new ControlTowerChecks().validate(context(files));
      assert.equal(again.success, false);
      assert.ok(key(again).length >= files.length);
    });
  });
});

describe('a Guard engine that cannot be built', () => {
  test('fails the job with that reason, not as a failure of its templates', () => {
    const [file] = templates({ EngineFails: { Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: {} } } } });
    const missingRule = path.join(os.tmpdir(), `no-such-rule-${process.pid}.guard`);
    assert.throws(
      () => rulebookThread('guard').submit({ type: 'guard', key: `missing-${process.pid}`, rules: [missingRule], templates: [{ file, bytes: fs.readFileSync(file) }] }, (f) => `Guard failed on ${f ?? 'every template'}`).wait(),
      (e: Error) => e.message.startsWith('Guard failed on every template: building the Guard engine for 1 rule files failed') && e.message.includes('no-such-rule'),
    );
  });
});

describe('the built-in validation registered by the rulebook scope', () => {
  test('reports the version and rule ids aws-cdk-lib’s plugin reports', () => {
    const stock = new CloudFormationValidatePlugin();
    const scoped = new ScopedCloudFormationValidate(new RulebookScope(loadConfig('pilot')));
    assert.equal(scoped.version, stock.version);
    assert.deepEqual(scoped.ruleIds, stock.ruleIds);
    assert.match(scoped.version!, /^\d+\.\d+\.\d+/);
  });

  test('reading them does not load the engine on the main thread (aws-cdk-lib reads them for every stack)', () => {
    const script = [
      "const { RulebookScope, ScopedCloudFormationValidate } = require('./lib/scale/rulebook-scope');",
      "const { loadConfig } = require('./config');",
      "const p = new ScopedCloudFormationValidate(new RulebookScope(loadConfig('pilot')));",
      'const v = [p.version, ...p.ruleIds];',
      "console.log(JSON.stringify({ v, loaded: Object.keys(require.cache).filter((k) => k.includes('@aws/cloudformation-validate')) }));",
    ].join('\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { v: string[]; loaded: string[] };
    assert.match(out.v[0], /^\d+\.\d+\.\d+/);
    assert.deepEqual(out.loaded, []);
  });
});

describe('merging the verdicts of a shared Guard job', () => {
  type V = { file: string; diagnostics: GuardDiagnostic[] }[];
  const files = ['a', 'b', 'c', 'd'];
  const verdict = (file: string): V[number] => ({ file, diagnostics: [{ ruleId: `r-${file}`, source: 'GUARD', message: file }] });
  const describe = (file?: string): string => `Guard failed on ${file ?? 'all'}`;
  function fake(answer: V | Error): Pending<V> & { waited: number; abandoned: number } {
    const p = {
      waited: 0,
      abandoned: 0,
      wait(): V {
        p.waited++;
        if (answer instanceof Error) throw answer;
        return answer;
      },
      abandon(): void {
        p.abandoned++;
      },
    };
    return p;
  }
  const noRerun = (): V => {
    throw new Error('no rerun expected');
  };

  test('the Guard thread answered every template: the helper took none, is not waited for, its answer dropped', () => {
    const helper = fake(new Error('still busy with its own job'));
    const m = collectVerdicts(files, fake(files.map(verdict)), [helper], noRerun, describe);
    assert.deepEqual([...m.keys()].sort(), files);
    assert.equal(helper.waited, 0);
    assert.equal(helper.abandoned, 1);
  });

  test('the two answers together: every template once', () => {
    const m = collectVerdicts(files, fake([verdict('a'), verdict('c')]), [fake([verdict('b'), verdict('d')])], noRerun, describe);
    assert.deepEqual([...m.keys()].sort(), files);
    assert.equal(m.get('d')![0].ruleId, 'r-d');
  });

  test('a helper that failed after taking templates: what it did not answer is evaluated again by the Guard thread, only that', () => {
    const asked: string[][] = [];
    const m = collectVerdicts(files, fake([verdict('a'), verdict('b')]), [fake(new Error('helper ended'))], (missing) => (asked.push(missing), missing.map(verdict)), describe);
    assert.deepEqual(asked, [['c', 'd']]);
    assert.deepEqual([...m.keys()].sort(), files);
  });

  test('a helper that failed on its own job, having taken nothing that is missing: no rerun', () => {
    const m = collectVerdicts(files, fake([verdict('a'), verdict('b'), verdict('c')]), [fake([verdict('d')]), fake(new Error('ended'))], noRerun, describe);
    assert.deepEqual([...m.keys()].sort(), files);
  });

  test('it fails closed: the Guard thread failing, the rerun failing, two verdicts for one template, a verdict for a template not asked for', () => {
    assert.throws(() => collectVerdicts(files, fake(new Error('Guard failed on c: too big')), [fake([verdict('a')])], noRerun, describe), /Guard failed on c: too big/);
    assert.throws(
      () =>
        collectVerdicts(files, fake([verdict('a')]), [fake(new Error('ended'))], () => {
          throw new Error('Guard failed on b: again');
        }, describe),
      /Guard failed on b: again/,
    );
    assert.throws(() => collectVerdicts(files, fake([verdict('a'), verdict('b')]), [fake([verdict('b'), verdict('c'), verdict('d')])], noRerun, describe), /Guard failed on b: two verdicts for one template/);
    assert.throws(() => collectVerdicts(files, fake([verdict('a'), verdict('b')]), [fake([verdict('c'), verdict('x')])], noRerun, describe), /Guard failed on x: a verdict for a template that was not asked for/);
  });

  test('a template nobody answered (a helper returned without it, not failing) is left without a verdict, not given one (ControlTowerChecks then fails, naming it)', () => {
    const m = collectVerdicts(files, fake([verdict('a'), verdict('b')]), [fake([verdict('c')])], noRerun, describe);
    assert.equal(m.has('d'), false);
  });
});

describe('the WebAssembly tiering budget', () => {
  test('set unless the process was given a value or told to keep V8’s', () => {
    assert.equal(wasmTieringFlag([], {}), `--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
    assert.equal(wasmTieringFlag(['--wasm-tiering-budget=5'], {}), undefined);
    assert.equal(wasmTieringFlag([], { NODE_OPTIONS: '--max-old-space-size=4096 --wasm_tiering_budget=7' }), undefined);
    assert.equal(wasmTieringFlag([], { THREE_TIER_WASM_TIERING: 'default' }), undefined);
  });
});
