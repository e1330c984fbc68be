import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { Aws, Duration, aws_cloudwatch as cw, aws_cloudwatch_actions as cwActions, aws_networkfirewall as nfw, aws_sns as sns } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { channelHosts } from '../../config/updates';
import { acknowledge, controlTower } from '../compliance/acknowledge';

export const IPS_RULES_FILE = path.join(__dirname, 'suricata', 'ips.rules');

/** The Suricata rules kept in the repo, without comments and blank lines. */
export function ipsRules(): string[] {
  return fs
    .readFileSync(IPS_RULES_FILE, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The port policy: out only web and mail-relay ports, in only SMTP from the MX gateway to tenants. */
export function portPolicyRules(): string[] {
  return [
    'pass tcp $TENANTS any -> $EXTERNAL_NET [80,443] (msg:"port policy: web egress"; flow:to_server; sid:2200001; rev:1;)',
    'pass tcp $TENANTS any -> $EXTERNAL_NET [25,587] (msg:"port policy: internet relay sends mail"; flow:to_server; sid:2200002; rev:1;)',
    'pass tcp $MAIL_GATEWAY any -> $TENANTS 25 (msg:"port policy: MX gateway forwards to a tenant relay"; flow:to_server; sid:2200003; rev:1;)',
    'pass udp $TENANTS any -> $EXTERNAL_NET 123 (msg:"port policy: NTP"; sid:2200004; rev:1;)',
  ];
}

export interface FirewallProps {
  readonly config: ThreeTierConfig;
  readonly transitGatewayId: string;
  /** Every tenant internet-zone CIDR ($TENANTS). */
  readonly tenantCidrs: string[];
  /** Where the MX gateway hosts live ($MAIL_GATEWAY). */
  readonly mailGatewayCidrs: string[];
  readonly logArchiveBucketName: string;
  readonly alarmTopic: sns.ITopic;
}

/**
 * AWS Network Firewall attached directly to the Transit Gateway, in every AZ
 * of the config, so both directions of every tenant flow are inspected by
 * the same AZ's endpoint. Policy in strict order with default drop:
 * domain rules (deny or allow list on TLS SNI and HTTP Host), the Suricata
 * IPS file, the port policy, then AWS managed threat groups.
 */
export class InspectionFirewall extends Construct {
  readonly firewall: nfw.CfnFirewall;
  readonly policy: nfw.CfnFirewallPolicy;
  readonly alarm: cw.Alarm;

  constructor(scope: Construct, id: string, props: FirewallProps) {
    super(scope, id);
    const cfg = props.config;
    const fw = cfg.securityCloud.firewall;
    const prefix = `${cfg.name}-${cfg.securityCloud.name.toLowerCase()}`;
    const variables = {
      ipSets: {
        TENANTS: { definition: props.tenantCidrs },
        MAIL_GATEWAY: { definition: props.mailGatewayCidrs },
      },
    };
    const strict = { ruleOrder: 'STRICT_ORDER' };

    // An allowlist gains exactly the update channels' hosts (the fetch service polls them); a denylist must not deny them (config check).
    const domainTargets = fw.domainMode === 'allowlist' ? [...new Set([...fw.domains, ...channelHosts(cfg.updates)])] : fw.domains;
    const domains = new nfw.CfnRuleGroup(this, 'Domains', {
      ruleGroupName: `${prefix}-domains`,
      type: 'STATEFUL',
      capacity: Math.max(100, domainTargets.length * 2 + 10),
      description: `Domain ${fw.domainMode} on TLS SNI and HTTP Host`,
      ruleGroup: {
        statefulRuleOptions: strict,
        rulesSource: {
          rulesSourceList: {
            generatedRulesType: fw.domainMode === 'denylist' ? 'DENYLIST' : 'ALLOWLIST',
            targetTypes: ['TLS_SNI', 'HTTP_HOST'],
            targets: domainTargets,
          },
        },
      },
    });
    const ips = new nfw.CfnRuleGroup(this, 'Ips', {
      ruleGroupName: `${prefix}-ips`,
      type: 'STATEFUL',
      capacity: 200,
      description: 'Suricata IPS rules kept in lib/security-cloud/suricata/ips.rules',
      ruleGroup: { statefulRuleOptions: strict, ruleVariables: variables, rulesSource: { rulesString: ipsRules().join('\n') } },
    });
    const ports = new nfw.CfnRuleGroup(this, 'Ports', {
      ruleGroupName: `${prefix}-ports`,
      type: 'STATEFUL',
      capacity: 50,
      description: 'Port policy: web and mail relay out, SMTP in to tenant relays only from the MX gateway',
      ruleGroup: { statefulRuleOptions: strict, ruleVariables: variables, rulesSource: { rulesString: portPolicyRules().join('\n') } },
    });

    const references: nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty[] = [
      { resourceArn: domains.attrRuleGroupArn, priority: 100 },
      { resourceArn: ips.attrRuleGroupArn, priority: 200 },
      ...fw.managedThreatGroups.map((name, i) => ({
        resourceArn: `arn:${Aws.PARTITION}:network-firewall:${cfg.region}:aws-managed:stateful-rulegroup/${name}`,
        priority: 300 + i,
      })),
      { resourceArn: ports.attrRuleGroupArn, priority: 1000 },
    ];
    this.policy = new nfw.CfnFirewallPolicy(this, 'Policy', {
      firewallPolicyName: `${prefix}-policy`,
      description: 'Strict order, default drop: only what the rule groups pass leaves or enters',
      firewallPolicy: {
        statelessDefaultActions: ['aws:forward_to_sfe'],
        statelessFragmentDefaultActions: ['aws:forward_to_sfe'],
        statefulEngineOptions: { ruleOrder: 'STRICT_ORDER', streamExceptionPolicy: 'DROP' },
        // drop_established lets handshakes reach the SNI/Host rules, then
        // drops every established flow that no rule passed; alert logs them.
        statefulDefaultActions: ['aws:drop_established', 'aws:alert_established'],
        statefulRuleGroupReferences: references,
        // HOME_NET: the tenants and the security cloud; everything else is $EXTERNAL_NET.
        policyVariables: { ruleVariables: { HOME_NET: { definition: [...props.tenantCidrs, cfg.securityCloud.cidr] } } },
      },
    });

    this.firewall = new nfw.CfnFirewall(this, 'Firewall', {
      firewallName: `${prefix}-firewall`,
      firewallPolicyArn: this.policy.attrFirewallPolicyArn,
      transitGatewayId: props.transitGatewayId,
      availabilityZoneMappings: cfg.availabilityZones.map((availabilityZone) => ({ availabilityZone })),
      deleteProtection: true,
      firewallPolicyChangeProtection: false,
      description: 'Inspection of every flow between the municipalities and the internet',
    });
    acknowledge(
      this.firewall,
      controlTower('netfw_multi_az_enabled_check'),
      'The firewall is attached to the Transit Gateway and runs in every configured AZ through AvailabilityZoneMappings; the control only counts VPC SubnetMappings.',
    );

    new nfw.CfnLoggingConfiguration(this, 'Logging', {
      firewallArn: this.firewall.attrFirewallArn,
      loggingConfiguration: {
        logDestinationConfigs: [
          { logType: 'ALERT', logDestinationType: 'S3', logDestination: { bucketName: props.logArchiveBucketName, prefix: 'network-firewall/alert' } },
          { logType: 'FLOW', logDestinationType: 'S3', logDestination: { bucketName: props.logArchiveBucketName, prefix: 'network-firewall/flow' } },
        ],
      },
    });

    // SOC: alarm on the rate of stateful drops (what the alert log records), summed over AZs.
    const perAz: Record<string, cw.IMetric> = {};
    cfg.availabilityZones.forEach((az, i) => {
      perAz[`d${i}`] = new cw.Metric({
        namespace: 'AWS/NetworkFirewall',
        metricName: 'DroppedPackets',
        dimensionsMap: { FirewallName: `${prefix}-firewall`, AvailabilityZone: az, Engine: 'Stateful' },
        statistic: 'Sum',
        period: Duration.minutes(5),
      });
    });
    const drops = new cw.MathExpression({ expression: Object.keys(perAz).join(' + '), usingMetrics: perAz, label: 'stateful drops (all AZs)', period: Duration.minutes(5) });
    this.alarm = new cw.Alarm(this, 'DropRateAlarm', {
      alarmName: `${prefix}-firewall-drop-rate`,
      alarmDescription: 'SOC: the security-cloud firewall dropped more flows than usual; read network-firewall/alert/ in the log archive',
      metric: drops,
      threshold: cfg.securityCloud.soc.firewallDropThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new cwActions.SnsAction(props.alarmTopic));
    this.alarm.addOkAction(new cwActions.SnsAction(props.alarmTopic));
  }
}
