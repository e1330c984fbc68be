import { Construct } from 'constructs';
import { Aws, Stack, StackProps } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig, Zone } from '../../config/schema';
import { logArchiveBucketName } from '../core/naming';
import { tagZone } from '../core/tags';
import { ZoneVpc } from './zone-vpc';
import type { SecurityCloudStack } from '../security-cloud/security-cloud-stack';
import { TenantAttachment } from '../security-cloud/tenant';
import { DnsFirewall } from '../security-cloud/dns-firewall';

export interface ZoneStackProps extends StackProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly zone: Zone;
  /** For the internet zone: the security cloud stack, when it is in the same account. */
  readonly securityCloud?: SecurityCloudStack;
  /** For the internet zone under rollout.stackSets: the security cloud stack in another account (its ids become bound parameters). */
  readonly remoteSecurityCloud?: SecurityCloudStack;
}

/**
 * One zone of one municipality (`<Config>-<Municipality>-<Zone>`). Every
 * resource in it carries the ThreeTier:Zone and ThreeTier:Municipality tags.
 */
export class ZoneStack extends Stack {
  readonly zoneVpc: ZoneVpc;
  readonly tenant?: TenantAttachment;
  private readonly azs: string[];

  constructor(scope: Construct, id: string, props: ZoneStackProps) {
    super(scope, id, props);
    const { config: cfg, municipality: m, zone } = props;
    this.azs = m.availabilityZones ?? cfg.availabilityZones;
    tagZone(this, cfg.name, zone, m.code);

    this.zoneVpc = new ZoneVpc(this, 'Zone', {
      configName: cfg.name,
      municipalityCode: m.code,
      zone,
      cidr: m.cidrs[zone],
      availabilityZones: this.azs,
      interfaceEndpointAzs: Math.min(cfg.sizing.interfaceEndpointAzs, this.azs.length),
      logArchiveBucketName: logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region),
      flowLogAggregationSeconds: cfg.sizing.flowLogAggregationSeconds,
    });
    ZoneVpc.acknowledgeDefaultSgProvider(this);
    // Every zone's DNS queries go to the log archive (dns-query-logs/<code>/<zone>/).
    const archiveArn = `arn:${Aws.PARTITION}:s3:::${logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region)}`;
    DnsFirewall.queryLogs(this, 'DnsQueryLogs', archiveArn, `${m.code}/${zone}`, this.zoneVpc.vpc.vpcId);
    if (zone === 'internet') {
      const archive = logArchiveBucketName(cfg.name, cfg.account ?? Aws.ACCOUNT_ID, cfg.region);
      this.tenant = new TenantAttachment(this, 'SecurityCloud', {
        config: cfg,
        municipality: m,
        vpc: this.zoneVpc.vpc,
        hub: props.securityCloud,
        remoteHub: props.remoteSecurityCloud,
        logArchiveBucketArn: `arn:${Aws.PARTITION}:s3:::${archive}`,
      });
    }
  }

  /** AZs come from config: synth never looks them up. */
  get availabilityZones(): string[] {
    return this.azs;
  }
}
