import { ThreeTierConfig, ZONES } from '../../config/schema';
import { internetScreenStackName, pascal } from '../core/naming';
import type { Crossing } from './intent';

type Municipality = ThreeTierConfig['municipalities'][number];
type StackName = (code: string, zone: (typeof ZONES)[number]) => string;

/**
 * The crossings models β and β′ add (issue #18), as data: the checks read them
 * like any other crossing and never ask which model a municipality runs.
 *
 * B1 (β, β′): X1 reversed. Staff terminals sit in the internet tier; they
 * reach each listed LGWAN system only on its screen-transfer port, through an
 * interface endpoint in internet (consumer) to an endpoint service in lgwan
 * (provider: an internal NLB whose one IP target is the system's host). It is
 * the only privatelink crossing into lgwan; ThreeTier-PL1 accepts an endpoint
 * service in lgwan only when a crossing like this one lists it, its NLB listens
 * only on the crossing's ports and its principals are not "*".
 *
 * B2 (β′): a business system moved into the internet tier, reached by the
 * internet tier's office terminals on its ports. Written like the terminal
 * landing (TL) it narrows: from internet to the office segments, over the
 * tier's own VPN / Direct Connect, with the segments as destinations. That is
 * the path the network has to carry (the moved subnets' routes to the office
 * segments through the tier's gateway, which the path analyzer matches
 * exactly); the ports and sources are the system's security group, which
 * ThreeTier-CX2 holds to exactly the segments and the ports listed here. The
 * office is not a zone of the intent, so "office → system" cannot be written
 * with the office as `from`; the connection is still opened by the terminals.
 * Its subnets, their flow logs and the security group enforce it
 * (ThreeTier-CX1: own flow logs of ALL traffic, routes only to the listed
 * segments and the security cloud, none to another zone).
 */
export function betaCrossings(cfg: ThreeTierConfig, m: Municipality, stackName: StackName): Crossing[] {
  const out: Crossing[] = [];
  const lgwan = stackName(m.code, 'lgwan');
  const internet = stackName(m.code, 'internet');
  if (m.beta) {
    const screen = internetScreenStackName(internet);
    const systems = m.beta.screenSystems;
    // One crossing per system: each endpoint service is held to its own system's port
    // (ThreeTier-PL1 reads the ports of the crossing that lists the service).
    for (const s of systems) {
      const id = pascal(s.name);
      out.push({
        id: 'B1',
        municipality: m.code,
        from: 'internet',
        to: 'lgwan',
        mechanism: 'privatelink',
        ports: [s.port],
        description: `internet-tier terminals (EDR: ${m.beta.edr.product}) reach the LGWAN system ${s.name} (${s.address}) only by screen transfer on ${s.port} through PrivateLink; pixels and keystrokes only`,
        enforcedBy: [
          { stack: screen, constructPath: `${screen}/${id}/Endpoint/Resource`, role: `interface endpoint (consumer) in internet for ${s.name}` },
          { stack: screen, constructPath: `${screen}/${id}/EndpointSg/Resource`, role: `endpoint security group: port ${s.port} from the internet-tier office segments only` },
          { stack: lgwan, constructPath: `${lgwan}/BetaScreen/${id}/Service/Service`, role: `endpoint service (provider) in lgwan for ${s.name}, this account only` },
          { stack: lgwan, constructPath: `${lgwan}/BetaScreen/${id}/Nlb/Resource`, role: `internal NLB in lgwan: one listener on ${s.port}, one IP target ${s.address}` },
        ],
      });
    }
  }
  if (m.betaPrime) {
    const t = m.terminals.internet;
    const mechanism: Crossing['mechanism'] = t?.connection.type === 'direct-connect' ? 'direct-connect' : t?.connection.type === 'simulated' ? 'peering' : 'vpn';
    for (const sys of m.betaPrime.movedSystems) {
      const base = `${internet}/MovedSystems/${pascal(sys.name)}`;
      const azs = m.availabilityZones ?? cfg.availabilityZones;
      out.push({
        id: 'B2',
        municipality: m.code,
        from: 'internet',
        to: 'office',
        mechanism,
        ports: [...sys.ports],
        destinations: [...(t?.officeCidrs ?? [])],
        description: `the business system ${sys.name}, moved into the internet tier, is reached by the internet tier's office terminals (${(t?.officeCidrs ?? []).join(', ') || 'none configured'}) on ${sys.ports.join(', ')} over the tier's own ${t?.connection.type ?? 'connection'}; its subnets route nowhere else but the security cloud`,
        enforcedBy: [
          { stack: internet, constructPath: `${base}/Sg/Resource`, role: `security group of ${sys.name}: its ports from the office segments only` },
          ...subnetIndexes(azs).flatMap((i) => [
            { stack: internet, constructPath: `${base}/Subnet${i}/Subnet`, role: `subnet of ${sys.name} (AZ ${i})` },
            { stack: internet, constructPath: `${base}/FlowLog${i}/FlowLog`, role: `flow log (ALL) of that subnet to the log archive` },
          ]),
        ],
      });
    }
  }
  return out;
}

/** 1..n: one subnet and flow log per AZ of the municipality. */
function subnetIndexes(azs: string[]): number[] {
  return azs.map((_, i) => i + 1);
}
