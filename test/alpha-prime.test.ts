import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, test } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as net from 'node:net';
import * as path from 'node:path';
import { createLabCa } from '../lib/proxy/ca';
import { validateProxyConfig } from '../lib/proxy/squid-config';
import { accessLog, CERTGEN, freePort, newLogLines, RunningSquid, SQUID, startSquid } from './helpers/proxy';
import { tmpDir } from './helpers/synth';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { loadConfig, validateConfig } from '../config';
import { alphaPrime as alphaPrimeInput } from '../config/models-shipped';
import { createApp } from '../lib/app-builder';
import { SecurityCloudStack } from '../lib/security-cloud/security-cloud-stack';
import { LogArchiveStack } from '../lib/log-archive/log-archive-stack';
import { ProxyStack } from '../lib/security-cloud/proxy';
import { alphaPrimeProxyConfig, proxyAllowlistParameterName } from '../lib/security-cloud/proxy';
import { AccessLogEntry, squidConfig } from '../lib/proxy/squid-config';
import { parseSuricataRules, passedName } from '../lib/isolation/fqdn-rules';
import { flattenResolved } from '../lib/isolation/dns-names';
import { check, editIntent, editTemplate, freshAssembly, hubIds, importOf, readTemplate, resourcesOf, subnetIds, summary, vpcId, zoneStack } from './helpers/assembly';

/**
 * Model α′ (issue #18): the inspecting proxy in the security cloud, PrivateLink from lgwan, the
 * firewall's name rules for the proxy VPC, and ThreeTier-AP1. One synth of the shipped
 * "alpha-prime" config (cached by source hash); every mutation edits a private copy.
 */

const CODE = '131016';
const PROXY_STACK = 'AlphaPrime-SecurityCloud-Proxy131016';
const cfg = loadConfig('alpha-prime');
const m = cfg.municipalities[0];
const squid = squidConfig(alphaPrimeProxyConfig(m));

function one(t: ReturnType<typeof readTemplate>, type: string): [string, any] {
  const all = resourcesOf(t, type);
  assert.equal(all.length, 1, `one ${type} in the template, got ${all.length}`);
  return all[0];
}

/** The proxy hosts' user data as text (references shown as ${Name}). */
function userData(d: string): string {
  const [, lt] = one(readTemplate(d, PROXY_STACK), 'AWS::EC2::LaunchTemplate');
  return flattenResolved(lt.Properties.LaunchTemplateData.UserData['Fn::Base64']);
}

function between(text: string, start: string, end: string): string {
  const i = text.indexOf(start);
  assert.ok(i >= 0, `user data contains ${start}`);
  const j = text.indexOf(end, i + start.length);
  assert.ok(j >= 0, `user data contains ${end} after ${start}`);
  return text.slice(i + start.length, j);
}

function proxyGroup(d: string): { stack: string; id: string } {
  const h = hubIds(d);
  const id = resourcesOf(readTemplate(d, h.stack), 'AWS::NetworkFirewall::RuleGroup').find(([, r]) => r.Properties.RuleGroupName.endsWith(`-proxy-${CODE}`))![0];
  return { stack: h.stack, id };
}

function mutated(apply: (d: string) => void): ReturnType<typeof summary> & { verdict: string; messages: string[] } {
  const d = freshAssembly('alpha-prime');
  apply(d);
  const r = check(d);
  return { ...summary(r), verdict: r.verdict, messages: r.pack.findings.map((f) => `${f.rule}: ${f.message}`) };
}

describe('α′: the inspecting proxy as deployed', () => {
  test('the alpha-prime assembly matches its intent: lgwan reaches the proxy by PrivateLink (A1), the proxy reaches the internet only inspected', () => {
    const d = freshAssembly('alpha-prime');
    const r = check(d);
    assert.deepEqual(summary(r), { rules: [], analyzer: [] });
    assert.equal(r.verdict, 'match');
    const lgwanToProxy = r.analyzer.reaches.filter((x) => x.from === `lgwan@${CODE}` && x.to === `security-cloud@${CODE}`);
    assert.ok(lgwanToProxy.length > 0 && lgwanToProxy.every((x) => x.mechanism === 'privatelink' && x.permittedBy === 'A1'), JSON.stringify(lgwanToProxy));
    assert.deepEqual([...new Set(lgwanToProxy.flatMap((x) => x.ports ?? []))], [m.alphaPrime!.port]);
    // lgwan itself has no route anywhere but its own VPC and its terminals' VPN.
    assert.ok(!r.analyzer.reaches.some((x) => x.from === `lgwan@${CODE}` && x.to === 'internet'));
    const proxyOut = r.analyzer.reaches.filter((x) => x.from === `security-cloud@${CODE}` && x.to === 'internet');
    assert.ok(proxyOut.length > 0 && proxyOut.every((x) => x.inspected && x.permittedBy === 'A1'), JSON.stringify(proxyOut));
    // The proxy VPC reaches no tenant's internet zone (the tenants route table blackholes private space) and no other zone.
    const zonesReached = r.analyzer.reaches.filter((x) => x.from === `security-cloud@${CODE}` && x.mechanism === 'route').map((x) => x.to);
    assert.deepEqual([...new Set(zonesReached)].sort(), ['internet', 'security-cloud'].sort(), 'the proxy VPC reaches the internet and the hub (both through the firewall), nothing else');
  });

  test('the squid.conf the hosts write is squidConfig() for the municipality, and the allowlist they build from the parameter is its allowlist file', () => {
    const d = freshAssembly('alpha-prime');
    const ud = userData(d);
    assert.equal(between(ud, "cat > /etc/squid/squid.conf <<'SQUIDCONF'\n", '\nSQUIDCONF'), squid.squidConf);
    // The parameter: a String holding the allowlist as a JSON list, at the name the hosts read.
    const [, param] = one(readTemplate(d, PROXY_STACK), 'AWS::SSM::Parameter');
    assert.equal(param.Properties.Type, 'String');
    assert.equal(param.Properties.Name, proxyAllowlistParameterName('alpha-prime', CODE));
    assert.deepEqual(JSON.parse(param.Properties.Value), m.alphaPrime!.allowedDomains);
    assert.ok(ud.includes(`--name ${param.Properties.Name} --query Parameter.Value`));
    // Run the very filter the hosts run on the parameter's value: it writes squidConfig()'s allowlist file byte for byte.
    const filter = between(ud, '--query Parameter.Value --output text | ', ` > ${squid.files[0].path}.new`);
    assert.equal(execFileSync('bash', ['-c', filter], { input: param.Properties.Value, encoding: 'utf8' }), squid.files[0].content);
    // The CA comes from Secrets Manager (through the SSM endpoint), the key stays root-only.
    assert.ok(ud.includes(`/aws/reference/secretsmanager/${m.alphaPrime!.caSecretId}`));
    assert.ok(ud.includes('chmod 0600 /etc/squid/ssl/ca.key'));
    // The whole boot script is valid bash (bash -n parses it without running anything).
    execFileSync('bash', ['-n'], { input: ud });
  });

  test('the access-log shipper (run with stand-in squid and aws commands): ships every rotated log under the proxy\'s prefix, keeps and retries one whose upload failed', () => {
    const d = freshAssembly('alpha-prime');
    const script = between(userData(d), "cat > /usr/local/sbin/three-tier-proxy-ship-logs <<'SHIP'\n", '\nSHIP').replace(/\$\{AWS::AccountId\}/g, '123456789012');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'three-tier-ship-'));
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    const calls = path.join(dir, 'calls.log');
    fs.writeFileSync(path.join(bin, 'squid'), `#!/bin/bash\necho "squid $*" >> ${calls}\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'aws'), `#!/bin/bash\necho "aws $*" >> ${calls}\n[ -z "$FAIL" ]\n`, { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'sleep'), '#!/bin/bash\n', { mode: 0o755 });
    const log = path.join(dir, 'access.log');
    const shipper = path.join(dir, 'ship.sh');
    // The one change: the log path, so the script runs on a temporary file.
    fs.writeFileSync(shipper, script.replace('log=/var/log/squid/access.log', `log=${log}`), { mode: 0o755 });
    const run = (env: Record<string, string> = {}) => spawnSync('bash', [shipper], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ...env }, encoding: 'utf8' });
    fs.writeFileSync(log, '2026-12-02T04:29:43.505Z 10.1.64.20 CONNECT login.microsoftonline.com:443 ...\n');
    assert.equal(run({ FAIL: '1' }).status, 1, 'a failed upload fails the unit');
    const pending = fs.readdirSync(dir).filter((f) => f.endsWith('.gz'));
    assert.equal(pending.length, 1, 'a failed upload leaves the rotated file for the next run');
    assert.ok(!fs.existsSync(log), 'the live log was rotated away');
    assert.equal(run().status, 0);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.gz')), [], 'shipped and deleted on the next run');
    const lines = fs.readFileSync(calls, 'utf8').trim().split('\n');
    assert.equal(lines.filter((l) => l === 'squid -k rotate').length, 1, 'Squid reopens its log after the move');
    const uploads = lines.filter((l) => l.startsWith('aws s3 cp'));
    assert.equal(uploads.length, 2);
    for (const u of uploads) assert.match(u, new RegExp(`^aws s3 cp --only-show-errors --region ap-northeast-1 \\S+\\.gz s3://alpha-prime-log-archive-123456789012-ap-northeast-1/proxy-access/${CODE}/[^/]+/\\d{8}T\\d{6}Z\\.log\\.gz$`));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the endpoint service admits the municipality\'s account only, and the lgwan endpoint only the LGWAN terminal segments on the proxy port', () => {
    const d = freshAssembly('alpha-prime');
    const t = readTemplate(d, PROXY_STACK);
    const [serviceId, service] = one(t, 'AWS::EC2::VPCEndpointService');
    assert.equal(service.Properties.AcceptanceRequired, false);
    const [, perms] = one(t, 'AWS::EC2::VPCEndpointServicePermissions');
    assert.deepEqual(perms.Properties.ServiceId, { Ref: serviceId });
    const principals = perms.Properties.AllowedPrincipals.map(flattenResolved);
    // The shipped config names no account: the municipality's account is the deploying (same) account.
    assert.deepEqual(principals, ['arn:aws:iam::${AWS::AccountId}:root']);
    assert.ok(!principals.some((p: string) => p.includes('*')));
    const lgwan = readTemplate(d, zoneStack(d, CODE, 'lgwan'));
    const endpoints = resourcesOf(lgwan, 'AWS::EC2::VPCEndpoint').filter(([, r]) => JSON.stringify(r.Properties.ServiceName).includes('Proxy'));
    assert.equal(endpoints.length, 1, 'one interface endpoint to the proxy service in lgwan');
    const sgId = endpoints[0][1].Properties.SecurityGroupIds[0]['Fn::GetAtt'][0];
    const ingress = lgwan.Resources[sgId].Properties!.SecurityGroupIngress;
    assert.deepEqual(ingress.map((x: any) => [x.CidrIp, x.FromPort, x.ToPort]), m.terminals.lgwan!.officeCidrs.map((c) => [c, m.alphaPrime!.port, m.alphaPrime!.port]));
    // lgwan has no Transit Gateway attachment and no route out.
    assert.equal(resourcesOf(lgwan, 'AWS::EC2::TransitGatewayVpcAttachment').length, 0);
  });

  test('the firewall passes exactly the allowlist and the Debian CDN from the proxy VPC, ahead of the general groups, then drops the rest', () => {
    const d = freshAssembly('alpha-prime');
    const g = proxyGroup(d);
    const hub = readTemplate(d, g.stack);
    const group = hub.Resources[g.id].Properties!;
    assert.deepEqual(group.RuleGroup.RuleVariables.IPSets.PROXY.Definition, [m.alphaPrime!.proxyCidr]);
    const names = parseSuricataRules(group.RuleGroup.RulesSource.RulesString).map(passedName).filter((n) => n?.kind === 'exact' || n?.kind === 'suffix');
    assert.deepEqual([...new Set(names.map((n) => (n as { name: string }).name))].sort(), [...m.alphaPrime!.allowedDomains, 'deb.debian.org'].sort());
    const policy = hub.Resources[hubIds(d).policy].Properties!.FirewallPolicy;
    const priorities = policy.StatefulRuleGroupReferences.map((x: any) => [x.ResourceArn['Fn::GetAtt']?.[0], x.Priority]);
    const proxyPriority = priorities.find(([id]: [string]) => id === g.id)[1];
    const closing = priorities.find(([id]: [string]) => id && hub.Resources[id].Properties!.RuleGroupName.endsWith('-proxy-closing'));
    const general = priorities.filter(([id]: [string]) => id !== g.id && id !== closing[0]).map(([, p]: [string, number]) => p);
    assert.ok(proxyPriority < closing[1] && closing[1] < Math.min(...general), JSON.stringify(priorities));
  });
});

describe('α′: the municipality\'s squid.conf in Squid, behind a PROXY protocol sender standing in for the NLB', () => {
  let root = '';
  let squid: RunningSquid | undefined;
  let port = 0;
  let logFile = '';
  const asRoot = process.getuid?.() === 0;

  beforeAll(async () => {
    assert.ok(fs.existsSync(SQUID) && fs.existsSync(CERTGEN), 'squid-openssl is not installed; run scripts/system-deps.sh');
    root = tmpDir('alpha-prime-squid');
    fs.chmodSync(root, 0o755);
    port = await freePort();
    const base = alphaPrimeProxyConfig(m);
    const paths = { caCert: `${root}/pki/ca.pem`, caKey: `${root}/pki/ca.key`, certDb: `${root}/ssl_db`, accessLog: `${root}/logs/access.log`, cacheLog: `${root}/logs/cache.log`, pidFile: `${root}/logs/squid.pid`, coredumpDir: `${root}/logs`, allowedDomainsFile: `${root}/allowed-domains.txt` };
    createLabCa({ dir: path.join(root, 'pki'), permittedNames: base.allowedDomains });
    // The deployed config, on loopback: the sender of PROXY headers is 127.0.0.1 here, the proxy VPC's NLB in AWS.
    const cfg = validateProxyConfig({ ...base, listen: { address: '127.0.0.1', port }, proxyProtocolFrom: ['127.0.0.1/32'], paths, effectiveUser: asRoot ? 'proxy' : os.userInfo().username, shutdownLifetimeSeconds: 0 });
    assert.deepEqual(cfg.clients, m.terminals.lgwan!.officeCidrs);
    const out = squidConfig(cfg);
    fs.writeFileSync(path.join(root, 'squid.conf'), out.squidConf);
    for (const f of out.files) fs.writeFileSync(f.path, f.content);
    fs.mkdirSync(path.join(root, 'logs'));
    execFileSync(CERTGEN, ['-c', '-s', paths.certDb, '-M', '4MB'], { stdio: 'pipe' });
    fs.chmodSync(paths.certDb, 0o700);
    if (asRoot) execFileSync('chown', ['-R', 'proxy:proxy', paths.certDb, path.join(root, 'logs')]);
    logFile = paths.accessLog;
    // startSquid waits for its readiness probe's log line; each test still picks its line by what it asked for.
    squid = await startSquid(path.join(root, 'squid.conf'), port, logFile);
  }, 120_000);

  /** The first new access-log line that `match` accepts (lines of other connections are skipped). */
  async function lineFor(before: number, match: (l: AccessLogEntry) => boolean): Promise<AccessLogEntry> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const hit = accessLog(logFile).slice(before).find(match);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no matching access-log line after line ${before}: ${JSON.stringify(accessLog(logFile).slice(before))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  afterAll(async () => {
    await squid?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  }, 60_000);

  /** A CONNECT, optionally after a PROXY protocol v1 header naming `source` as the client; resolves with what came back. */
  function connect(authority: string, source?: string): Promise<{ data: string; error?: string }> {
    return new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let data = '';
      s.on('connect', () => s.write(`${source ? `PROXY TCP4 ${source} 127.0.0.1 40000 ${port}\r\n` : ''}CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
      s.on('data', (d) => (data += d));
      s.on('error', (e: NodeJS.ErrnoException) => resolve({ data, error: e.code ?? e.message }));
      s.on('close', () => resolve({ data }));
    });
  }

  test('a terminal of the office segment (from the header) is checked against the allowlist and logged by its own address', async () => {
    const before = accessLog(logFile).length;
    const r = await connect('paste.example.net:443', '192.168.20.5');
    assert.ok(!r.data.startsWith('HTTP/1.1 200'), r.data);
    const line = await lineFor(before, (l) => l.url.includes('paste.example.net'));
    assert.equal(line.client, '192.168.20.5');
    assert.equal(line.refused, 'not-on-allowlist');
  });

  test('an address outside the LGWAN terminal segments (from the header) is refused as a client', async () => {
    const before = accessLog(logFile).length;
    const r = await connect(`${m.alphaPrime!.allowedDomains[0]}:443`, '10.9.9.9');
    assert.ok(!r.data.startsWith('HTTP/1.1 200'), r.data);
    const line = await lineFor(before, (l) => l.url.includes(m.alphaPrime!.allowedDomains[0]));
    assert.equal(line.client, '10.9.9.9');
    assert.equal(line.squidStatus, 'TCP_DENIED');
    assert.equal(line.refused, 'not-a-client');
  });

  test('a connection without the PROXY header is closed before any request is read', async () => {
    const before = accessLog(logFile).length;
    const r = await connect(`${m.alphaPrime!.allowedDomains[0]}:443`);
    assert.equal(r.data, '', 'no answer at all');
    // Squid never parsed a request: the CONNECT line was not a PROXY header, so the connection ended there.
    const [line] = await newLogLines(logFile, before, 1);
    assert.equal(line.client, '127.0.0.1');
    assert.equal(line.method, '-');
    assert.equal(line.url, 'error:transaction-end-before-headers');
  });
});

describe('α′: a municipality in another account than the security cloud', () => {
  test('the endpoint service admits that account only, and the proxy stack says how to connect lgwan', () => {
    const input = JSON.parse(JSON.stringify(alphaPrimeInput));
    input.account = '111111111111';
    input.municipalities[0].account = '222222222222';
    const c = validateConfig(input);
    const app = createApp();
    const env = { account: '111111111111', region: c.region };
    const hub = new SecurityCloudStack(app, 'Hub', { config: c, env });
    const proxy = new ProxyStack(app, 'Proxy', { config: c, municipality: c.municipalities[0], hub, env });
    Template.fromStack(proxy).hasResourceProperties('AWS::EC2::VPCEndpointServicePermissions', { AllowedPrincipals: ['arn:aws:iam::222222222222:root'] });
    assert.deepEqual(Object.keys(Template.fromStack(proxy).findOutputs('*')).filter((k) => k.includes('EndpointServiceName')).length, 1);
    const warnings = Annotations.fromStack(proxy).findWarning('*', Match.stringLikeRegexp('municipality 131016 is in another account than the security cloud'));
    assert.equal(warnings.length, 1);
  });
});

describe('α′: the security cloud in another account than the log archive', () => {
  const archiveOf = (scAccount: string | undefined) => {
    const input = JSON.parse(JSON.stringify(alphaPrimeInput));
    input.account = '111111111111';
    if (scAccount) input.securityCloud.account = scAccount;
    const c = validateConfig(input);
    const stack = new LogArchiveStack(createApp(), 'Archive', { config: c, env: { account: '111111111111', region: c.region } });
    return Template.fromStack(stack);
  };
  const statements = (t: Template, type: string) => Object.values(t.findResources(type)).flatMap((r: any) => r.Properties.PolicyDocument?.Statement ?? r.Properties.KeyPolicy?.Statement ?? []);
  test('the archive admits the proxies\' access logs from that account, under their prefix only and through S3 only', () => {
    const t = archiveOf('333333333333');
    const put = statements(t, 'AWS::S3::BucketPolicy').find((x: any) => x.Sid === 'ProxyAccessLogsFromTheSecurityCloud');
    assert.ok(put, 'bucket policy statement');
    assert.equal(put.Principal.AWS, 'arn:aws:iam::333333333333:root');
    assert.equal(put.Action, 's3:PutObject');
    assert.match(JSON.stringify(put.Resource), /\/proxy-access\/\*"/);
    const key = statements(t, 'AWS::KMS::Key').find((x: any) => x.Sid === 'ProxyAccessLogsKeyFromTheSecurityCloud');
    assert.ok(key, 'key policy statement');
    assert.deepEqual(key.Condition, { StringEquals: { 'kms:ViaService': 's3.ap-northeast-1.amazonaws.com' } });
    // The security cloud's own log delivery (firewall, hub flow logs) is admitted from its account too.
    const delivery = statements(t, 'AWS::S3::BucketPolicy').find((x: any) => x.Sid === 'AWSLogDeliveryWrite');
    assert.ok(delivery.Condition.StringEquals['aws:SourceAccount'].includes('333333333333'));
  });
  test('in one account the hosts\' role suffices: no grant to another account', () => {
    const t = archiveOf(undefined);
    assert.ok(!statements(t, 'AWS::S3::BucketPolicy').some((x: any) => x.Sid === 'ProxyAccessLogsFromTheSecurityCloud'));
    assert.ok(!statements(t, 'AWS::KMS::Key').some((x: any) => x.Sid === 'ProxyAccessLogsKeyFromTheSecurityCloud'));
  });
});

describe('α′: broken templates are caught', () => {
  test('(a) a firewall pass rule for a name outside the list: ThreeTier-AP1', () => {
    const s = mutated((d) => {
      const g = proxyGroup(d);
      editTemplate(d, g.stack, (t) => {
        const src = t.Resources[g.id].Properties!.RuleGroup.RulesSource;
        src.RulesString += '\npass tls $PROXY any -> $EXTERNAL_NET 443 (msg:"x"; tls.sni; content:"paste.example.net"; startswith; nocase; endswith; flow:to_server,established; sid:2309999; rev:1;)';
      });
    });
    assert.equal(s.verdict, 'mismatch');
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: passes "paste\.example\.net" from the proxy, which crossings A1 .* do not list/.test(x)), s.messages.join('\n'));
  });

  test('(a) a name rule made broader (not anchored at the start: "xdocs.example-saas.jp" would pass): ThreeTier-AP1', () => {
    const s = mutated((d) => {
      const g = proxyGroup(d);
      editTemplate(d, g.stack, (t) => {
        const src = t.Resources[g.id].Properties!.RuleGroup.RulesSource;
        src.RulesString = src.RulesString.replace('content:"docs.example-saas.jp"; startswith; nocase; endswith;', 'content:"docs.example-saas.jp"; nocase; endswith;');
      });
    });
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: pass rule broader than a name \("docs\.example-saas\.jp" is not anchored at the start/.test(x)), s.messages.join('\n'));
  });

  test('(a) a pass rule from the proxy that names nothing (any TLS on 443): ThreeTier-AP1', () => {
    const s = mutated((d) => {
      const g = proxyGroup(d);
      editTemplate(d, g.stack, (t) => {
        const src = t.Resources[g.id].Properties!.RuleGroup.RulesSource;
        src.RulesString = `pass tcp $PROXY any -> $EXTERNAL_NET 443 (msg:"x"; flow:to_server,established; sid:2309998; rev:1;)\n${src.RulesString}`;
      });
    });
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: pass rule not restricted to a name: pass tcp \$PROXY/.test(x)), s.messages.join('\n'));
  });

  test('(a) the closing drop removed, so the rest of the proxy\'s traffic would reach the general rules: ThreeTier-AP1 on the policy', () => {
    const s = mutated((d) => {
      const h = hubIds(d);
      editTemplate(d, h.stack, (t) => {
        const id = resourcesOf(t, 'AWS::NetworkFirewall::RuleGroup').find(([, r]) => r.Properties.RuleGroupName.endsWith('-proxy-closing'))![0];
        const src = t.Resources[id].Properties!.RuleGroup.RulesSource;
        src.RulesString = src.RulesString.split('\n').filter((l: string) => !l.startsWith('drop ')).join('\n');
      });
    });
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: nothing drops the rest of the traffic from 10\.1\.64\.0\/24/.test(x)), s.messages.join('\n'));
  });

  test('(a) the proxy\'s name rules ordered after the general groups: ThreeTier-AP1 on the policy', () => {
    const s = mutated((d) => {
      const g = proxyGroup(d);
      editTemplate(d, g.stack, (t) => {
        const policy = resourcesOf(t, 'AWS::NetworkFirewall::FirewallPolicy')[0][1];
        for (const ref of policy.Properties.FirewallPolicy.StatefulRuleGroupReferences) if (ref.ResourceArn['Fn::GetAtt']?.[0] === g.id) ref.Priority = 5000;
      });
    });
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: rule group \S+ \(names of A1 .*\) has priority 5000, after a general group/.test(x)), s.messages.join('\n'));
  });

  test('(a) the proxy\'s name rules taken out of the firewall policy (the group still exists): ThreeTier-AP1 on the policy', () => {
    const s = mutated((d) => {
      const g = proxyGroup(d);
      editTemplate(d, g.stack, (t) => {
        const policy = resourcesOf(t, 'AWS::NetworkFirewall::FirewallPolicy')[0][1].Properties.FirewallPolicy;
        policy.StatefulRuleGroupReferences = policy.StatefulRuleGroupReferences.filter((ref: any) => ref.ResourceArn['Fn::GetAtt']?.[0] !== g.id);
      });
    });
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: rule group \S+ \(firewall rule group: from the proxy VPC only .*\) of crossing A1 is not in the firewall policy/.test(x)), s.messages.join('\n'));
  });

  test('(b) the allowlist parameter has an extra name: ThreeTier-AP1', () => {
    const s = mutated((d) => {
      editTemplate(d, PROXY_STACK, (t) => {
        const [, p] = resourcesOf(t, 'AWS::SSM::Parameter')[0];
        p.Properties.Value = JSON.stringify([...JSON.parse(p.Properties.Value), '.example-upload.net']);
      });
    });
    assert.equal(s.verdict, 'mismatch');
    assert.ok(s.messages.some((x) => /^ThreeTier-AP1: allowlist parameter lists "\.example-upload\.net", which the intent does not \(crossings A1 lgwan → security-cloud \(131016\)/.test(x)), s.messages.join('\n'));
  });

  test('(b) the intent widened by hand (a name in A1 that neither the parameter nor the firewall has): ThreeTier-AP1 twice', () => {
    const s = mutated((d) => editIntent(d, (i) => {
      for (const c of i.crossings) if (c.id === 'A1') (c as { fqdns: string[] }).fqdns.push('extra.example.jp');
    }));
    assert.ok(s.messages.some((x) => /allowlist parameter lacks "extra\.example\.jp"/.test(x)), s.messages.join('\n'));
    assert.ok(s.messages.some((x) => /does not pass "extra\.example\.jp"/.test(x)), s.messages.join('\n'));
  });

  test('(c) the proxy bypassed: lgwan attached to the Transit Gateway with a default route: ThreeTier-IS4 and the analyzer', () => {
    const s = mutated((d) => {
      const h = hubIds(d);
      const tgw = importOf(d, h.stack, h.tgw);
      const tenants = importOf(d, h.stack, h.tenants);
      editTemplate(d, zoneStack(d, CODE, 'lgwan'), (t) => {
        const rt = Object.values(t.Resources).find((r) => r.Type === 'AWS::EC2::SubnetRouteTableAssociation' && r.Properties!.SubnetId.Ref === subnetIds(t, 'workload')[0])!.Properties!.RouteTableId.Ref;
        t.Resources.Att = { Type: 'AWS::EC2::TransitGatewayVpcAttachment', Properties: { TransitGatewayId: tgw, VpcId: { Ref: vpcId(t) }, SubnetIds: subnetIds(t, 'endpoints').map((x) => ({ Ref: x })) } };
        t.Resources.Assoc = { Type: 'AWS::EC2::TransitGatewayRouteTableAssociation', Properties: { TransitGatewayAttachmentId: { Ref: 'Att' }, TransitGatewayRouteTableId: tenants } };
        t.Resources.Default = { Type: 'AWS::EC2::Route', Properties: { RouteTableId: { Ref: rt }, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: tgw } };
      });
    });
    assert.ok(s.rules.includes('ThreeTier-IS4'), s.rules.join(', '));
    assert.ok(s.analyzer.some((f) => /^forbidden-reach: lgwan@131016 reaches internet via route/.test(f)), s.analyzer.join('\n'));
  });

  test('(c) the proxy VPC routes 0.0.0.0/0 around the firewall (its own internet gateway): the analyzer', () => {
    const s = mutated((d) => {
      editTemplate(d, PROXY_STACK, (t) => {
        t.Resources.Igw = { Type: 'AWS::EC2::InternetGateway', Properties: {} };
        t.Resources.IgwAtt = { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: { Ref: vpcId(t) }, InternetGatewayId: { Ref: 'Igw' } } };
        for (const [, r] of resourcesOf(t, 'AWS::EC2::Route')) {
          if (r.Properties.DestinationCidrBlock !== '0.0.0.0/0') continue;
          delete r.Properties.TransitGatewayId;
          r.Properties.GatewayId = { Ref: 'Igw' };
        }
      });
    });
    assert.equal(s.verdict, 'mismatch');
    assert.ok(s.analyzer.some((f) => /^uninspected-path: security-cloud@131016 reaches the internet without crossing the firewall/.test(f)), s.analyzer.join('\n'));
  });

  test('(c) the proxy VPC attached to the firewall route table instead of the tenants table (egress straight to NAT, uninspected): the analyzer', () => {
    const s = mutated((d) => {
      const h = hubIds(d);
      const firewallTable = importOf(d, h.stack, h.firewall);
      editTemplate(d, PROXY_STACK, (t) => {
        const [, assoc] = resourcesOf(t, 'AWS::EC2::TransitGatewayRouteTableAssociation')[0];
        assoc.Properties.TransitGatewayRouteTableId = firewallTable;
      });
    });
    assert.ok(s.analyzer.some((f) => /^uninspected-path: security-cloud@131016 reaches the internet without crossing the firewall/.test(f)), s.analyzer.join('\n'));
  });

  test('DNS from the proxy VPC: a name added to its DNS allowlist, or "*" no longer blocked, is caught by the analyzer', () => {
    const extra = mutated((d) => {
      editTemplate(d, PROXY_STACK, (t) => {
        const [, list] = resourcesOf(t, 'AWS::Route53Resolver::FirewallDomainList').find(([, r]) => r.Properties.Name.endsWith('-dns-services'))!;
        list.Properties.Domains.push('*.example-exfil.net');
      });
    });
    assert.ok(extra.analyzer.some((f) => /^forbidden-reach: security-cloud@131016 resolves names its intent does not list via dns: \*\.example-exfil\.net/.test(f)), extra.analyzer.join('\n'));
    const open = mutated((d) => {
      editTemplate(d, PROXY_STACK, (t) => {
        const [, group] = resourcesOf(t, 'AWS::Route53Resolver::FirewallRuleGroup')[0];
        group.Properties.FirewallRules = group.Properties.FirewallRules.filter((r: any) => r.Action !== 'BLOCK');
      });
    });
    assert.ok(open.analyzer.some((f) => /^forbidden-reach: security-cloud@131016 reaches public-internet via dns \(no rule blocks "\*"/.test(f)), open.analyzer.join('\n'));
  });
});
