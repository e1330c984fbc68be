import * as fs from 'fs';
import * as path from 'path';
import { MUNICIPALITY_TAG, ZONE_TAG } from '../core/tags';
import { Json, readAssembly, StackInput } from '../isolation/model';

/**
 * The monthly fixed cost of a synthesized assembly: every priced resource in
 * the templates (firewall endpoints, NAT gateways, public addresses, Transit
 * Gateway attachments, interface endpoints per AZ, NLBs, VPN connections,
 * instances and the minimum of every auto-scaling group, their volumes, KMS
 * keys, alarms) times the dated price table kept next to this file. Usage
 * (GB processed, queries, logs, streaming hours) is not a fixed cost and is
 * listed, not guessed; streaming is estimated per user from the table's
 * stated assumptions.
 */

export interface PriceItem {
  readonly price: number;
  readonly unit: string;
  readonly what: string;
  readonly source: string;
  /** `unverified`, or `secondary: <url> (...)`, or `official: <date>`. */
  readonly checked: string;
}

export interface PriceTable {
  readonly schema: 'three-tier-price-table/1';
  readonly region: string;
  readonly regionName: string;
  readonly currency: string;
  readonly recorded: string;
  readonly hoursPerMonth: number;
  readonly basis: string;
  readonly howToUpdate: string;
  readonly items: Record<string, PriceItem>;
  readonly assumptions: Record<string, { value: number; why: string }>;
}

export class CostError extends Error {}

export function priceFile(region: string): string {
  return path.join(__dirname, `prices.${region}.json`);
}

/** Reads and checks a price table: every item has a positive price, a unit, an https source and a status. */
export function loadPrices(region: string): PriceTable {
  const file = priceFile(region);
  if (!fs.existsSync(file)) {
    const have = fs.readdirSync(__dirname).filter((f) => /^prices\..+\.json$/.test(f)).map((f) => f.slice(7, -5));
    throw new CostError(`no price table for region ${region} (${file}); the repo has ${have.join(', ')}. Copy one, update its prices from the sources it lists, and set "recorded".`);
  }
  const t = JSON.parse(fs.readFileSync(file, 'utf8')) as PriceTable;
  const problems: string[] = [];
  if (t.schema !== 'three-tier-price-table/1') problems.push(`schema is "${t.schema}"`);
  if (t.region !== region) problems.push(`region is "${t.region}", expected "${region}"`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(t.recorded ?? '')) problems.push('recorded must be a date (YYYY-MM-DD)');
  if (!(t.hoursPerMonth > 0)) problems.push('hoursPerMonth must be positive');
  for (const [k, v] of Object.entries(t.items ?? {})) {
    if (!(typeof v.price === 'number' && v.price > 0)) problems.push(`items.${k}.price must be a positive number`);
    if (!v.unit) problems.push(`items.${k}.unit is missing`);
    if (!/^https:\/\//.test(v.source ?? '')) problems.push(`items.${k}.source must be an https URL`);
    if (!/^(unverified|secondary: https:\/\/\S+|official: \d{4}-\d{2}-\d{2})/.test(v.checked ?? '')) problems.push(`items.${k}.checked must be "unverified", "secondary: <url> ..." or "official: <date>"`);
  }
  if (problems.length) throw new CostError(`${file}:\n  ${problems.join('\n  ')}`);
  return t;
}

export interface CostLine {
  /** `security-cloud`, a municipality code, or `lab`. */
  readonly group: string;
  readonly stack: string;
  readonly item: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly unit: string;
  readonly monthly: number;
  readonly resources: string[];
}

export interface CostEstimate {
  readonly prices: Pick<PriceTable, 'region' | 'regionName' | 'currency' | 'recorded' | 'hoursPerMonth' | 'basis'>;
  readonly lines: CostLine[];
  /** Monthly fixed cost by group. */
  readonly groups: Record<string, number>;
  readonly securityCloud: number;
  readonly municipalities: Record<string, number>;
  readonly averageMunicipality: number;
  readonly streamingPerUser: { readonly label: string; readonly monthly: number; readonly basis: string }[];
  /** Per-municipality monthly cost when the security cloud is shared by all, one per prefecture, or one per municipality. */
  readonly fortySeven: { readonly municipalities: number; readonly shared: number; readonly perPrefecture: number; readonly perMunicipality: number }[];
  /** Resource types that cost by usage only (not in the fixed cost), with counts. */
  readonly usageBased: Record<string, number>;
  /** Price items used, for the sources table. */
  readonly itemsUsed: Record<string, PriceItem>;
}

const USAGE_BASED = new Set([
  'AWS::S3::Bucket',
  'AWS::EC2::FlowLog',
  'AWS::NetworkFirewall::LoggingConfiguration',
  'AWS::Route53Resolver::FirewallRuleGroupAssociation',
  'AWS::Route53Resolver::ResolverQueryLoggingConfig',
  'AWS::Lambda::Function',
  'AWS::SNS::Topic',
  'AWS::EC2::TransitGateway',
  'AWS::EC2::VPCEndpointService',
  'AWS::SQS::Queue',
  'AWS::Logs::LogGroup',
]);

function tagsOf(props: Record<string, Json> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const tags = props?.Tags;
  if (Array.isArray(tags)) for (const t of tags) if (t && typeof t.Key === 'string' && typeof t.Value === 'string') out[t.Key] = t.Value;
  return out;
}

function groupOf(stack: StackInput): string {
  for (const r of Object.values(stack.template.Resources ?? {})) {
    const tags = tagsOf(r.Properties);
    if (tags[MUNICIPALITY_TAG]) return tags[MUNICIPALITY_TAG];
    if (tags[ZONE_TAG] === 'lgwan-network') return 'lab';
  }
  return 'security-cloud';
}

function num(v: Json): number {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : 0;
}

function ebsGb(mappings: Json): number {
  let gb = 0;
  for (const m of Array.isArray(mappings) ? mappings : []) if (m?.Ebs && (m.Ebs.VolumeType ?? 'gp3') === 'gp3') gb += num(m.Ebs.VolumeSize);
  return gb;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function estimateCost(stacks: StackInput[], prices: PriceTable): CostEstimate {
  const H = prices.hoursPerMonth;
  const lines: CostLine[] = [];
  const usageBased: Record<string, number> = {};
  const itemsUsed: Record<string, PriceItem> = {};
  const price = (key: string, forWhat: string): PriceItem => {
    const p = prices.items[key];
    if (!p) throw new CostError(`the price table for ${prices.region} has no "${key}" (needed for ${forWhat}); add it to ${path.basename(priceFile(prices.region))} with its source`);
    itemsUsed[key] = p;
    return p;
  };
  const add = (group: string, stack: string, key: string, quantity: number, perMonthFactor: number, resource: string, forWhat: string) => {
    if (quantity <= 0) return;
    const p = price(key, forWhat);
    const existing = lines.find((l) => l.group === group && l.stack === stack && l.item === key);
    const monthly = quantity * p.price * perMonthFactor;
    if (existing) {
      const merged: CostLine = { ...existing, quantity: existing.quantity + quantity, monthly: existing.monthly + monthly, resources: [...existing.resources, resource] };
      lines[lines.indexOf(existing)] = merged;
    } else {
      lines.push({ group, stack, item: key, quantity, unitPrice: p.price, unit: p.unit, monthly, resources: [resource] });
    }
  };
  const streamingPerUser: CostEstimate['streamingPerUser'] = [];
  const a = (k: string, fallback: number) => prices.assumptions?.[k]?.value ?? fallback;

  for (const stack of stacks) {
    const group = groupOf(stack);
    const resources = stack.template.Resources ?? {};
    const at = (id: string, what: string) => `${stack.name}/${id}${what ? ` (${what})` : ''}`;
    for (const [id, r] of Object.entries(resources)) {
      const p = r.Properties ?? {};
      switch (r.Type) {
        case 'AWS::NetworkFirewall::Firewall': {
          const endpoints = (Array.isArray(p.AvailabilityZoneMappings) ? p.AvailabilityZoneMappings.length : 0) || (Array.isArray(p.SubnetMappings) ? p.SubnetMappings.length : 0);
          add(group, stack.name, 'networkFirewall.endpointHour', endpoints, H, at(id, `${endpoints} AZ`), 'firewall endpoints');
          // A firewall attached to a Transit Gateway has an attachment of its own.
          if (p.TransitGatewayId !== undefined) add(group, stack.name, 'transitGateway.attachmentHour', 1, H, at(id, 'firewall attachment'), 'the firewall attachment');
          break;
        }
        case 'AWS::EC2::NatGateway':
          add(group, stack.name, 'natGateway.hour', 1, H, at(id, ''), 'NAT gateways');
          break;
        case 'AWS::EC2::EIP':
          add(group, stack.name, 'publicIpv4.hour', 1, H, at(id, ''), 'Elastic IPs');
          break;
        case 'AWS::EC2::TransitGatewayVpcAttachment':
        case 'AWS::EC2::TransitGatewayAttachment':
          add(group, stack.name, 'transitGateway.attachmentHour', 1, H, at(id, ''), 'Transit Gateway attachments');
          break;
        case 'AWS::EC2::VPCEndpoint':
          if (p.VpcEndpointType === 'Interface') {
            const azs = Array.isArray(p.SubnetIds) ? p.SubnetIds.length : 1;
            add(group, stack.name, 'vpcEndpoint.interfaceAzHour', azs, H, at(id, `${azs} AZ`), 'interface endpoints');
          } else usageBased['AWS::EC2::VPCEndpoint (Gateway, free)'] = (usageBased['AWS::EC2::VPCEndpoint (Gateway, free)'] ?? 0) + 1;
          break;
        case 'AWS::ElasticLoadBalancingV2::LoadBalancer':
          if (p.Type === 'network') {
            add(group, stack.name, 'nlb.hour', 1, H, at(id, ''), 'Network Load Balancers');
            // Internet-facing (the CloudFormation default) holds a public IPv4 address per AZ.
            if ((p.Scheme ?? 'internet-facing') === 'internet-facing') {
              const azs = (Array.isArray(p.Subnets) ? p.Subnets.length : 0) || (Array.isArray(p.SubnetMappings) ? p.SubnetMappings.length : 0);
              add(group, stack.name, 'publicIpv4.hour', azs, H, at(id, `${azs} public addresses`), 'public NLB addresses');
            }
          }
          break;
        case 'AWS::EC2::VPNConnection':
          add(group, stack.name, 'vpn.connectionHour', 1, H, at(id, ''), 'VPN connections');
          break;
        case 'AWS::KMS::Key':
          add(group, stack.name, 'kms.keyMonth', 1, 1, at(id, ''), 'KMS keys');
          break;
        case 'AWS::CloudWatch::Alarm':
          add(group, stack.name, 'cloudwatch.alarmMonth', 1, 1, at(id, ''), 'alarms');
          break;
        case 'AWS::EC2::Instance': {
          const type = String(p.InstanceType ?? '');
          add(group, stack.name, `ec2.${type}`, 1, H, at(id, type), `instance ${id}`);
          add(group, stack.name, 'ebs.gp3GbMonth', ebsGb(p.BlockDeviceMappings), 1, at(id, 'volumes'), 'instance volumes');
          break;
        }
        case 'AWS::AutoScaling::AutoScalingGroup': {
          const min = num(p.MinSize);
          const spec = p.MixedInstancesPolicy?.LaunchTemplate ?? p.LaunchTemplate;
          const ltRef = (spec?.LaunchTemplateSpecification ?? spec)?.LaunchTemplateId?.Ref;
          const lt = ltRef ? resources[ltRef]?.Properties?.LaunchTemplateData : undefined;
          const type = String(p.MixedInstancesPolicy?.LaunchTemplate?.Overrides?.[0]?.InstanceType ?? lt?.InstanceType ?? '');
          if (!type) throw new CostError(`${stack.name}/${id}: cannot tell the instance type of this auto-scaling group`);
          add(group, stack.name, `ec2.${type}`, min, H, at(id, `minimum ${min} × ${type}`), `auto-scaling group ${id}`);
          add(group, stack.name, 'ebs.gp3GbMonth', min * ebsGb(lt?.BlockDeviceMappings), 1, at(id, 'volumes'), 'auto-scaling group volumes');
          const cdkPath = String(r.Metadata?.['aws:cdk:path'] ?? '');
          if (/\/ScreenTransfer\//.test(cdkPath) || id.startsWith('ScreenTransfer')) {
            const sessions = a('sbcSessionsPerHost', 8);
            const hours = a('streamingHoursPerUserMonth', 160);
            const p1 = price(`ec2.${type}`, 'virtual-browser hosts');
            if (!streamingPerUser.some((s) => s.label.startsWith('X1'))) {
              streamingPerUser.push({ label: 'X1 virtual browser (DCV on EC2, PrivateLink)', monthly: round2((p1.price * hours) / sessions), basis: `${type} at ${p1.price} USD/h × ${hours} h ÷ ${sessions} sessions per host (assumptions in the price table); DCV is free on EC2` });
            }
          }
          break;
        }
        case 'AWS::AppStream::Fleet': {
          const type = String(p.InstanceType ?? '');
          const key = `appstream.${type}`;
          if ((p.FleetType ?? 'ON_DEMAND') === 'ALWAYS_ON') add(group, stack.name, key, num(p.ComputeCapacity?.DesiredInstances), H, at(id, `always-on ${type}`), 'always-on AppStream fleets');
          const hours = a('streamingHoursPerUserMonth', 160);
          const hourly = price(key, `AppStream fleet ${id}`);
          const user = price('appstream.userMonth', 'AppStream users');
          const label = `${group === 'security-cloud' ? '' : `${group} `}AppStream ${type} (${String(r.Metadata?.['aws:cdk:path'] ?? id).includes('Streaming') ? 'mynumber applications' : 'X1 virtual browser'})`;
          if (!streamingPerUser.some((s) => s.label === label)) streamingPerUser.push({ label, monthly: round2(hourly.price * hours + user.price), basis: `${hourly.price} USD/h × ${hours} h + ${user.price} USD user fee` });
          break;
        }
        default:
          if (USAGE_BASED.has(r.Type)) usageBased[r.Type] = (usageBased[r.Type] ?? 0) + 1;
      }
    }
  }
  const groups: Record<string, number> = {};
  for (const l of lines) groups[l.group] = (groups[l.group] ?? 0) + l.monthly;
  for (const k of Object.keys(groups)) groups[k] = round2(groups[k]);
  const securityCloud = groups['security-cloud'] ?? 0;
  const municipalities: Record<string, number> = {};
  for (const [g, v] of Object.entries(groups)) if (/^\d{6}$/.test(g)) municipalities[g] = v;
  const codes = Object.keys(municipalities);
  const averageMunicipality = codes.length ? round2(codes.reduce((s, c) => s + municipalities[c], 0) / codes.length) : 0;
  const fortySeven = [1, 47, 1741].map((n) => ({
    municipalities: n,
    shared: round2(securityCloud / n + averageMunicipality),
    perPrefecture: round2((Math.min(n, 47) * securityCloud) / n + averageMunicipality),
    perMunicipality: round2(securityCloud + averageMunicipality),
  }));
  return {
    prices: { region: prices.region, regionName: prices.regionName, currency: prices.currency, recorded: prices.recorded, hoursPerMonth: H, basis: prices.basis },
    lines: lines.map((l) => ({ ...l, monthly: round2(l.monthly) })),
    groups,
    securityCloud,
    municipalities,
    averageMunicipality,
    streamingPerUser,
    fortySeven,
    usageBased,
    itemsUsed,
  };
}

export function estimateAssembly(assemblyDir: string, region: string): CostEstimate {
  return estimateCost(readAssembly(assemblyDir).stacks, loadPrices(region));
}

const money = (n: number) => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** The cost section of the review pack. */
export function costMarkdown(e: CostEstimate, lang: 'ja' | 'en'): string {
  const ja = lang === 'ja';
  const out: string[] = [];
  out.push(
    ja
      ? `月額固定費の見積り（${e.prices.regionName} ${e.prices.region}、${e.prices.currency}、価格表の記録日 ${e.prices.recorded}、1 か月 ${e.prices.hoursPerMonth} 時間）。合成したテンプレートのリソースを数えて価格表を掛けたもので、設定が変われば見積りも変わります。${e.prices.basis}`
      : `Monthly fixed cost (${e.prices.regionName} ${e.prices.region}, ${e.prices.currency}, price table recorded ${e.prices.recorded}, ${e.prices.hoursPerMonth} hours a month), counted from the resources in the synthesized templates times the price table, so it follows the config. ${e.prices.basis}`,
    '',
    ja ? '| 対象 | 月額固定費 |' : '| scope | monthly fixed cost |',
    '|---|---:|',
    `| ${ja ? 'セキュリティクラウド（共有、ログアーカイブ込み）' : 'security cloud (shared, with the log archive)'} | ${money(e.securityCloud)} |`,
    ...Object.entries(e.municipalities).map(([c, v]) => `| ${ja ? '団体' : 'municipality'} ${c} | ${money(v)} |`),
    ...(e.groups.lab ? [`| ${ja ? 'ラボ（模擬 LGWAN）' : 'lab (simulated LGWAN)'} | ${money(e.groups.lab)} |`] : []),
    '',
    ja ? '### 47 問題：団体あたりの月額' : '### The 47 problem: monthly cost per municipality',
    '',
    ja
      ? '同じ構成のセキュリティクラウドを、全団体で 1 つ共有する場合・都道府県ごと（最大 47、団体は全都道府県に分布すると仮定）に持つ場合・団体ごとに持つ場合の、団体あたり月額（団体自身の固定費を含む）。セキュリティクラウドの固定費はテナント数で増えません（ハブのテンプレートは団体数によらず同じ大きさ）。'
      : 'Per-municipality monthly cost (including its own fixed cost) when one security cloud of this shape is shared by all, one per prefecture (at most 47; municipalities assumed spread over every prefecture), or one per municipality. The security cloud\'s fixed cost does not grow with tenants (the hub template is the same size for 1 and 200 municipalities).',
    '',
    ja ? '| 団体数 | 全国で 1 つ | 都道府県ごと | 団体ごと |' : '| municipalities | one shared | one per prefecture | one per municipality |',
    '|---:|---:|---:|---:|',
    ...e.fortySeven.map((r) => `| ${r.municipalities.toLocaleString('en-US')} | ${money(r.shared)} | ${money(r.perPrefecture)} | ${money(r.perMunicipality)} |`),
    '',
  );
  if (e.streamingPerUser.length) {
    out.push(ja ? '### 利用者あたりの画面転送費（月額、変動費）' : '### Streaming per user (monthly, usage-based)', '', ja ? '| 方式 | 利用者あたり月額 | 根拠 |' : '| what | per user-month | basis |', '|---|---:|---|');
    for (const s of e.streamingPerUser) out.push(`| ${s.label} | ${money(s.monthly)} | ${s.basis} |`);
    out.push('');
  }
  out.push(ja ? '### 明細' : '### Line items', '', ja ? '| 対象 | スタック | 項目 | 数量 | 単価 | 月額 |' : '| scope | stack | item | quantity | unit price | monthly |', '|---|---|---|---:|---:|---:|');
  for (const l of e.lines) out.push(`| ${l.group} | ${l.stack} | ${l.item} | ${l.quantity} | ${l.unitPrice} / ${l.unit} | ${money(l.monthly)} |`);
  out.push(
    '',
    ja ? '### 使用量で決まるもの（固定費に含めない）' : '### Usage-based (not in the fixed cost)',
    '',
    `${Object.entries(e.usageBased)
      .map(([t, n]) => `${t} ×${n}`)
      .join(', ')}${ja ? '、およびデータ処理（NAT・Firewall・Transit Gateway・エンドポイントの GB 単価）とインターネットへの転送。' : ', and data processing (NAT, firewall, Transit Gateway and endpoint per-GB charges) and transfer out to the internet.'}`,
    '',
    ja ? '### 価格表の出典' : '### Price sources',
    '',
    ja ? '| 項目 | 単価 | 内容 | 出典 | 確認状況 |' : '| item | price | what | source | checked |',
    '|---|---:|---|---|---|',
    ...Object.entries(e.itemsUsed).map(([k, p]) => `| ${k} | ${p.price} / ${p.unit} | ${p.what} | ${p.source} | ${p.checked} |`),
    '',
    ja
      ? '確認状況が unverified の単価は、記録者の知る公開価格で、ここでは公式ページと照合できていません。予算化の前に出典ページで確認し、`lib/cost/prices.<region>.json` を更新してください。'
      : 'Prices marked unverified are public list prices as recorded by the authors and could not be checked against the official page here; confirm them on the source page before budgeting and update `lib/cost/prices.<region>.json`.',
  );
  return out.join('\n');
}
