import { Construct } from 'constructs';
import { Aws, Stack, StackProps } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig, Zone } from '../../config/schema';
import { logArchiveBucketName } from '../core/naming';
import { tagZone } from '../core/tags';
import { ZoneVpc } from './zone-vpc';

export interface ZoneStackProps extends StackProps {
  readonly config: ThreeTierConfig;
  readonly municipality: Municipality;
  readonly zone: Zone;
}

/**
 * One zone of one municipality (`<Config>-<Municipality>-<Zone>`). Every
 * resource in it carries the ThreeTier:Zone and ThreeTier:Municipality tags.
 */
export class ZoneStack extends Stack {
  readonly zoneVpc: ZoneVpc;
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
  }

  /** AZs come from config: synth never looks them up. */
  get availabilityZones(): string[] {
    return this.azs;
  }
}
