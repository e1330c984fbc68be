import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ControlTowerChecks } from './compliance/control-tower';
import { ThreeTierConfig, ZONES } from '../config/schema';
import { securityCloudStackName, zoneStackName } from './core/naming';
import { LogArchiveStack } from './log-archive/log-archive-stack';
import { ZoneStack } from './network/zone-stack';

export interface ThreeTierApp {
  readonly logArchive: LogArchiveStack;
  /** Zone stacks by municipality code, then zone. */
  readonly zones: Map<string, Map<string, ZoneStack>>;
  readonly stacks: Stack[];
}

/** Feature flags this project depends on (set in code so tests and the CLI agree). */
export const FEATURE_FLAGS = {
  // Grant S3 server access log delivery by bucket policy, not by ACL (ACLs stay disabled).
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
} as const;

/** A new App with the project's feature flags; `context` may add `config` and others. */
export function createApp(context: Record<string, unknown> = {}, outdir?: string): App {
  return new App({ context: { ...FEATURE_FLAGS, ...context }, outdir });
}

function env(account: string | undefined, region: string): { account?: string; region: string } {
  return account ? { account, region } : { region };
}

/** Builds every stack of a config into `app`. Adds no validation plugins. */
export function buildThreeTier(app: App, cfg: ThreeTierConfig): ThreeTierApp {
  const logArchive = new LogArchiveStack(app, securityCloudStackName(cfg.name, 'LogArchive'), {
    config: cfg,
    env: env(cfg.account, cfg.region),
    description: `Three-tier (${cfg.name}): log archive with object lock, shared by every zone`,
  });
  const stacks: Stack[] = [logArchive];
  const zones = new Map<string, Map<string, ZoneStack>>();
  for (const m of cfg.municipalities) {
    const byZone = new Map<string, ZoneStack>();
    for (const zone of ZONES) {
      const stack = new ZoneStack(app, zoneStackName(cfg.name, m.code, zone), {
        config: cfg,
        municipality: m,
        zone,
        env: env(m.account ?? cfg.account, m.region ?? cfg.region),
        description: `Three-tier (${cfg.name}): ${m.nameEn ?? m.code} ${m.code} ${zone} zone`,
      });
      // Flow logs need the archive to exist first (same environment only).
      if ((m.account ?? cfg.account) === cfg.account && (m.region ?? cfg.region) === cfg.region) stack.addStackDependency(logArchive);
      byZone.set(zone, stack);
      stacks.push(stack);
    }
    zones.set(m.code, byZone);
  }
  return { logArchive, zones, stacks };
}

/**
 * The rulebooks that run on every synth and fail it on error: AwsSolutions
 * (cdk-nag) and the AWS Control Tower proactive controls (cfn-guard).
 */
export function addRulebooks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ControlTowerChecks());
}
