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

/** One α′ proxy's egress: its VPC and the only names it may reach (docs/proxy.en.md). */
export interface ProxyEgress {
  readonly code: string;
  readonly cidr: string;
  /** Squid / Network Firewall notation: "name" exactly, ".domain" for the domain and every name under it. */
  readonly names: readonly string[];
}

/** First sid of the proxies' rules; proxy i uses PROXY_SID_BASE + 1000 * i + k, the closing rules PROXY_SID_BASE + 99000 + k. */
export const PROXY_SID_BASE = 2300000;

/**
 * The pass rules of one α′ proxy: TLS SNI (port 443) and HTTP Host (port 80) equal to an exact
 * name, or equal to or under a ".domain", from $PROXY (the proxy VPC) to $EXTERNAL_NET only.
 * Anything else from the proxy falls through to proxyClosingRules().
 */
export function proxyPassRules(p: ProxyEgress, index: number): string[] {
  let sid = PROXY_SID_BASE + 1000 * index;
  const out: string[] = [];
  const rule = (proto: 'tls' | 'http', port: number, match: string, what: string) =>
    out.push(`pass ${proto} $PROXY any -> $EXTERNAL_NET ${port} (msg:"alpha-prime proxy ${p.code}: ${what}"; ${match} flow:to_server,established; sid:${++sid}; rev:1;)`);
  for (const entry of p.names) {
    const name = entry.startsWith('.') ? entry.slice(1) : entry;
    rule('tls', 443, `tls.sni; content:"${name}"; startswith; nocase; endswith;`, `TLS to ${name}`);
    rule('http', 80, `http.host; content:"${name}"; startswith; endswith;`, `HTTP to ${name}`);
    if (entry.startsWith('.')) {
      rule('tls', 443, `tls.sni; dotprefix; content:"${entry}"; nocase; endswith;`, `TLS to names under ${name}`);
      rule('http', 80, `http.host; dotprefix; content:"${entry}"; endswith;`, `HTTP to names under ${name}`);
    }
  }
  return out;
}

/** After every proxy's pass rules: TCP handshakes to the web ports (the name rules decide on the first data), then drop everything else from the proxies. */
export function proxyClosingRules(): string[] {
  return [
    `pass tcp $PROXIES any <> $EXTERNAL_NET [80,443] (msg:"alpha-prime proxies: TCP handshake to the web ports; the name rules decide on the first data"; flow:not_established; sid:${PROXY_SID_BASE + 99001}; rev:1;)`,
    `drop ip $PROXIES any -> any any (msg:"alpha-prime proxies: anything their name rules did not pass"; sid:${PROXY_SID_BASE + 99002}; rev:1;)`,
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
  /** The α′ proxies (model α: none): strict-order name rules ahead of every other group. */
  readonly proxies?: readonly ProxyEgress[];
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
  /** Each α′ proxy's pass rules by municipality code, and the closing drop of all proxies. */
  readonly proxyGroups = new Map<string, nfw.CfnRuleGroup>();
  proxyClosing?: nfw.CfnRuleGroup;

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

    // α′ proxies first (priorities 1-99, before the general groups): each passes only its names, then all are dropped.
    const proxies = props.proxies ?? [];
    if (proxies.length > 98) throw new Error(`the security cloud ${cfg.securityCloud.name} serves ${proxies.length} alpha-prime proxies; the firewall policy orders at most 98 before its general rules`);
    const proxyReferences: nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty[] = [];
    proxies.forEach((p, i) => {
      const rules = proxyPassRules(p, i);
      const group = new nfw.CfnRuleGroup(this, `Proxy${p.code}`, {
        ruleGroupName: `${prefix}-proxy-${p.code}`,
        type: 'STATEFUL',
        capacity: Math.max(100, rules.length + 10),
        description: `alpha-prime proxy of ${p.code}: TLS SNI and HTTP Host on its allowlist only`,
        ruleGroup: { statefulRuleOptions: strict, ruleVariables: { ipSets: { PROXY: { definition: [p.cidr] } } }, rulesSource: { rulesString: rules.join('\n') } },
      });
      this.proxyGroups.set(p.code, group);
      proxyReferences.push({ resourceArn: group.attrRuleGroupArn, priority: 1 + i });
    });
    if (proxies.length > 0) {
      this.proxyClosing = new nfw.CfnRuleGroup(this, 'ProxyClosing', {
        ruleGroupName: `${prefix}-proxy-closing`,
        type: 'STATEFUL',
        capacity: 20,
        description: 'alpha-prime proxies: handshakes to web ports, then drop whatever their name rules did not pass',
        ruleGroup: { statefulRuleOptions: strict, ruleVariables: { ipSets: { PROXIES: { definition: proxies.map((p) => p.cidr) } } }, rulesSource: { rulesString: proxyClosingRules().join('\n') } },
      });
      proxyReferences.push({ resourceArn: this.proxyClosing.attrRuleGroupArn, priority: 99 });
    }

    const references: nfw.CfnFirewallPolicy.StatefulRuleGroupReferenceProperty[] = [
      ...proxyReferences,
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
