import * as path from 'path';
import { Construct } from 'constructs';
import { CustomResource, Duration, Stack, aws_iam as iam, aws_lambda as lambda, aws_route53resolver as r53r } from 'aws-cdk-lib';
import { ThreeTierConfig } from '../../config/schema';
import { acknowledge, controlTower } from '../compliance/acknowledge';

/** Key prefix of DNS query logs in the log archive. */
export const DNS_QUERY_LOG_PREFIX = 'dns-query-logs';

export const DNS_HANDLER_DIR = path.join(__dirname, 'dns-handler');

export interface DnsFirewallProps {
  readonly config: ThreeTierConfig;
}

/**
 * Route 53 Resolver DNS Firewall rule group of the security cloud: BLOCK for
 * the AWS managed malware / botnet lists chosen in config (their ids are
 * region-specific, so a small custom resource resolves them by name at
 * deploy time) and for the config's own block list. Associated with the
 * security cloud VPC here and with every tenant's internet VPC in its stack.
 */
export class DnsFirewall extends Construct {
  readonly ruleGroup: r53r.CfnFirewallRuleGroup;

  constructor(scope: Construct, id: string, props: DnsFirewallProps) {
    super(scope, id);
    const dns = props.config.securityCloud.dns;
    const stack = Stack.of(this);

    const fn = new lambda.Function(this, 'ResolveManagedLists', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(DNS_HANDLER_DIR),
      timeout: Duration.minutes(2),
      memorySize: 256,
      description: 'Resolves AWS managed DNS Firewall domain list names to ids (deploy time only)',
    });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['route53resolver:ListFirewallDomainLists'], resources: ['*'] }));
    const why = 'Deploy-time custom resource that only lists DNS Firewall domain lists';
    acknowledge(fn.node.defaultChild!, controlTower('lambda_inside_vpc_check'), `${why}; it calls one regional API and needs no VPC placement.`);
    acknowledge(fn.role!.node.defaultChild!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', `${why}; AWSLambdaBasicExecutionRole only lets it write its own logs.`);
    acknowledge(fn.role!.node.tryFindChild('DefaultPolicy')!.node.defaultChild!, 'AwsSolutions-IAM5[Resource::*]', 'route53resolver:ListFirewallDomainLists has no resource-level permissions; IAM requires "*".');

    const resolved = new CustomResource(this, 'ManagedLists', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::ManagedDomainLists',
      properties: { ListNames: [...dns.managedDomainLists] },
    });

    const rules: r53r.CfnFirewallRuleGroup.FirewallRuleProperty[] = dns.managedDomainLists.map((name, i) => ({
      action: 'BLOCK',
      blockResponse: 'NODATA',
      firewallDomainListId: resolved.getAttString(name),
      priority: 100 + i * 10,
    }));
    if (dns.blockDomains.length > 0) {
      const custom = new r53r.CfnFirewallDomainList(this, 'BlockList', { name: `${props.config.name}-block-list`, domains: dns.blockDomains });
      rules.push({ action: 'BLOCK', blockResponse: 'NODATA', firewallDomainListId: custom.attrId, priority: 500 });
    }
    this.ruleGroup = new r53r.CfnFirewallRuleGroup(this, 'RuleGroup', { name: `${props.config.name}-dns-firewall`, firewallRules: rules });
    void stack;
  }

  /** Associates the rule group with a VPC (the security cloud's or a tenant's). */
  static associate(scope: Construct, id: string, ruleGroupId: string, vpcId: string): r53r.CfnFirewallRuleGroupAssociation {
    return new r53r.CfnFirewallRuleGroupAssociation(scope, id, { firewallRuleGroupId: ruleGroupId, vpcId, priority: 101, mutationProtection: 'ENABLED', name: 'security-cloud-dns-firewall' });
  }

  /**
   * DNS query logging of a VPC into the log archive under `dns-query-logs/<where>/`
   * (`<code>/<zone>` for a municipality's zone, `security-cloud` for the hub).
   */
  static queryLogs(scope: Construct, id: string, bucketArn: string, where: string, vpcId: string): r53r.CfnResolverQueryLoggingConfig {
    const cfg = new r53r.CfnResolverQueryLoggingConfig(scope, id, { destinationArn: `${bucketArn}/${DNS_QUERY_LOG_PREFIX}/${where}/`, name: `dns-query-logs-${where.replace(/[^A-Za-z0-9-]/g, '-')}` });
    new r53r.CfnResolverQueryLoggingConfigAssociation(scope, `${id}Association`, { resolverQueryLogConfigId: cfg.attrId, resourceId: vpcId });
    return cfg;
  }
}
