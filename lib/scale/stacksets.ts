import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Aws, CfnElement, CfnParameter, CfnRule, DefaultStackSynthesizer, Fn, Duration, RemovalPolicy, Stack, StackProps, aws_cloudformation as cfn, aws_iam as iam, aws_s3 as s3, aws_s3_assets as assets, aws_s3_deployment as s3deploy } from 'aws-cdk-lib';
import { zipSync, Zippable } from 'fflate';
import type { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';
import { accessLogsBucketName, pascal } from '../core/naming';
import type { SecurityCloudStack } from '../security-cloud/security-cloud-stack';
import { writeShapes, ShapesIndex } from './assembly';
import { HUB_PARAMETERS } from './hub-parameters';

/**
 * rollout.stackSets: the zone shapes deployed to every municipality's account
 * by CloudFormation StackSets (service-managed permissions, AWS
 * Organizations), wave by wave, one wave per prefecture OU.
 *
 * Why `CfnStackSet` and not cdk-stacksets (cdklabs): a shape is not a
 * construct tree. It is derived from the synthesized zone template (every
 * municipality value made a parameter, checked to give the template back
 * exactly, lib/scale/shapes.ts), so what a stack set deploys is the template
 * the rulebooks and the analyzer checked. cdk-stacksets synthesizes a
 * `StackSetStack` construct tree into the template, which would mean
 * rebuilding each zone with token CIDRs (which `ec2.Vpc` refuses), and it
 * takes one parameter set per target, not one per account within an OU. Its
 * asset approach is kept: org-readable buckets `<prefix>-<region>` filled by a
 * BucketDeployment.
 *
 * Layout, all in the security cloud account and region:
 * - `<Config>-Rollout-Assets`: the org-readable asset bucket and the zone
 *   shapes' Lambda code in it (the zone stacks name this bucket, not a CDK
 *   bootstrap bucket, which member accounts do not have);
 * - `<Config>-Rollout-<pref>[-<n>]`: one stack per prefecture wave (split
 *   when its template would pass 500 resources or 1 MB), each with one stack
 *   set per shape its municipalities use and one instance group per
 *   municipality: the prefecture OU intersected with the municipality's
 *   account, and the municipality's values as parameter overrides. The
 *   hub's ids are overrides too, referenced from the hub stack (same account):
 *   nobody copies an id. Each wave depends on the one before.
 *
 * Auto-deployment is off: StackSets does not apply parameter overrides to
 * instances it creates by auto-deployment (they would get the template
 * defaults, and a shape has none for municipality values).
 */

/** The quotas this module keeps (CloudFormation User Guide, "Understand CloudFormation quotas"). */
export const QUOTAS = { resourcesPerTemplate: 500, parametersPerTemplate: 200, templateBytesViaS3: 1_000_000, stackSetsPerAdministrator: 1000, organizationalUnitsPerCall: 50 } as const;

/** Split a wave before its estimated template passes this size (room for CDK's own metadata). */
const WAVE_TEMPLATE_BUDGET = 700_000;

export function assetBucketPrefix(cfg: ThreeTierConfig): string {
  const ss = cfg.rollout.stackSets!;
  return ss.assetBucketPrefix ?? `${cfg.name}-ss-assets-${cfg.securityCloud.account ?? cfg.account}`;
}

/**
 * The synthesizer of zone stacks under rollout.stackSets: file assets are
 * read from the org-readable bucket `<prefix>-<region>` (filled by the
 * rollout's assets stack), and there is no bootstrap-version rule (member
 * accounts are not CDK-bootstrapped).
 */
export function zoneSynthesizer(cfg: ThreeTierConfig): DefaultStackSynthesizer | undefined {
  if (!cfg.rollout.stackSets) return undefined;
  return new DefaultStackSynthesizer({ fileAssetsBucketName: `${assetBucketPrefix(cfg)}-\${AWS::Region}`, bucketPrefix: '', generateBootstrapVersionRule: false });
}

/** The zone stacks' guard parameter: stack sets set it; a direct `cdk deploy` of a zone stack leaves the default, and its Rule refuses it. */
export const ROLLOUT_PARAMETER = 'ThreeTierDeployedBy';

/**
 * Under rollout.stackSets a zone stack in the assembly is a shape's sample,
 * not a stack to deploy: its template refuses to be created unless the
 * stack set says so (an accidental `cdk deploy --all` would otherwise put a
 * municipality's zones into whatever account the CLI uses).
 */
export function guardZoneStack(stack: Stack, cfg: ThreeTierConfig): void {
  if (!cfg.rollout.stackSets) return;
  const p = new CfnParameter(stack, ROLLOUT_PARAMETER, { type: 'String', default: 'cdk-deploy', allowedValues: ['cdk-deploy', 'stackset'], description: 'Set to "stackset" by the rollout stack sets only' });
  new CfnRule(stack, 'DeployedByStackSet', {
    assertions: [
      {
        assert: Fn.conditionEquals(p.valueAsString, 'stackset'),
        assertDescription: `This zone stack is deployed by CloudFormation StackSets: deploy ${pascal(cfg.name)}-Rollout-<prefecture> instead (docs/rollout.en.md), not this stack.`,
      },
    ],
  });
}

export interface RolloutMember {
  readonly code: string;
  readonly stack: string;
  readonly classId: string;
  readonly parameters: Record<string, string>;
  readonly account: string;
  readonly region: string;
}

/** What the rollout deploys: shapes (template files), members, and the zone stacks' asset files by object key. */
export interface RolloutPlan {
  readonly dir: string;
  readonly index: ShapesIndex;
  readonly shapeFile: Map<string, string>;
  /** A folder holding each zone asset as `<objectKey>` (zips as the zone templates name them). */
  readonly assetsDir: string;
}

/**
 * Synthesizes the zone stacks once, apart (no rulebooks, no report: the app's
 * own synth runs them and reports every annotation), to know the shapes and
 * every municipality's values before the rollout stacks are built. The app's synth writes the same shapes again;
 * `verifyRolloutShapes` refuses an assembly where they differ.
 */
export function planRollout(cfg: ThreeTierConfig, build: (app: App) => void, newApp: (outdir: string) => App): RolloutPlan {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'three-tier-rollout-'));
  const app = newApp(path.join(dir, 'cdk.out'));
  build(app);
  app.synth();
  const out = path.join(dir, 'shapes');
  const { index } = writeShapes(app.outdir, cfg, out);
  const shapeFile = new Map(index.classes.map((c) => [c.id, path.join(out, c.template)]));
  // The zone stacks' file assets, each under the object key its template names.
  const assetsDir = path.join(dir, 'assets');
  fs.mkdirSync(assetsDir);
  const manifest = JSON.parse(fs.readFileSync(path.join(app.outdir, 'manifest.json'), 'utf8'));
  const zoneStacks = new Set(index.classes.flatMap((c) => c.members.filter((m) => !m.predicted).map((m) => m.stack)));
  for (const [name, artifact] of Object.entries<{ type: string; properties?: { file?: string } }>(manifest.artifacts)) {
    if (artifact.type !== 'cdk:asset-manifest' || !zoneStacks.has(name.replace(/\.assets$/, ''))) continue;
    const am = JSON.parse(fs.readFileSync(path.join(app.outdir, artifact.properties!.file!), 'utf8'));
    for (const f of Object.values<{ source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }>(am.files ?? {})) {
      if (f.source.path.endsWith('.template.json')) continue;
      const key = Object.values(f.destinations)[0].objectKey;
      const target = path.join(assetsDir, key);
      if (fs.existsSync(target)) continue;
      const src = path.join(app.outdir, f.source.path);
      if (f.source.packaging === 'zip' && fs.statSync(src).isDirectory()) fs.writeFileSync(target, zipDirectory(src));
      else fs.copyFileSync(src, target);
    }
  }
  return { dir, index, shapeFile, assetsDir };
}

/** A deterministic zip of a directory (as cdk-assets would publish it: files at the root of the archive). */
function zipDirectory(dir: string): Uint8Array {
  const files: Zippable = {};
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else files[r] = [new Uint8Array(fs.readFileSync(p)), { mtime: new Date('1980-01-01T00:00:00Z') }];
    }
  };
  walk(dir, '');
  return zipSync(files, { level: 6 });
}

export interface Rollout {
  readonly assets: Stack;
  readonly waves: Stack[];
  /** Shape ids the rollout deploys (verified against the app's own shapes after synth). */
  readonly shapeIds: string[];
}

/** Builds the assets stack and one stack per prefecture wave (split by size) into `app`. */
export function buildRollout(app: App, cfg: ThreeTierConfig, hub: SecurityCloudStack, plan: RolloutPlan): Rollout {
  const ss = cfg.rollout.stackSets!;
  const env = { account: cfg.securityCloud.account ?? cfg.account, region: cfg.region };
  const name = pascal(cfg.name);
  const assetsStack = new Stack(app, `${name}-Rollout-Assets`, { env, description: `Three-tier (${cfg.name}): StackSets asset bucket (readable by organization ${ss.organizationId}) with the zone shapes' Lambda code` });
  const bucket = new s3.Bucket(assetsStack, 'Bucket', {
    bucketName: `${assetBucketPrefix(cfg)}-${cfg.region}`,
    // SSE-S3: readers are every member account's stack-set execution role, Lambda and the zone hosts' roles;
    // with a KMS key each of their IAM policies would have to name this account's key.
    encryption: s3.BucketEncryption.S3_MANAGED,
    // Old versions stay a year (instances rolled back within it find their code); no upload stays half done.
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(365), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    enforceSSL: true,
    versioned: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: s3.Bucket.fromBucketName(assetsStack, 'AccessLogs', accessLogsBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region)),
    serverAccessLogsPrefix: 'buckets/stackset-assets/',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OrganizationReadsZoneAssets',
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:GetObject'],
      resources: [bucket.arnForObjects('*')],
      conditions: { StringEquals: { 'aws:PrincipalOrgID': ss.organizationId } },
    }),
  );
  const cfnBucket = bucket.node.defaultChild!;
  acknowledge(cfnBucket, controlTower('s3_bucket_logging_enabled_check'), 'Server access logging is on: it targets the project access-log bucket, named with Fn::Join on the account id, which this Guard rule cannot resolve (it accepts only literals or same-template references).');
  acknowledge(cfnBucket, controlTower('s3_bucket_object_lock_enabled_check'), 'Deployment artifacts (Lambda code by content hash), written only by the rollout; versioning keeps every earlier object for a year, and every object can be rebuilt from the repository.');
  acknowledge(cfnBucket, controlTower('s3_bucket_default_encryption_kms_check'), "Encrypted with S3-managed keys (SSE-S3): every member account reads these objects (stack-set execution roles, Lambda, the zone hosts' roles), and with a KMS key each of those IAM policies would need kms:Decrypt on this account's key. The objects are Lambda and host code from the repository, no data.");
  acknowledge(cfnBucket, controlTower('s3_event_notifications_enabled_check'), 'Nothing reacts to these objects: CloudFormation reads them when a stack instance is created or updated.');
  acknowledge(bucket, '@aws-cdk/aws-s3:accessLogsPolicyNotAdded', "The access-log bucket lives in the log archive stack, whose policy admits logging.s3.amazonaws.com for the project's buckets in this account.");
  new s3deploy.BucketDeployment(assetsStack, 'ZoneAssets', {
    sources: [s3deploy.Source.asset(plan.assetsDir)],
    destinationBucket: bucket,
    // Instances being updated or rolled back still need the code of earlier shapes.
    prune: false,
    retainOnDelete: true,
    memoryLimit: 512,
  });
  acknowledgeBucketDeployment(assetsStack, bucket);

  const waves: Stack[] = [];
  const shapeIds = new Set<string>();
  const members = plan.index.classes.flatMap((c) =>
    c.members.map((m) => {
      const file = path.join(plan.dir, 'shapes', m.parametersFile);
      return { code: m.code, stack: m.stack, classId: c.id, parameters: JSON.parse(fs.readFileSync(file, 'utf8')).Parameters as Record<string, string>, account: m.account!, region: m.region! };
    }),
  );
  let previous: Stack | undefined;
  for (const wave of ss.waves) {
    const mine = members.filter((m) => m.code.slice(0, 2) === wave.prefecture).sort((a, b) => a.code.localeCompare(b.code) || a.stack.localeCompare(b.stack));
    for (const [n, chunk] of chunkByCode(mine).entries()) {
      const id = `${name}-Rollout-${wave.prefecture}${n === 0 ? '' : `-${n + 1}`}`;
      const stack = new Stack(app, id, { env, description: `Three-tier (${cfg.name}): wave ${wave.prefecture} (${wave.organizationalUnitId}), ${new Set(chunk.map((m) => m.code)).size} municipalities by StackSets` } as StackProps);
      stack.addStackDependency(assetsStack);
      stack.addStackDependency(hub);
      if (previous) stack.addStackDependency(previous);
      previous = stack;
      for (const classId of [...new Set(chunk.map((m) => m.classId))].sort()) {
        shapeIds.add(classId);
        const shape = plan.index.classes.find((c) => c.id === classId)!;
        const shapeTemplate = JSON.parse(fs.readFileSync(plan.shapeFile.get(classId)!, 'utf8'));
        const declared = Object.keys(shapeTemplate.Parameters ?? {});
        const hubParams = HUB_PARAMETERS.filter((p) => declared.includes(p.name));
        const unknown = declared.filter((p) => shapeTemplate.Parameters[p].Default === undefined && !shape.parameters.includes(p) && !hubParams.some((h) => h.name === p));
        if (unknown.length) throw new Error(`rollout: shape ${classId} declares parameters that are neither municipality values nor the hub's ids: ${unknown.join(', ')}`);
        const template = new assets.Asset(stack, `Template-${classId}`, { path: plan.shapeFile.get(classId)! });
        const of = chunk.filter((m) => m.classId === classId);
        const hubValues = hubParams.map((p) => ({ parameterKey: p.name, parameterValue: p.value(hub) }));
        new cfn.CfnStackSet(stack, `StackSet-${classId}`, {
          stackSetName: `${cfg.name}-${wave.prefecture}${n === 0 ? '' : `-${n + 1}`}-${classId}`,
          description: `Three-tier (${cfg.name}): ${shape.zone} zone shape ${classId} for prefecture ${wave.prefecture}`,
          permissionModel: 'SERVICE_MANAGED',
          callAs: ss.callAs,
          autoDeployment: { enabled: false },
          capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM'],
          managedExecution: { Active: true },
          operationPreferences: { maxConcurrentPercentage: ss.maxConcurrentPercentage, failureTolerancePercentage: ss.failureTolerancePercentage, regionConcurrencyType: 'SEQUENTIAL' },
          templateUrl: template.httpUrl,
          // Every parameter has a stack-set value (the first member's), overridden per municipality.
          parameters: [...Object.entries(of[0].parameters).map(([k, v]) => ({ parameterKey: k, parameterValue: v })), ...hubValues, { parameterKey: ROLLOUT_PARAMETER, parameterValue: 'stackset' }],
          stackInstancesGroup: of.map((m) => ({
            deploymentTargets: { organizationalUnitIds: [wave.organizationalUnitId], accounts: [m.account], accountFilterType: 'INTERSECTION' },
            regions: [m.region],
            parameterOverrides: Object.entries(m.parameters).map(([k, v]) => ({ parameterKey: k, parameterValue: v })),
          })),
        });
      }
      waves.push(stack);
    }
  }
  return { assets: assetsStack, waves, shapeIds: [...shapeIds].sort() };
}

/** Splits a wave's members (whole municipalities) so each stack's template stays well under the quotas. */
function chunkByCode(members: RolloutMember[]): RolloutMember[][] {
  const byCode = new Map<string, RolloutMember[]>();
  for (const m of members) byCode.set(m.code, [...(byCode.get(m.code) ?? []), m]);
  const chunks: RolloutMember[][] = [];
  let cur: RolloutMember[] = [];
  let bytes = 0;
  for (const group of byCode.values()) {
    const size = group.reduce((n, m) => n + JSON.stringify(m.parameters).length * 2 + 300, 0);
    if (cur.length && bytes + size > WAVE_TEMPLATE_BUDGET) {
      chunks.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(...group);
    bytes += size;
  }
  if (cur.length) chunks.push(cur);
  return chunks;
}

/** The findings on aws-cdk-lib's BucketDeployment handler, each with its reason (it runs only when the assets stack deploys). */
function acknowledgeBucketDeployment(stack: Stack, bucket: s3.Bucket): void {
  const handler = stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (!handler) throw new Error('rollout: the BucketDeployment handler was not found; its findings cannot be acknowledged');
  const fn = handler.node.defaultChild!;
  const role = handler.node.findChild('ServiceRole');
  const policy = role.node.findChild('DefaultPolicy').node.defaultChild!;
  acknowledge(fn, controlTower('lambda_inside_vpc_check'), 'The CDK BucketDeployment handler copies the zone assets from the CDK asset bucket into the StackSets asset bucket at deploy time; it needs only S3 (and KMS) APIs and holds no data of its own.');
  acknowledge(fn, 'AwsSolutions-L1', 'The runtime is chosen by aws-cdk-lib for its BucketDeployment handler (pinned aws-cdk-lib version); it is not project code.');
  acknowledge(role.node.defaultChild!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-provided deploy-time handler: it only needs to write its own logs.');
  const wildcards = ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*', `Resource::<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>/*`];
  for (const w of wildcards) acknowledge(policy, `AwsSolutions-IAM5[${w}]`, 'Grants aws-cdk-lib gives its BucketDeployment handler: read the CDK asset bucket, write and list this StackSets asset bucket only.');
  acknowledge(policy, `AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-${stack.account}-${stack.region}/*]`, 'The handler reads the zone assets from the CDK bootstrap bucket of this account, where cdk deploy published them.');
}

/**
 * After the app's synth: the shapes the rollout deploys must be shapes of the
 * assembly (the same zone templates, checked by every rulebook). Throws when
 * the separate synth and the app's disagree.
 */
export function verifyRolloutShapes(index: ShapesIndex, rollout: Rollout): void {
  const ids = new Set(index.classes.map((c) => c.id));
  const missing = rollout.shapeIds.filter((id) => !ids.has(id));
  if (missing.length) throw new Error(`rollout: the stack sets deploy shapes ${missing.join(', ')}, which this assembly's zone stacks do not have; the rollout was planned from different templates (report this as a bug)`);
}
