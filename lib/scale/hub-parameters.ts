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

/** Declares a hub parameter in `stack` and binds it to the hub resource in the template's Metadata. */
export function hubParameter(stack: Stack, hub: SecurityCloudStack, name: HubParameter['name']): string {
  const p = HUB_PARAMETERS.find((x) => x.name === name);
  if (!p) throw new Error(`no hub parameter ${name}`);
  const param = new CfnParameter(stack, p.name, { type: 'String', description: p.description, allowedPattern: p.allowedPattern });
  const el = p.element(hub);
  const binding: ParameterBinding = { stack: hub.stackName, logicalId: hub.getLogicalId(el), ...(p.attribute ? { attribute: p.attribute } : {}) };
  const meta = (stack.templateOptions.metadata ??= {});
  meta[PARAMETER_BINDINGS] = { ...(meta[PARAMETER_BINDINGS] ?? {}), [p.name]: binding };
  return param.valueAsString;
}
