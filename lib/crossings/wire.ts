import { App, Aws, Stack, aws_appstream as appstream, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { Municipality, ThreeTierConfig } from '../../config/schema';
import { pascal } from '../core/naming';
import type { ZoneStack } from '../network/zone-stack';
import { SUBNET_GROUPS } from '../network/zone-vpc';
import { ConnectionLeg, ZoneConnections, specificCommunicationsSg, specificRoutes } from './connections';
import { ZonePatching } from './patching';
import { UpdatesBucket } from './updates-bucket';
import { mirrorTiers, UpdatesFetch, UpdatesMirror, UpdatesPublisher } from './updates';
import { Sanitizer, sanitizerBucketName } from './sanitizer';
import { PickupPage } from './pickup';
import { InternetMailRelay, LgwanMailIngester, MailOutbound, MailSanitizer } from './mail';
import { Probe } from './probes';
import { AppStreamConsumer, AppStreamProvider, SbcConsumer, SbcProvider } from './screen-transfer';
import { ScreenBroker } from './screen-broker';
import { SimulatedLgwanStack } from './simulated-lgwan';
import { wireBeta } from './beta';

export interface CrossingStacks {
  readonly simulatedLgwan?: SimulatedLgwanStack;
  /** Stacks the models add (β: the internet-side endpoints of B1). */
  readonly models: Stack[];
}

/** Every AppStream user setting disabled: the mynumber streaming option exports nothing at all. */
const NO_DATA_TRANSFER: appstream.CfnStack.UserSettingProperty[] = [
  'CLIPBOARD_COPY_TO_LOCAL_DEVICE',
  'CLIPBOARD_COPY_FROM_LOCAL_DEVICE',
  'FILE_UPLOAD',
  'FILE_DOWNLOAD',
  'PRINTING_TO_LOCAL_DEVICE',
  'DOMAIN_PASSWORD_SIGNIN',
  'DOMAIN_SMART_CARD_SIGNIN',
].map((action) => ({ action, permission: 'DISABLED' }));

/**
 * Adds the crossings X1 (screen transfer), X5 (特定通信), X6 (patching), the
 * terminal landing of each tier and, in labs, the probes and the simulated
 * LGWAN network, once every zone stack of the municipality exists.
 */
export function wireCrossings(app: App, cfg: ThreeTierConfig, zones: Map<string, Map<string, ZoneStack>>): CrossingStacks {
  let simulatedLgwan: SimulatedLgwanStack | undefined;
  const simulated = cfg.municipalities.filter((m) => m.specificCommunications?.lgwanConnection.type === 'simulated');
  if (simulated.length > 0) {
    const sc0 = simulated[0].specificCommunications!;
    const hosts = new Map<string, { name: string; address: string; ports: number[]; sources: string[] }>();
    for (const m of simulated) {
      const sc = m.specificCommunications!;
      for (const d of sc.destinations) {
        const h = hosts.get(d.address) ?? { name: d.name, address: d.address, ports: [], sources: [] };
        if (!h.ports.includes(d.port)) h.ports.push(d.port);
        if (!h.sources.includes(m.cidrs.mynumber)) h.sources.push(m.cidrs.mynumber);
        hosts.set(d.address, h);
      }
      if (sc.mailPeer) {
        const h = hosts.get(sc.mailPeer) ?? { name: 'LGWAN mail peer', address: sc.mailPeer, ports: [25], sources: [] };
        if (!h.sources.includes(m.cidrs.lgwan)) h.sources.push(m.cidrs.lgwan);
        hosts.set(sc.mailPeer, h);
      }
    }
    simulatedLgwan = new SimulatedLgwanStack(app, `${pascal(cfg.name)}-LgwanNetwork-Simulated`, {
      config: cfg,
      cidr: sc0.lgwanNetworkCidr,
      hosts: [...hosts.values()],
      env: cfg.account ? { account: cfg.account, region: cfg.region } : { region: cfg.region },
      description: `Three-tier (${cfg.name}): simulated LGWAN network with stand-in 中間サーバー and mail peer (lab only)`,
    });
  }

  const models: Stack[] = [];
  for (const m of cfg.municipalities) {
    const z = zones.get(m.code);
    if (!z) continue; // not built (rollout.method "shapes")
    const mynumber = z.get('mynumber')!;
    const lgwan = z.get('lgwan')!;
    const internet = z.get('internet')!;
    const name = `${cfg.name}-${m.code}`;

    // X1 screen transfer: lgwan consumes, internet provides.
    const lgwanOffice = m.terminals.lgwan?.officeCidrs ?? [];
    if (cfg.screenTransfer.implementation === 'sbc-privatelink') {
      const inboundBucket = sanitizerBucketName(cfg.name, m.code, 'inbound', cfg.account ?? Aws.ACCOUNT_ID, cfg.region);
      const provider = new SbcProvider(internet, 'ScreenTransfer', { config: cfg, vpc: internet.zoneVpc.vpc, zoneCidr: m.cidrs.internet, inboundBucket, code: m.code });
      if (cfg.screenTransfer.signIn) new ScreenBroker(lgwan, 'ScreenBroker', { config: cfg, municipality: m });
      new SbcConsumer(lgwan, 'ScreenTransfer', { config: cfg, vpc: lgwan.zoneVpc.vpc, zoneCidr: m.cidrs.lgwan, officeCidrs: lgwanOffice, serviceName: provider.service.vpcEndpointServiceName });
    } else {
      const consumer = new AppStreamConsumer(lgwan, 'ScreenTransfer', { config: cfg, vpc: lgwan.zoneVpc.vpc, zoneCidr: m.cidrs.lgwan, officeCidrs: lgwanOffice });
      new AppStreamProvider(internet, 'ScreenTransfer', { config: cfg, vpc: internet.zoneVpc.vpc, streamingEndpointId: consumer.endpoint.vpcEndpointId, name: `${name}-browser` });
    }

    // Terminal landing per tier, and 特定通信 on mynumber's connection.
    let internetConnections: ZoneConnections | undefined;
    for (const [zone, stack] of [['mynumber', mynumber], ['lgwan', lgwan], ['internet', internet]] as const) {
      const legs: ConnectionLeg[] = [];
      const t = m.terminals[zone];
      if (t) legs.push({ role: 'terminal-landing', connection: t.connection, routes: t.officeCidrs });
      const sc = m.specificCommunications;
      if (sc && zone === 'mynumber') legs.push({ role: 'lgwan-network', connection: sc.lgwanConnection, routes: specificRoutes(m) });
      if (sc?.mailPeer && zone === 'lgwan') legs.push({ role: 'lgwan-network', connection: sc.lgwanConnection, routes: [`${sc.mailPeer}/32`] });
      const connections = new ZoneConnections(stack, 'Connections', { config: cfg, code: m.code, zone, vpc: stack.zoneVpc.vpc, legs });
      if (zone === 'internet') internetConnections = connections;
    }
    // Models β and β′: B1 (internet-tier terminals → LGWAN systems by screen transfer) and B2 (systems moved into internet).
    models.push(...wireBeta(app, cfg, m, { lgwan, internet }, internetConnections));
    specificCommunicationsSg(mynumber, m, mynumber.zoneVpc.vpc);
    if (m.terminals.mynumber?.streaming) mynumberStreaming(m, mynumber, cfg);
    if (simulatedLgwan && m.specificCommunications?.lgwanConnection.type === 'simulated') peerWithSimulatedLgwan(m, mynumber, lgwan, simulatedLgwan);

    // X6 patching for every isolated zone, and the update distribution bucket in transfer.
    for (const zone of ['mynumber', 'lgwan', 'transfer'] as const) new ZonePatching(z.get(zone)!, 'Patching', { config: cfg, code: m.code, zone });
    const transfer = z.get('transfer')!;
    const mail = m.mail ? new MailSanitizer(transfer, 'MailSanitizer', { config: cfg, municipality: m, lgwan }) : undefined;
    // The updates feed (#19): fetch in internet, verify and publish in transfer, a mirror per isolated tier.
    const feed = cfg.updates.channels.length ? new UpdatesPublisher(transfer, 'UpdatesPublisher', { config: cfg, municipality: m }) : undefined;
    new Sanitizer(transfer, 'Sanitizer', { config: cfg, municipality: m, internet: z.get('internet')!, lgwan, mail, updates: feed });
    if (m.mail) {
      new InternetMailRelay(z.get('internet')!, 'MailRelay', { config: cfg, municipality: m });
      new MailOutbound(transfer, 'MailOutbound', { config: cfg, municipality: m, lgwan, internet: z.get('internet')! });
      new LgwanMailIngester(lgwan, 'MailIngester', { config: cfg, municipality: m });
    }
    if (m.pickup) new PickupPage(lgwan, 'Pickup', { config: cfg, municipality: m });
    new UpdatesBucket(transfer, 'Updates', { config: cfg, code: m.code, writerEndpoint: transfer.zoneVpc.s3Endpoint, readerEndpoints: [mynumber.zoneVpc.s3Endpoint, lgwan.zoneVpc.s3Endpoint], writerRoleArn: feed?.role.roleArn });
    if (feed) {
      new UpdatesFetch(internet, 'UpdatesFetch', { config: cfg, municipality: m });
      for (const tier of mirrorTiers(cfg, m)) new UpdatesMirror(z.get(tier)!, 'UpdatesMirror', { config: cfg, municipality: m, zone: tier });
    }

    // Lab probes.
    if (cfg.probes) {
      for (const [zone, stack] of z) {
        const extra =
          zone === 'mynumber'
            ? (m.specificCommunications?.destinations ?? []).map((d) => ({ peer: `${d.address}/32`, port: d.protocol === 'udp' ? ec2.Port.udp(d.port) : ec2.Port.tcp(d.port), description: `特定通信: ${d.name}` }))
            : zone === 'internet'
              ? [{ peer: '0.0.0.0/0', port: ec2.Port.tcp(443), description: 'HTTPS through the security cloud' }]
              : zone === 'lgwan' && m.specificCommunications?.mailPeer
                ? [{ peer: `${m.specificCommunications.mailPeer}/32`, port: ec2.Port.tcp(25), description: 'stands in for the LGWAN mail server: SMTP to the LGWAN mail peer (X4)' }]
                : [];
        new Probe(stack, 'Probe', { vpc: stack.zoneVpc.vpc, zoneCidr: m.cidrs[zone as keyof Municipality['cidrs']], extraEgress: extra });
      }
    }
  }
  return { simulatedLgwan, models };
}

/** The mynumber streaming option: AppStream with every data transfer disabled, streamed only through mynumber's endpoint. */
function mynumberStreaming(m: Municipality, stack: ZoneStack, cfg: ThreeTierConfig): void {
  const s = m.terminals.mynumber!.streaming!;
  const office = m.terminals.mynumber!.officeCidrs;
  const endpoint = new AppStreamConsumer(stack, 'Streaming', { config: cfg, vpc: stack.zoneVpc.vpc, zoneCidr: m.cidrs.mynumber, officeCidrs: office });
  const sg = new ec2.SecurityGroup(stack, 'StreamingFleetSg', { vpc: stack.zoneVpc.vpc, description: 'mynumber streaming fleet: its own zone only', allowAllOutbound: false });
  sg.addEgressRule(ec2.Peer.ipv4(m.cidrs.mynumber), ec2.Port.tcp(443), 'AWS API endpoints of the zone');
  const fleet = new appstream.CfnFleet(stack, 'StreamingFleet', {
    name: `${cfg.name}-${m.code}-mynumber-fleet`,
    instanceType: s.instanceType,
    imageName: s.imageName,
    fleetType: 'ALWAYS_ON',
    computeCapacity: { desiredInstances: s.prewarmed },
    vpcConfig: { subnetIds: stack.zoneVpc.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnetIds, securityGroupIds: [sg.securityGroupId] },
    enableDefaultInternetAccess: false,
    disableImdsv1: true,
    idleDisconnectTimeoutInSeconds: 15 * 60,
    disconnectTimeoutInSeconds: 5 * 60,
    maxUserDurationInSeconds: 10 * 3600,
  });
  const st = new appstream.CfnStack(stack, 'StreamingStack', {
    name: `${cfg.name}-${m.code}-mynumber`,
    description: 'My Number terminals: every data transfer disabled; sign-in through SAML 2.0 with MFA (configured in the IdP)',
    userSettings: NO_DATA_TRANSFER,
    accessEndpoints: [{ endpointType: 'STREAMING', vpceId: endpoint.endpoint.vpcEndpointId }],
    applicationSettings: { enabled: false },
  });
  new appstream.CfnStackFleetAssociation(stack, 'StreamingAssociation', { fleetName: fleet.name, stackName: st.name! }).addDependency(fleet);
}

/** Lab: peering to the simulated LGWAN network with routes to exactly the configured addresses. */
function peerWithSimulatedLgwan(m: Municipality, mynumber: ZoneStack, lgwan: ZoneStack, sim: SimulatedLgwanStack): void {
  const sc = m.specificCommunications!;
  const legs: [ZoneStack, string[], string][] = [[mynumber, specificRoutes(m), m.cidrs.mynumber]];
  if (sc.mailPeer) legs.push([lgwan, [`${sc.mailPeer}/32`], m.cidrs.lgwan]);
  for (const [stack, routes, zoneCidr] of legs) {
    const peering = new ec2.CfnVPCPeeringConnection(stack, 'SimulatedLgwanPeering', { vpcId: stack.zoneVpc.vpc.vpcId, peerVpcId: sim.vpc.vpcId });
    const tables = [...new Set(stack.zoneVpc.vpc.selectSubnets({ subnetGroupName: SUBNET_GROUPS.workload }).subnets.map((s) => s.routeTable.routeTableId))];
    tables.forEach((rt, t) => routes.forEach((dest, j) => new ec2.CfnRoute(stack, `SimulatedLgwanRoute${t}x${j}`, { routeTableId: rt, destinationCidrBlock: dest, vpcPeeringConnectionId: peering.ref })));
    sim.routeTableIds().forEach((rt, t) => new ec2.CfnRoute(stack, `SimulatedLgwanReturn${t}`, { routeTableId: rt, destinationCidrBlock: zoneCidr, vpcPeeringConnectionId: peering.ref }));
  }
}
