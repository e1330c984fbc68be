import * as fs from 'fs';
import * as path from 'path';
import { App, CfnElement, CfnResource, IPolicyValidationPlugin, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerChecks } from './compliance/control-tower';
import { ThreeTierConfig, ZONES } from '../config/schema';
import { securityCloudStackName, zoneStackName } from './core/naming';
import { LogArchiveStack } from './log-archive/log-archive-stack';
import { SecurityCloudStack } from './security-cloud/security-cloud-stack';
import { ZoneStack } from './network/zone-stack';
import { wireCrossings } from './crossings/wire';
import { buildIntent, IsolationIntent, writeIntent } from './isolation/intent';
import { ThreeTierIsolationChecks } from './isolation/pack';
import { attachZoneDnsFirewalls } from './network/zone-dns';
import { alphaPrimeMunicipalities, ProxyConsumer, ProxyStack } from './security-cloud/proxy';
import { builtMunicipalities, featureGroups } from './scale/features';
import { buildRollout, guardZoneStack, planRollout, Rollout, verifyRolloutShapes, zoneSynthesizer } from './scale/stacksets';
import { ShapesIndex, writeShapes } from './scale/assembly';
import { builtinValidationEnabled, RulebookScope, ScopedCloudFormationValidate, ScopedNagPack, ScopedPlugin, TimedPlugin } from './scale/rulebook-scope';

export interface ThreeTierApp {
  readonly config: ThreeTierConfig;
  /** The isolation intent of this config (enforcing logical ids are filled by `synthThreeTier`). */
  readonly intent: IsolationIntent;
  readonly logArchive: LogArchiveStack;
  readonly securityCloud: SecurityCloudStack;
  /** Zone stacks by municipality code, then zone. */
  readonly zones: Map<string, Map<string, ZoneStack>>;
  readonly stacks: Stack[];
  /** rollout.method "shapes": for each municipality the app did not build, the built one whose shapes it takes. */
  readonly builtAs: Map<string, string>;
  /** rollout.stackSets: the assets stack and the wave stacks (lib/scale/stacksets.ts). */
  readonly rollout?: Rollout;
}

/**
 * The app's context from cdk.json: the feature flags `cdk init` sets for this
 * aws-cdk-lib version, and the project's own settings. Read here too, so tests,
 * benchmarks and the CLI synthesize with the same flags. Deviations from the
 * recommended values are listed (with the reason) in docs/design.en.md.
 */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'cdk.json'), 'utf8')).context ?? {};

/** A new App with the project's feature flags; `context` may add `config` and others. */
export function createApp(context: Record<string, unknown> = {}, outdir?: string, opts: { builtinValidation?: boolean; treeMetadata?: boolean } = {}): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, ...context }, outdir, builtinCloudFormationValidation: opts.builtinValidation, treeMetadata: opts.treeMetadata });
}

function env(account: string | undefined, region: string): { account?: string; region: string } {
  return account ? { account, region } : { region };
}

/** Builds every stack of a config into `app`. Adds no validation plugins. `rollout: false` leaves out the StackSets rollout stacks. */
export function buildThreeTier(app: App, cfg: ThreeTierConfig, opts: { rollout?: boolean } = {}): ThreeTierApp {
  const logArchive = new LogArchiveStack(app, securityCloudStackName(cfg.name, 'LogArchive'), {
    config: cfg,
    env: env(cfg.account, cfg.region),
    description: `Three-tier (${cfg.name}): log archive with object lock, shared by every zone`,
  });
  const scAccount = cfg.securityCloud.account ?? cfg.account;
  const securityCloud = new SecurityCloudStack(app, securityCloudStackName(cfg.name, cfg.securityCloud.name), {
    config: cfg,
    env: env(scAccount, cfg.region),
    description: `Three-tier (${cfg.name}): security cloud ${cfg.securityCloud.name} (Transit Gateway hub, Network Firewall, NAT egress, DNS Firewall, MX gateway, SOC)`,
  });
  securityCloud.addStackDependency(logArchive);
  const stacks: Stack[] = [logArchive, securityCloud];
  // α′: each municipality's inspecting proxy in the security cloud account, in a stack of its own.
  const proxies = new Map<string, ProxyStack>();
  for (const m of alphaPrimeMunicipalities(cfg)) {
    const proxy = new ProxyStack(app, securityCloudStackName(cfg.name, `Proxy${m.code}`), {
      config: cfg,
      municipality: m,
      hub: securityCloud,
      env: env(scAccount, cfg.region),
      description: `Three-tier (${cfg.name}): alpha-prime inspecting proxy of ${m.nameEn ?? m.code} ${m.code} in security cloud ${cfg.securityCloud.name}`,
    });
    proxy.addStackDependency(logArchive);
    proxies.set(m.code, proxy);
    stacks.push(proxy);
  }
  const zones = new Map<string, Map<string, ZoneStack>>();
  // rollout.method "shapes": one municipality per shape (and one to verify it) is built; the others become parameter files (lib/scale).
  for (const m of builtMunicipalities(cfg)) {
    const byZone = new Map<string, ZoneStack>();
    for (const zone of ZONES) {
      const stack = new ZoneStack(app, zoneStackName(cfg.name, m.code, zone), {
        config: cfg,
        municipality: m,
        zone,
        securityCloud: zone === 'internet' && (m.account ?? cfg.account) === scAccount ? securityCloud : undefined,
        remoteSecurityCloud: zone === 'internet' && (m.account ?? cfg.account) !== scAccount ? securityCloud : undefined,
        // rollout.stackSets: no account (the template is every account's), assets from the org-readable bucket.
        env: cfg.rollout.stackSets ? { region: m.region ?? cfg.region } : env(m.account ?? cfg.account, m.region ?? cfg.region),
        synthesizer: zoneSynthesizer(cfg),
        // rollout.stackSets: no CDKMetadata (it differs between the rollout's separate synth and the app's, and member accounts need none).
        ...(cfg.rollout.stackSets ? { analyticsReporting: false } : {}),
        description: `Three-tier (${cfg.name}): ${m.nameEn ?? m.code} ${m.code} ${zone} zone`,
      });
      guardZoneStack(stack, cfg);
      // Another account (rollout.method "stacks"): its internet zone reads the hub's shared SSM parameters, so the hub goes first.
      if (zone === 'internet' && !cfg.rollout.stackSets && (m.account ?? cfg.account) !== scAccount) stack.addStackDependency(securityCloud);
      // Flow logs need the archive to exist first (same environment only).
      if ((m.account ?? cfg.account) === cfg.account && (m.region ?? cfg.region) === cfg.region) stack.addStackDependency(logArchive);
      byZone.set(zone, stack);
      stacks.push(stack);
    }
    zones.set(m.code, byZone);
  }
  const crossingStacks = wireCrossings(app, cfg, zones);
  for (const [code, proxy] of proxies) {
    const m = proxy.proxy.municipality;
    const lgwan = zones.get(code)?.get('lgwan');
    if (!lgwan) continue; // not built (rollout.method "shapes"): its lgwan shape has the consumer
    if ((m.account ?? cfg.account) !== scAccount) continue; // the proxy stack warns and docs/proxy.en.md says what to do
    new ProxyConsumer(lgwan, 'AlphaPrimeProxy', { vpc: lgwan.zoneVpc.vpc, serviceName: proxy.proxy.service.vpcEndpointServiceName, port: m.alphaPrime!.port, officeCidrs: m.terminals.lgwan?.officeCidrs ?? [] });
  }
  if (crossingStacks.simulatedLgwan) stacks.push(crossingStacks.simulatedLgwan);
  stacks.push(...crossingStacks.models);
  const intent = buildIntent(cfg, (code, zone) => zoneStackName(cfg.name, code, zone), securityCloud.stackName);
  // DNS is a channel: every allowlist zone of the intent gets its DNS Firewall (after the crossings, whose buckets it names).
  attachZoneDnsFirewalls(cfg, zones, intent);
  const builtAs = new Map<string, string>();
  for (const g of featureGroups(cfg)) for (const m of g.members) if (!zones.has(m.code)) builtAs.set(m.code, g.members[0].code);
  // A municipality not built resolves the names of its own buckets, as the one whose shapes it takes resolves its own.
  for (const [code, as] of builtAs) {
    for (const z of intent.zones) {
      if (z.municipality !== code || z.dns?.policy !== 'allowlist') continue;
      const from = intent.zones.find((x) => x.municipality === as && x.zone === z.zone)?.dns?.names ?? [];
      const mine = from.map((n) => n.split(`${cfg.name}-${as}-`).join(`${cfg.name}-${code}-`));
      z.dns.names = [...new Set([...(z.dns.names ?? []), ...mine])].sort();
    }
  }
  let rollout: Rollout | undefined;
  if (cfg.rollout.stackSets && opts.rollout !== false) {
    const plan = planRollout(cfg, (a) => buildThreeTier(a, cfg, { rollout: false }), (outdir) => createApp({ '@aws-cdk/core:failSynthOnValidationErrors': false }, outdir, { builtinValidation: false, treeMetadata: false }));
    try {
      rollout = buildRollout(app, cfg, securityCloud, plan);
    } finally {
      // Everything the rollout needs from the separate synth is staged into this app's assembly by now.
      fs.rmSync(plan.dir, { recursive: true, force: true });
    }
    stacks.push(rollout.assets, ...rollout.waves);
  }
  return { config: cfg, intent, logArchive, securityCloud, zones, stacks, builtAs, rollout };
}

/**
 * After the synth: the zone stacks' shapes and each municipality's parameter
 * file into the assembly (`cdk.out/shapes`, for `check-isolation --shapes`),
 * and under rollout.stackSets the proof that the stack sets deploy shapes of
 * this assembly and nothing else.
 */
export function writeAssemblyShapes(app: App, built: ThreeTierApp): ShapesIndex {
  const { index } = writeShapes(app.outdir, built.config);
  if (built.rollout) verifyRolloutShapes(index, built.rollout);
  return index;
}

/** The CloudFormation resource types of an app's constructs. */
function cfnResourceTypes(app: App): Set<string> {
  const types = new Set<string>();
  for (const c of app.node.findAll()) if (CfnResource.isCfnResource(c)) types.add(c.cfnResourceType);
  return types;
}

function findByPath(app: App, constructPath: string): IConstruct | undefined {
  let node: IConstruct | undefined = app;
  for (const part of constructPath.split('/')) node = node?.node.tryFindChild(part);
  return node;
}

/**
 * A construct path in a municipality the app did not build (rollout.method
 * "shapes"), as the path of the same resource in the municipality whose
 * shapes it takes: same shape, same logical id.
 */
function builtPath(stackAs: Map<string, string>, constructPath: string): string {
  const [stack, ...rest] = constructPath.split('/');
  const as = stackAs.get(stack);
  return as ? [as, ...rest].join('/') : constructPath;
}

/**
 * Fills the enforcing resources' logical ids into the intent and writes it
 * into the app's cloud assembly directory (isolation-intent.json).
 */
export function writeIsolationIntent(app: App, built: ThreeTierApp): string {
  // Zone stack names of the municipalities not built → the same zone of the one whose shapes they take.
  const stackAs = new Map<string, string>();
  for (const [code, as] of built.builtAs) for (const zone of ZONES) stackAs.set(zoneStackName(built.config.name, code, zone), zoneStackName(built.config.name, as, zone));
  for (const c of [...built.intent.crossings, ...(built.intent.ingress ?? [])]) {
    for (const e of c.enforcedBy) {
      let el = findByPath(app, e.constructPath) ?? (stackAs.size ? findByPath(app, builtPath(stackAs, e.constructPath)) : undefined);
      if (el && !(el instanceof CfnElement)) el = el.node.defaultChild;
      if (!(el instanceof CfnElement)) {
        throw new Error(`isolation intent: crossing ${c.id} names ${e.constructPath} (${e.role}), which is not a CloudFormation resource of this app`);
      }
      e.logicalId = Stack.of(el).resolve(el.logicalId) as string;
    }
  }
  return writeIntent(app.outdir, built.intent);
}

/** Builds, registers the rulebooks (unless told not to), writes the intent and synthesizes. */
export function synthThreeTier(app: App, built: ThreeTierApp, opts: { rulebooks?: boolean; onRulebooks?: (scope: RulebookScope) => void } = {}): ReturnType<App['synth']> {
  if (opts.rulebooks ?? true) {
    const scope = addRulebooks(app, built.config)!;
    opts.onRulebooks?.(scope);
  }
  writeIsolationIntent(app, built);
  return app.synth();
}

/**
 * The rulebooks that run on every synth and fail it on error: AwsSolutions
 * (cdk-nag), the AWS Control Tower proactive controls (cfn-guard) and this
 * project's isolation pack, besides aws-cdk-lib's built-in CloudFormation
 * validation. Given the config, the first two and the built-in validation
 * evaluate every stack that is not a zone stack and one zone stack per shape
 * (lib/scale/rulebook-scope.ts); the isolation pack evaluates every stack.
 */
export function addRulebooks(app: App, cfg?: ThreeTierConfig): RulebookScope | undefined {
  if (!cfg) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ControlTowerChecks(), new ThreeTierIsolationChecks(app));
    return undefined;
  }
  const scope = new RulebookScope(cfg);
  const controlTower = new ControlTowerChecks();
  const plugins: IPolicyValidationPlugin[] = [new ScopedNagPack(new AwsSolutionsChecks(app), scope), new ScopedPlugin(controlTower, scope), new TimedPlugin(new ThreeTierIsolationChecks(app), scope)];
  // Registered in place of the default instance (aws-cdk-lib adds its own only when none is registered).
  if (builtinValidationEnabled(app)) plugins.push(new ScopedCloudFormationValidate(scope));
  Validations.of(app).addPlugins(...plugins);
  // The Guard engine for the app's resource types is built while the app synthesizes.
  controlTower.prepare(cfnResourceTypes(app));
  return scope;
}
