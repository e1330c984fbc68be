import { describe, test } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CloudFormationValidatePlugin, IPolicyValidationContext } from 'aws-cdk-lib';
import { ControlTowerChecks } from '../lib/compliance/control-tower';
import { rulebookThread } from '../lib/compliance/rulebook-threads';
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
