import { CfnElement, CfnParameter, Stack } from 'aws-cdk-lib';
import { PARAMETER_BINDINGS, ParameterBinding } from '../isolation/cfn/resolve';
import type { SecurityCloudStack } from '../security-cloud/security-cloud-stack';

/**
 * The hub's ids a municipality's internet-zone shape needs under
 * rollout.stackSets. The municipality is in another account, so a
 * cross-stack reference is impossible; instead the zone template declares a
 * parameter, the rollout stack (in the hub's account) passes the hub's
 * value as a stack-set parameter override (a same-account reference: nobody
 * copies an id), and the template's Metadata binds the parameter to the
 * hub resource it stands for, so the analyzer resolves it offline.
 */
export interface HubParameter {
  readonly name: string;
  readonly description: string;
  readonly allowedPattern: string;
  /** The hub resource and attribute (none: `Ref`). */
  readonly element: (hub: SecurityCloudStack) => CfnElement;
  readonly attribute?: string;
  /** The value in the hub's stack, for the rollout's parameter override. */
  readonly value: (hub: SecurityCloudStack) => string;
}

export const HUB_PARAMETERS: readonly HubParameter[] = [
  {
    name: 'HubTransitGatewayId',
    description: "The security cloud's Transit Gateway (shared with this account's prefecture OU)",
    allowedPattern: '^tgw-[0-9a-f]{8,17}$',
    element: (hub) => hub.hub.tgw,
    value: (hub) => hub.hub.tgw.ref,
  },
  {
    name: 'HubDnsFirewallRuleGroupId',
    description: "The security cloud's DNS Firewall rule group (shared with this account's prefecture OU)",
    allowedPattern: '^rslvr-frg-[0-9a-f]{8,17}$',
    element: (hub) => hub.dnsFirewall.ruleGroup,
    attribute: 'Id',
    value: (hub) => hub.dnsFirewall.ruleGroup.attrId,
  },
];

/** The hub's SSM parameter holding a hub id (rollout.method "stacks" with municipalities in other accounts). */
export function hubSsmParameterName(configName: string, name: HubParameter['name']): string {
  return `/${configName}/hub/${name.replace(/^Hub/, '').replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`;
}

/** Its ARN, known at synth from the config (a parameter's Default must be a literal). */
export function hubSsmParameterArn(configName: string, region: string, account: string, name: HubParameter['name']): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:ssm:${region}:${account}:parameter${hubSsmParameterName(configName, name)}`;
}

/**
 * Declares a hub parameter in `stack` and binds it to the hub resource in the
 * template's Metadata. With `sharedSsmArn` the parameter reads the hub's
 * SSM parameter, shared with this account through RAM (CloudFormation reads
 * shared parameters by ARN, as a template parameter only); without it the
 * value comes from a stack-set parameter override.
 */
export function hubParameter(stack: Stack, hub: SecurityCloudStack, name: HubParameter['name'], sharedSsmArn?: string): string {
  const p = HUB_PARAMETERS.find((x) => x.name === name);
  if (!p) throw new Error(`no hub parameter ${name}`);
  const param = sharedSsmArn
    ? new CfnParameter(stack, p.name, { type: 'AWS::SSM::Parameter::Value<String>', default: sharedSsmArn, description: `${p.description}: the hub's SSM parameter, shared through RAM` })
    : new CfnParameter(stack, p.name, { type: 'String', description: p.description, allowedPattern: p.allowedPattern });
  const el = p.element(hub);
  const binding: ParameterBinding = { stack: hub.stackName, logicalId: hub.getLogicalId(el), ...(p.attribute ? { attribute: p.attribute } : {}) };
  const meta = (stack.templateOptions.metadata ??= {});
  meta[PARAMETER_BINDINGS] = { ...(meta[PARAMETER_BINDINGS] ?? {}), [p.name]: binding };
  return param.valueAsString;
}
