'use strict';
// CloudFormation custom resource: resolves the names of AWS managed Route 53
// Resolver DNS Firewall domain lists (e.g. AWSManagedDomainsMalwareDomainList)
// to their region-specific ids, which CloudFormation cannot look up itself.
// Input: ResourceProperties.ListNames (string[]). Output attributes: one per name.
const https = require('https');
const { URL } = require('url');

const MANAGED_OWNER = 'Route 53 Resolver DNS Firewall';

/** Lists every firewall domain list, following NextToken. */
async function listAll(client, ListFirewallDomainListsCommand) {
  const out = [];
  let NextToken;
  do {
    const page = await client.send(new ListFirewallDomainListsCommand({ NextToken, MaxResults: 100 }));
    out.push(...(page.FirewallDomainLists || []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out;
}

/** Maps each requested name to its id; throws naming every list that is missing. */
async function resolveIds(names, client, ListFirewallDomainListsCommand) {
  const lists = await listAll(client, ListFirewallDomainListsCommand);
  const data = {};
  const missing = [];
  for (const name of names) {
    const hit = lists.find((l) => l.Name === name && (!l.ManagedOwnerName || l.ManagedOwnerName === MANAGED_OWNER));
    if (hit) data[name] = hit.Id;
    else missing.push(name);
  }
  if (missing.length) throw new Error(`managed domain list(s) not found in this region: ${missing.join(', ')}`);
  return data;
}

/** PUTs the custom resource response to the pre-signed URL CloudFormation gave. */
function respond(event, status, reason, data, physicalId) {
  const body = JSON.stringify({
    Status: status,
    Reason: String(reason).slice(0, 3000),
    PhysicalResourceId: physicalId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    NoEcho: false,
    Data: data,
  });
  const url = new URL(event.ResponseURL);
  const mod = url.protocol === 'http:' ? require('http') : https;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      { hostname: url.hostname, port: url.port || undefined, path: `${url.pathname}${url.search}`, method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`response upload returned ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function handler(event, _context, deps) {
  const physicalId = event.PhysicalResourceId || `managed-domain-lists-${event.LogicalResourceId}`;
  if (event.RequestType === 'Delete') return respond(event, 'SUCCESS', 'nothing to delete', {}, physicalId);
  try {
    const names = (event.ResourceProperties && event.ResourceProperties.ListNames) || [];
    if (!Array.isArray(names) || names.length === 0) throw new Error('ResourceProperties.ListNames must be a non-empty list');
    const sdk = (deps && deps.sdk) || require('@aws-sdk/client-route53resolver');
    const client = (deps && deps.client) || new sdk.Route53ResolverClient({});
    const data = await resolveIds(names, client, sdk.ListFirewallDomainListsCommand);
    return respond(event, 'SUCCESS', 'resolved', data, physicalId);
  } catch (e) {
    return respond(event, 'FAILED', e && e.message ? e.message : String(e), {}, physicalId);
  }
}

module.exports = { handler, resolveIds };
