import { createHash } from 'crypto';
import { formatIpv4, parseCidr } from '../../../config/cidr';

/**
 * Offline evaluation of CloudFormation templates, as CloudFormation would
 * evaluate them at deploy time, as far as that can be known without an
 * account: parameters (defaults and supplied values), pseudo parameters,
 * Conditions, Mappings and every intrinsic function that reachability
 * depends on. Whatever cannot be known offline (an SSM parameter value, the
 * output of a custom resource, a parameter without default or value, an
 * unsupported function) becomes an explicit `{ "Fn::Unresolved": reason }`
 * marker, never a silent guess: the path analyzer reports every path that
 * depends on one as unverifiable.
 *
 * Physical ids do not exist offline. A `Ref` or `Fn::GetAtt` to a resource
 * yields a synthetic id with the resource type's usual prefix
 * (`vpc-3t…`, `subnet-3t…`, `vpce-3t…`) that `SyntheticIds.lookup` maps back
 * to the resource, so ids survive `Fn::Join`, `Fn::Sub`, `Fn::Split` and
 * `Fn::Select` like real ones do.
 */

export type Json = any;

export const UNRESOLVED = 'Fn::Unresolved';
export interface UnresolvedMarker {
  readonly [UNRESOLVED]: string;
}

export function unresolved(reason: string): UnresolvedMarker {
  return { [UNRESOLVED]: reason };
}

export function isUnresolved(v: Json): v is UnresolvedMarker {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v[UNRESOLVED] === 'string';
}

/** The reasons of every unresolved marker inside a resolved value, with their JSON paths. */
export function unresolvedIn(v: Json, path = ''): { path: string; reason: string }[] {
  if (isUnresolved(v)) return [{ path: path || '.', reason: v[UNRESOLVED] }];
  if (Array.isArray(v)) return v.flatMap((x, i) => unresolvedIn(x, `${path}[${i}]`));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => unresolvedIn(x, path ? `${path}.${k}` : k));
  return [];
}

/** `Ref: AWS::NoValue`: removes the property or list element it stands in. */
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export interface CfnTemplateLike {
  readonly Parameters?: Record<string, { Type?: string; Default?: Json; AllowedValues?: Json[] }>;
  readonly Mappings?: Record<string, Record<string, Record<string, Json>>>;
  readonly Conditions?: Record<string, Json>;
  readonly Resources?: Record<string, { Type: string; Properties?: Record<string, Json>; Condition?: string }>;
  readonly Outputs?: Record<string, { Value: Json; Export?: { Name: Json }; Condition?: string }>;
  readonly [k: string]: Json;
}

export interface ResolveOptions {
  /** Values supplied for this stack's parameters (a parameter file), by name. */
  readonly parameters?: Record<string, string | string[]>;
  readonly region?: string;
  readonly account?: string;
  readonly stackName?: string;
  /** Values of `Fn::ImportValue` by export name (other stacks' Outputs). */
  readonly imports?: (name: string) => Json;
  /** Shared synthetic-id registry (several stacks of one assembly share one). */
  readonly ids?: SyntheticIds;
  /** The value of a parameter the template binds to another stack's resource (template Metadata `ThreeTier::ParameterBindings`). */
  readonly bound?: (binding: ParameterBinding, parameter: string, declaration: { Type?: string; Default?: Json }) => Json;
}

/**
 * Template Metadata key: parameters without a value that stand for a resource
 * of another stack (the hub's Transit Gateway id in a municipality's zone
 * shape). Their value in a deployment comes from that resource (a stack
 * set's parameter override); offline, the analyzer resolves them to it.
 */
export const PARAMETER_BINDINGS = 'ThreeTier::ParameterBindings';

/** What a bound parameter stands for: `Ref` (no attribute) or `Fn::GetAtt` of a resource of another stack. */
export interface ParameterBinding {
  readonly stack: string;
  readonly logicalId: string;
  readonly attribute?: string;
}

export const DEFAULT_REGION = 'ap-northeast-1';
export const DEFAULT_ACCOUNT = '123456789012';

/** What a synthetic id stands for. `index` is set for one element of a list attribute. */
export interface SyntheticTarget {
  readonly stack: string;
  readonly logicalId: string;
  readonly attribute?: string;
  /** For one element of a list attribute (firewall EndpointIds): its position, or 'any' when the order is not defined. */
  readonly index?: number | 'any';
}

/** The usual physical-id prefixes, so ids read like real ones in reports. */
const PREFIX: Record<string, string> = {
  'AWS::EC2::VPC': 'vpc-',
  'AWS::EC2::Subnet': 'subnet-',
  'AWS::EC2::RouteTable': 'rtb-',
  'AWS::EC2::InternetGateway': 'igw-',
  'AWS::EC2::EgressOnlyInternetGateway': 'eigw-',
  'AWS::EC2::NatGateway': 'nat-',
  'AWS::EC2::TransitGateway': 'tgw-',
  'AWS::EC2::TransitGatewayAttachment': 'tgw-attach-',
  'AWS::EC2::TransitGatewayVpcAttachment': 'tgw-attach-',
  'AWS::EC2::TransitGatewayRouteTable': 'tgw-rtb-',
  'AWS::EC2::SecurityGroup': 'sg-',
  'AWS::EC2::VPCEndpoint': 'vpce-',
  'AWS::EC2::VPCEndpointService': 'vpce-svc-',
  'AWS::EC2::VPCPeeringConnection': 'pcx-',
  'AWS::EC2::VPNGateway': 'vgw-',
  'AWS::EC2::CustomerGateway': 'cgw-',
  'AWS::EC2::VPNConnection': 'vpn-',
  'AWS::EC2::NetworkAcl': 'acl-',
  'AWS::EC2::NetworkInterface': 'eni-',
  'AWS::EC2::Instance': 'i-',
  'AWS::EC2::EIP': 'eipalloc-',
  'AWS::EC2::PrefixList': 'pl-',
};

/** A registry of synthetic physical ids, shared by the stacks of one assembly. */
export class SyntheticIds {
  private readonly byId = new Map<string, SyntheticTarget>();
  private readonly byKey = new Map<string, string>();

  id(type: string, target: SyntheticTarget, prefix?: string): string {
    const key = `${target.stack}/${target.logicalId}${target.attribute ? `.${target.attribute}` : ''}${target.index !== undefined ? `#${target.index}` : ''}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const hex = createHash('sha1').update(key).digest('hex').slice(0, 15);
    const id = `${prefix ?? PREFIX[type] ?? `${type.split('::').pop()!.toLowerCase()}-`}3t${hex}`;
    this.byId.set(id, target);
    this.byKey.set(key, id);
    return id;
  }

  lookup(id: string): SyntheticTarget | undefined {
    return this.byId.get(id);
  }
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly stack?: string,
  ) {
    super(message);
  }
}

const LIST_TYPE = /^(CommaDelimitedList|List<.+>)$/;

/** One stack's evaluation context: parameters, conditions, mappings, resources. */
export class StackResolver {
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  readonly urlSuffix: string;
  readonly stackName: string;
  readonly ids: SyntheticIds;
  private readonly conditionCache = new Map<string, boolean | string>();
  private readonly conditionStack = new Set<string>();
  private readonly params = new Map<string, Json>();
  private readonly boundParams = new Map<string, () => Json>();
  private readonly unordered = new WeakSet<Json[]>();

  constructor(
    readonly stack: string,
    readonly template: CfnTemplateLike,
    readonly options: ResolveOptions = {},
  ) {
    this.region = options.region ?? DEFAULT_REGION;
    this.account = options.account ?? DEFAULT_ACCOUNT;
    this.partition = this.region.startsWith('cn-') ? 'aws-cn' : this.region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    this.urlSuffix = this.region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    this.stackName = options.stackName ?? stack;
    this.ids = options.ids ?? new SyntheticIds();
    const declared = template.Parameters ?? {};
    for (const name of Object.keys(options.parameters ?? {})) {
      if (!(name in declared)) throw new TemplateError(`Parameters.${name}: a value is supplied but the template declares no such parameter (declared: ${Object.keys(declared).join(', ') || 'none'})`);
    }
    for (const [name, decl] of Object.entries(declared)) {
      const supplied = options.parameters?.[name];
      const type = String(decl?.Type ?? 'String');
      let value: Json;
      const binding = (template.Metadata as Record<string, Record<string, ParameterBinding>> | undefined)?.[PARAMETER_BINDINGS]?.[name];
      if (supplied === undefined && binding && options.bound) {
        // Resolved when first used: the other stack may not be read yet. A binding goes before a default
        // (an SSM-typed parameter's default names the hub's shared parameter, whose value is the bound resource's id).
        this.boundParams.set(name, () => options.bound!(binding, name, decl ?? {}));
        continue;
      }
      if (supplied !== undefined) value = supplied;
      else if (decl?.Default !== undefined) {
        // An SSM-typed parameter's default names the SSM parameter, not the value.
        value = type.startsWith('AWS::SSM::Parameter::Value<') ? unresolved(`parameter ${name} is read from SSM (${String(decl.Default)}) at deploy time; supply its value in the stack's parameter file`) : decl.Default;
      } else value = unresolved(`parameter ${name} has no default and no value; supply it in the stack's parameter file`);
      if (!isUnresolved(value)) {
        if (LIST_TYPE.test(type) || type.startsWith('AWS::SSM::Parameter::Value<List<') || type.startsWith('AWS::SSM::Parameter::Value<CommaDelimitedList')) {
          value = Array.isArray(value) ? value.map(String) : String(value).split(',').map((s) => s.trim());
        } else if (Array.isArray(value)) {
          throw new TemplateError(`Parameters.${name}: a list is supplied for a parameter of type ${type}`);
        } else value = String(value);
        const allowed = decl?.AllowedValues;
        if (Array.isArray(allowed) && !Array.isArray(value) && !allowed.map(String).includes(value)) {
          throw new TemplateError(`Parameters.${name}: value "${value}" is not one of its AllowedValues (${allowed.join(', ')})`);
        }
      }
      this.params.set(name, value);
    }
  }

  /** Evaluates a condition by name: true, false, or the reason it cannot be known. */
  condition(name: string): boolean | string {
    const cached = this.conditionCache.get(name);
    if (cached !== undefined) return cached;
    const expr = this.template.Conditions?.[name];
    let result: boolean | string;
    if (expr === undefined) result = `condition ${name} is not declared in Conditions`;
    else if (this.conditionStack.has(name)) result = `condition ${name} refers to itself`;
    else {
      this.conditionStack.add(name);
      const v = this.value(expr);
      this.conditionStack.delete(name);
      result = typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : isUnresolved(v) ? `condition ${name}: ${v[UNRESOLVED]}` : `condition ${name} is not a boolean (${JSON.stringify(v)})`;
    }
    this.conditionCache.set(name, result);
    return result;
  }

  /** Whether a resource (or output) exists: no Condition, or its condition's value. */
  exists(logicalId: string): boolean | string {
    const r = this.template.Resources?.[logicalId];
    if (!r) return false;
    return r.Condition === undefined ? true : this.condition(String(r.Condition));
  }

  /** Resolves a value completely. Unknown parts become `{ "Fn::Unresolved": reason }`. */
  value(v: Json, depth = 0): Json {
    const r = this.eval(v, depth);
    return r === NO_VALUE ? unresolved('AWS::NoValue used where a value is required') : r;
  }

  private eval(v: Json, depth: number): Json | typeof NO_VALUE {
    if (depth > 64) return unresolved('expression nested too deeply');
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      const out: Json[] = [];
      for (const x of v) {
        const r = this.eval(x, depth + 1);
        if (r !== NO_VALUE) out.push(r);
      }
      return out;
    }
    if (isUnresolved(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const k = keys[0];
      const arg = v[k];
      if (k === 'Ref') return this.ref(arg);
      if (k === 'Condition' && typeof arg === 'string' && this.conditionStack.size > 0) {
        const c = this.condition(arg);
        return typeof c === 'boolean' ? c : unresolved(c);
      }
      if (k.startsWith('Fn::')) return this.fn(k, arg, depth);
    }
    const out: Record<string, Json> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = this.eval(x, depth + 1);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private pseudo(name: string): Json | typeof NO_VALUE | undefined {
    switch (name) {
      case 'AWS::Region':
        return this.region;
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Partition':
        return this.partition;
      case 'AWS::URLSuffix':
        return this.urlSuffix;
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:${this.partition}:cloudformation:${this.region}:${this.account}:stack/${this.stackName}/3t-synthetic`;
      case 'AWS::NotificationARNs':
        return [];
      case 'AWS::NoValue':
        return NO_VALUE;
      default:
        return undefined;
    }
  }

  private ref(name: Json): Json | typeof NO_VALUE {
    if (typeof name !== 'string') return unresolved(`Ref to a non-name ${JSON.stringify(name)}`);
    const p = this.pseudo(name);
    if (p !== undefined) return p;
    const bound = this.boundParams.get(name);
    if (bound) {
      this.boundParams.delete(name);
      this.params.set(name, unresolved(`parameter ${name} is bound to itself`));
      this.params.set(name, bound());
    }
    if (this.params.has(name)) return this.params.get(name);
    const r = this.template.Resources?.[name];
    if (r) {
      const exists = this.exists(name);
      if (exists !== true) return unresolved(exists === false ? `Ref to ${name}, which is not created (its condition is false)` : `Ref to ${name}, which exists only if ${exists}`);
      return this.physicalId(name, r.Type);
    }
    if (name.startsWith('AWS::')) return unresolved(`unknown pseudo parameter ${name}`);
    return unresolved(`Ref to ${name}, which is neither a parameter nor a resource of this template`);
  }

  /** The synthetic physical id that `Ref` returns for a resource. */
  physicalId(logicalId: string, type: string): string {
    return this.ids.id(type, { stack: this.stack, logicalId });
  }

  private getAtt(arg: Json, depth: number): Json {
    let id: Json, attr: Json;
    if (Array.isArray(arg)) [id, attr] = arg;
    else if (typeof arg === 'string') {
      const i = arg.indexOf('.');
      [id, attr] = i < 0 ? [arg, undefined] : [arg.slice(0, i), arg.slice(i + 1)];
    }
    attr = this.value(attr, depth + 1);
    if (typeof id !== 'string' || typeof attr !== 'string') return unresolved(`Fn::GetAtt with arguments ${JSON.stringify(arg)}`);
    const r = this.template.Resources?.[id];
    if (!r) return unresolved(`Fn::GetAtt ${id}.${attr}: no resource ${id} in this template`);
    const exists = this.exists(id);
    if (exists !== true) return unresolved(exists === false ? `Fn::GetAtt ${id}.${attr}: ${id} is not created (its condition is false)` : `Fn::GetAtt ${id}.${attr}: ${id} exists only if ${exists}`);
    const type = r.Type;
    const props = r.Properties ?? {};
    const prop = (name: string): Json => (props[name] === undefined ? unresolved(`Fn::GetAtt ${id}.${attr}: ${id} has no ${name}`) : this.value(props[name], depth + 1));
    if (type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource') {
      return unresolved(`Fn::GetAtt ${id}.${attr}: an output of custom resource ${id} (code that runs at deploy time) cannot be known offline`);
    }
    const target = { stack: this.stack, logicalId: id, attribute: attr };
    switch (`${type}.${attr}`) {
      case 'AWS::EC2::VPC.CidrBlock':
      case 'AWS::EC2::Subnet.CidrBlock':
        return prop('CidrBlock');
      case 'AWS::EC2::VPC.CidrBlockAssociations':
        return [this.ids.id(type, target, 'vpc-cidr-assoc-')];
      case 'AWS::EC2::VPC.VpcId':
      case 'AWS::EC2::Subnet.SubnetId':
      case 'AWS::EC2::SecurityGroup.GroupId':
      case 'AWS::EC2::VPCEndpointService.ServiceId':
      case 'AWS::EC2::TransitGateway.Id':
      case 'AWS::EC2::TransitGatewayAttachment.Id':
      case 'AWS::EC2::TransitGatewayVpcAttachment.Id':
      case 'AWS::EC2::TransitGatewayRouteTable.TransitGatewayRouteTableId':
      case 'AWS::EC2::RouteTable.RouteTableId':
      case 'AWS::EC2::InternetGateway.InternetGatewayId':
      case 'AWS::EC2::NatGateway.NatGatewayId':
      case 'AWS::EC2::VPCEndpoint.Id':
      case 'AWS::EC2::VPCPeeringConnection.Id':
      case 'AWS::EC2::NetworkAcl.Id':
      case 'AWS::EC2::EIP.AllocationId':
        return this.physicalId(id, type);
      case 'AWS::EC2::Subnet.AvailabilityZone':
        return prop('AvailabilityZone');
      case 'AWS::EC2::Subnet.VpcId':
      case 'AWS::EC2::SecurityGroup.VpcId':
        return prop('VpcId');
      case 'AWS::NetworkFirewall::Firewall.EndpointIds':
        return this.endpointIds(id, props, depth);
    }
    return this.ids.id(type, target);
  }

  /**
   * `Fn::GetAtt Firewall.EndpointIds`: one "az:vpce-id" per subnet mapping.
   * CloudFormation documents no order for this list, so an element picked by
   * position (`Fn::Select`) stands for any of the firewall's endpoints.
   */
  private endpointIds(id: string, props: Record<string, Json>, depth: number): Json {
    const mappings = this.value(props.SubnetMappings ?? [], depth + 1);
    if (isUnresolved(mappings)) return mappings;
    if (!Array.isArray(mappings)) return unresolved(`Fn::GetAtt ${id}.EndpointIds: SubnetMappings is not a list`);
    const list = mappings.map((m: Json, i: number) => {
      const subnet = m?.SubnetId;
      const az = typeof subnet === 'string' ? this.azOfSubnetId(subnet) : undefined;
      return `${az ?? 'unknown-az'}:${this.ids.id('AWS::EC2::VPCEndpoint', { stack: this.stack, logicalId: id, attribute: 'EndpointIds', index: i })}`;
    });
    this.unordered.add(list);
    return list;
  }

  /** The synthetic id that stands for "whichever endpoint of the firewall": a positional pick from an unordered list. */
  private anyEndpoint(list: Json[]): string | undefined {
    const first = typeof list[0] === 'string' ? list[0] : undefined;
    const t = first ? this.ids.lookup(first.slice(first.indexOf(':') + 1)) : undefined;
    if (!t) return undefined;
    return `any-az:${this.ids.id('AWS::EC2::VPCEndpoint', { ...t, index: 'any' })}`;
  }

  private azOfSubnetId(subnetId: string): string | undefined {
    const t = this.ids.lookup(subnetId);
    if (!t || t.attribute || t.stack !== this.stack) return undefined;
    const s = this.template.Resources?.[t.logicalId];
    const az = s?.Properties?.AvailabilityZone;
    if (az === undefined) return undefined;
    const v = this.value(az);
    return typeof v === 'string' ? v : undefined;
  }

  private fn(k: string, arg: Json, depth: number): Json | typeof NO_VALUE {
    const val = (x: Json): Json => this.value(x, depth + 1);
    const bad = (why: string): Json => unresolved(`${k}: ${why}`);
    switch (k) {
      case 'Fn::GetAtt':
        return this.getAtt(arg, depth);
      case 'Fn::Base64': {
        const s = val(arg);
        return isUnresolved(s) ? s : typeof s === 'string' ? Buffer.from(s, 'utf8').toString('base64') : bad('argument is not a string');
      }
      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2) return bad('expects [delimiter, list]');
        const sep = val(arg[0]);
        const list = val(arg[1]);
        if (isUnresolved(sep)) return sep;
        if (isUnresolved(list)) return list;
        if (typeof sep !== 'string' || !Array.isArray(list)) return bad('expects a string delimiter and a list');
        const missing = list.find(isUnresolved);
        if (missing) return missing;
        if (list.some((x) => typeof x === 'object' && x !== null)) return bad(`list holds a non-string ${JSON.stringify(list.find((x) => typeof x === 'object'))}`);
        return list.map(String).join(sep);
      }
      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2) return bad('expects [delimiter, string]');
        const sep = val(arg[0]);
        const s = val(arg[1]);
        if (isUnresolved(sep)) return sep;
        if (isUnresolved(s)) return s;
        if (typeof sep !== 'string' || typeof s !== 'string') return bad('expects a string delimiter and a string');
        return s.split(sep);
      }
      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) return bad('expects [index, list]');
        const idx = val(arg[0]);
        const list = val(arg[1]);
        if (isUnresolved(idx)) return idx;
        if (isUnresolved(list)) return list;
        const i = Number(idx);
        if (!Array.isArray(list) || !Number.isInteger(i) || i < 0) return bad(`expects a list and a whole index, got ${JSON.stringify(idx)}`);
        if (i >= list.length) return bad(`index ${i} is outside the list of ${list.length}`);
        if (this.unordered.has(list)) return this.anyEndpoint(list) ?? list[i];
        return list[i];
      }
      case 'Fn::Sub':
        return this.sub(arg, depth);
      case 'Fn::GetAZs': {
        const region = val(arg);
        if (isUnresolved(region)) return region;
        const r = region === '' || region === undefined ? this.region : String(region);
        // Offline there is no account's AZ list: three AZs named a, b, c stand for it.
        return ['a', 'b', 'c'].map((s) => `${r}${s}`);
      }
      case 'Fn::Cidr':
        return this.cidr(arg, depth);
      case 'Fn::FindInMap': {
        if (!Array.isArray(arg) || arg.length < 3) return bad('expects [map, top-level key, second-level key]');
        const [map, top, second] = arg.slice(0, 3).map(val);
        for (const x of [map, top, second]) if (isUnresolved(x)) return x;
        const hit = this.template.Mappings?.[String(map)]?.[String(top)]?.[String(second)];
        if (hit !== undefined) return val(hit);
        const dflt = arg[3]?.DefaultValue;
        if (dflt !== undefined) return val(dflt);
        return bad(`Mappings.${map}.${top}.${second} does not exist`);
      }
      case 'Fn::ImportValue': {
        const name = val(arg);
        if (isUnresolved(name)) return name;
        if (typeof name !== 'string') return bad('export name is not a string');
        if (!this.options.imports) return bad(`export ${name} cannot be looked up (no other stacks given)`);
        return this.options.imports(name);
      }
      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') return bad('expects [condition name, value if true, value if false]');
        const c = this.condition(arg[0]);
        if (typeof c === 'string') return unresolved(`Fn::If: ${c}`);
        return this.eval(c ? arg[1] : arg[2], depth + 1);
      }
      case 'Fn::Equals': {
        if (!Array.isArray(arg) || arg.length !== 2) return bad('expects two values');
        const [a, b] = arg.map(val);
        if (isUnresolved(a)) return a;
        if (isUnresolved(b)) return b;
        return JSON.stringify(typeof a === 'number' ? String(a) : a) === JSON.stringify(typeof b === 'number' ? String(b) : b);
      }
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) return bad('expects 2 to 10 conditions');
        const vals = arg.map((x) => this.bool(val(x)));
        const decided = k === 'Fn::And' ? vals.includes(false) : vals.includes(true);
        if (decided) return k !== 'Fn::And';
        const u = vals.find((x) => typeof x === 'string');
        return typeof u === 'string' ? unresolved(u) : k === 'Fn::And';
      }
      case 'Fn::Not': {
        if (!Array.isArray(arg) || arg.length !== 1) return bad('expects one condition');
        const b = this.bool(val(arg[0]));
        return typeof b === 'string' ? unresolved(b) : !b;
      }
      case 'Fn::Length': {
        const l = val(arg);
        return isUnresolved(l) ? l : Array.isArray(l) ? l.length : bad('argument is not a list');
      }
      case 'Fn::ToJsonString': {
        const x = val(arg);
        const u = unresolvedIn(x)[0];
        return u ? unresolved(u.reason) : JSON.stringify(x);
      }
      default:
        return unresolved(`${k} is not supported by the offline resolver`);
    }
  }

  private bool(v: Json): boolean | string {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    if (isUnresolved(v)) return v[UNRESOLVED];
    return `not a condition value: ${JSON.stringify(v)}`;
  }

  private sub(arg: Json, depth: number): Json {
    let text: Json;
    let vars: Record<string, Json> = {};
    if (typeof arg === 'string') text = arg;
    else if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && arg[1] && typeof arg[1] === 'object') {
      text = arg[0];
      vars = arg[1];
    } else return unresolved('Fn::Sub expects a string or [string, {variables}]');
    let missing: Json;
    const out = (text as string).replace(/\$\{([^}]*)\}/g, (whole, name: string) => {
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      const key = name.trim();
      let v: Json;
      if (key in vars) v = this.value(vars[key], depth + 1);
      else if (key.includes('.') && !key.startsWith('AWS::')) v = this.getAtt(key, depth + 1);
      else v = this.value({ Ref: key }, depth + 1);
      if (isUnresolved(v)) {
        missing ??= v;
        return whole;
      }
      if (typeof v === 'object' && v !== null) {
        missing ??= unresolved(`Fn::Sub: \${${key}} is not a string (${JSON.stringify(v)})`);
        return whole;
      }
      return String(v);
    });
    return missing ?? out;
  }

  private cidr(arg: Json, depth: number): Json {
    if (!Array.isArray(arg) || arg.length !== 3) return unresolved('Fn::Cidr expects [ipBlock, count, cidrBits]');
    const [block, count, bits] = arg.map((x) => this.value(x, depth + 1));
    for (const x of [block, count, bits]) if (isUnresolved(x)) return x;
    const c = parseCidr(String(block));
    const n = Number(count);
    const hostBits = Number(bits);
    if (typeof c === 'string') return unresolved(`Fn::Cidr: ${String(block)}: ${c}`);
    if (!Number.isInteger(n) || n < 1 || n > 256 || !Number.isInteger(hostBits) || hostBits < 0 || hostBits > 32 - c.prefix) {
      return unresolved(`Fn::Cidr: count ${String(count)} or cidrBits ${String(bits)} does not fit ${c.text}`);
    }
    const size = 2 ** hostBits;
    if (n * size > c.end - c.start + 1) return unresolved(`Fn::Cidr: ${n} blocks of /${32 - hostBits} do not fit in ${c.text}`);
    return Array.from({ length: n }, (_, i) => `${formatIpv4(c.start + i * size)}/${32 - hostBits}`);
  }
}

export interface ResolvedResource {
  readonly Type: string;
  /** Properties with every intrinsic evaluated; unknown parts are `{ "Fn::Unresolved": reason }`. */
  readonly Properties: Record<string, Json>;
  /** true when created; a string when its Condition cannot be evaluated (the reason). Resources whose condition is false are left out. */
  readonly exists: true | string;
}

export interface ResolvedTemplate {
  readonly resources: Record<string, ResolvedResource>;
  readonly outputs: Record<string, { value: Json; exportName?: Json }>;
  /** Every unresolved value, by `Resources.<id>.Properties.<path>` / `Outputs.<id>`, with its reason. */
  readonly unresolved: { path: string; reason: string }[];
}

/**
 * Resolves one template completely. For a set of stacks with
 * `Fn::ImportValue` between them, pass `imports` (see `AssemblyResolver`).
 */
export function resolveTemplate(template: CfnTemplateLike, options: ResolveOptions & { stack?: string } = {}): ResolvedTemplate {
  const s = new StackResolver(options.stack ?? options.stackName ?? 'Stack', template, options);
  const resources: Record<string, ResolvedResource> = {};
  const problems: ResolvedTemplate['unresolved'] = [];
  for (const [id, r] of Object.entries(template.Resources ?? {})) {
    const exists = s.exists(id);
    if (exists === false) continue;
    const Properties = s.value(r.Properties ?? {});
    resources[id] = { Type: r.Type, Properties, exists };
    if (exists !== true) problems.push({ path: `Resources.${id}.Condition`, reason: exists });
    for (const u of unresolvedIn(Properties)) problems.push({ path: `Resources.${id}.Properties.${u.path}`, reason: u.reason });
  }
  const outputs: ResolvedTemplate['outputs'] = {};
  for (const [id, o] of Object.entries(template.Outputs ?? {})) {
    if (o.Condition !== undefined && s.condition(String(o.Condition)) === false) continue;
    const value = s.value(o.Value);
    outputs[id] = { value, exportName: o.Export ? s.value(o.Export.Name) : undefined };
    for (const u of unresolvedIn(value)) problems.push({ path: `Outputs.${id}.Value${u.path === '.' ? '' : `.${u.path}`}`, reason: u.reason });
  }
  return { resources, outputs, unresolved: problems };
}

export interface StackSource {
  readonly name: string;
  readonly template: CfnTemplateLike;
  readonly parameters?: Record<string, string | string[]>;
  readonly region?: string;
  readonly account?: string;
}

/** Resolvers for the stacks of one assembly: shared synthetic ids and `Fn::ImportValue` across stacks. */
export class AssemblyResolver {
  readonly ids = new SyntheticIds();
  private readonly stacks = new Map<string, StackResolver>();
  private exportsIndex?: Map<string, { stack: string; value: Json }>;
  private readonly importing = new Set<string>();
  private readonly importCache = new Map<string, Json>();

  constructor(sources: readonly StackSource[], defaults: { region?: string; account?: string } = {}) {
    for (const s of sources) {
      let sr: StackResolver;
      try {
        sr = new StackResolver(s.name, s.template, {
          parameters: s.parameters,
          region: s.region ?? defaults.region,
          account: s.account ?? defaults.account,
          stackName: s.name,
          ids: this.ids,
          imports: (name) => this.importValue(name),
          bound: (b, parameter, declaration) => this.boundValue(s.name, parameter, declaration, b),
        });
      } catch (e) {
        throw e instanceof TemplateError ? new TemplateError(e.message, s.name) : e;
      }
      this.stacks.set(s.name, sr);
    }
  }

  stack(name: string): StackResolver | undefined {
    return this.stacks.get(name);
  }

  /**
   * The value of a parameter bound to another stack's resource. A binding is
   * a claim of the template; it is used only when what supplies the
   * parameter at deploy time, in this assembly, supplies exactly that
   * resource's id: for an SSM-typed parameter, the SSM parameter its default
   * names, in the bound stack, holding that id; for a String parameter, every
   * stack set of the assembly that passes it (set value and overrides), and
   * at least one. Anything else stays unresolved (the analysis reports it).
   */
  private boundValue(from: string, parameter: string, declaration: { Type?: string; Default?: Json }, b: ParameterBinding): Json {
    const where = `parameter ${parameter} of ${from}, bound to ${b.stack}/${b.logicalId}${b.attribute ? `.${b.attribute}` : ''}`;
    const target = this.stacks.get(b.stack);
    if (!target) return unresolved(`${where}: that stack is not in this assembly`);
    if (!target.template.Resources?.[b.logicalId]) return unresolved(`${where}: that stack has no such resource`);
    const value = target.value(b.attribute ? { 'Fn::GetAtt': [b.logicalId, b.attribute] } : { Ref: b.logicalId });
    if (isUnresolved(value)) return value;
    const type = String(declaration.Type ?? 'String');
    if (type === 'AWS::SSM::Parameter::Value<String>') {
      const name = typeof declaration.Default === 'string' ? /^arn:[^:]+:ssm:[^:]*:\d*:parameter(\/.+)$/.exec(declaration.Default)?.[1] : undefined;
      if (!name) return unresolved(`${where}: its default ${JSON.stringify(declaration.Default)} is not the ARN of a shared SSM parameter`);
      const holders = Object.values(target.template.Resources ?? {}).filter((r) => r.Type === 'AWS::SSM::Parameter' && target.value(r.Properties?.Name ?? null) === name);
      if (holders.length !== 1) return unresolved(`${where}: ${b.stack} has ${holders.length} SSM parameters named ${name}, not one`);
      const held = target.value(holders[0].Properties?.Value ?? null);
      return held === value ? value : unresolved(`${where}: the SSM parameter ${name} holds ${JSON.stringify(held)}, not that resource's id`);
    }
    if (type === 'String') {
      const passed = this.stackSetValues().get(parameter) ?? [];
      if (passed.length === 0) return unresolved(`${where}: no stack set of this assembly supplies it`);
      const other = passed.find((p) => p.value !== value);
      return other ? unresolved(`${where}: a stack set in ${other.stack} passes ${JSON.stringify(other.value)}, not that resource's id`) : value;
    }
    return unresolved(`${where}: a bound parameter is a String (a stack-set override) or AWS::SSM::Parameter::Value<String> (a shared SSM parameter), not ${type}`);
  }

  private stackSetValuesMemo?: Map<string, { stack: string; value: Json }[]>;
  /** Every value the stack sets of this assembly pass for each parameter name (set level and every instance group's overrides). */
  private stackSetValues(): Map<string, { stack: string; value: Json }[]> {
    if (this.stackSetValuesMemo) return this.stackSetValuesMemo;
    const out = new Map<string, { stack: string; value: Json }[]>();
    const add = (stack: string, sr: StackResolver, list: Json) => {
      for (const p of Array.isArray(list) ? list : []) {
        const e = p as { ParameterKey?: Json; ParameterValue?: Json };
        if (!e || typeof e.ParameterKey !== 'string') continue;
        out.set(e.ParameterKey, [...(out.get(e.ParameterKey) ?? []), { stack, value: sr.value(e.ParameterValue ?? null) }]);
      }
    };
    for (const [stack, sr] of this.stacks) {
      for (const r of Object.values(sr.template.Resources ?? {})) {
        if (r.Type !== 'AWS::CloudFormation::StackSet') continue;
        add(stack, sr, r.Properties?.Parameters ?? []);
        const groups = r.Properties?.StackInstancesGroup;
        for (const g of Array.isArray(groups) ? groups : []) add(stack, sr, (g as { ParameterOverrides?: Json })?.ParameterOverrides ?? []);
      }
    }
    this.stackSetValuesMemo = out;
    return out;
  }

  private exports(): Map<string, { stack: string; value: Json }> {
    if (!this.exportsIndex) {
      this.exportsIndex = new Map();
      for (const [name, s] of this.stacks) {
        for (const o of Object.values(s.template.Outputs ?? {})) {
          if (!o?.Export) continue;
          if (o.Condition !== undefined && s.condition(String(o.Condition)) === false) continue;
          const exportName = s.value(o.Export.Name);
          if (typeof exportName === 'string') this.exportsIndex.set(exportName, { stack: name, value: o.Value });
        }
      }
    }
    return this.exportsIndex;
  }

  importValue(name: string): Json {
    const cached = this.importCache.get(name);
    if (cached !== undefined) return cached;
    const exp = this.exports().get(name);
    let v: Json;
    if (!exp) v = unresolved(`Fn::ImportValue ${name}: no stack of this assembly exports it`);
    else if (this.importing.has(name)) v = unresolved(`Fn::ImportValue ${name}: circular export`);
    else {
      this.importing.add(name);
      v = this.stacks.get(exp.stack)!.value(exp.value);
      this.importing.delete(name);
    }
    this.importCache.set(name, v);
    return v;
  }
}
