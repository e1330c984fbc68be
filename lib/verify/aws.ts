import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * Every EC2 call of `npm run verify` goes through here: throttling is retried
 * with exponential backoff and jitter, missing permissions become one error
 * that names the IAM action, and missing credentials one that says how to
 * provide them. The clock is injectable so tests do not wait.
 */

/** The IAM actions `npm run verify` calls, with what each is for (README lists them too). */
export const REQUIRED_ACTIONS: Record<string, string> = {
  'ec2:DescribeVpcs': 'find the zone VPCs by their ThreeTier:* tags',
  'ec2:DescribeInstances': 'find probes, simulated LGWAN hosts and MX hosts',
  'ec2:DescribeInternetGateways': 'find internet gateways',
  'ec2:DescribeVpcEndpoints': 'find interface and PrivateLink endpoints',
  'ec2:DescribeVpnGateways': 'find virtual private gateways (terminal landings, 特定通信)',
  'ec2:DescribeTransitGateways': 'find the security cloud hub',
  'ec2:DescribeTransitGatewayAttachments': 'find the firewall attachment of the hub',
  'ec2:CreateNetworkInsightsAccessScope': 'Network Access Analyzer scope per forbidden reach',
  'ec2:StartNetworkInsightsAccessScopeAnalysis': 'run it',
  'ec2:DescribeNetworkInsightsAccessScopeAnalyses': 'poll it',
  'ec2:GetNetworkInsightsAccessScopeAnalysisFindings': 'read its findings hop by hop',
  'ec2:DeleteNetworkInsightsAccessScopeAnalysis': 'clean up',
  'ec2:DeleteNetworkInsightsAccessScope': 'clean up',
  'ec2:CreateNetworkInsightsPath': 'Reachability Analyzer path per permitted crossing',
  'ec2:StartNetworkInsightsAnalysis': 'run it',
  'ec2:DescribeNetworkInsightsAnalyses': 'poll it and read the path',
  'ec2:DeleteNetworkInsightsAnalysis': 'clean up',
  'ec2:DeleteNetworkInsightsPath': 'clean up',
  'ec2:CreateTags': 'tag what it creates (ThreeTier:Verify) so leftovers can be found',
  'ssm:SendCommand': 'DNS check: run a resolver query on each isolated zone\'s probe (AWS-RunShellScript)',
  'ssm:GetCommandInvocation': 'DNS check: read the probe\'s answer',
  'ssm:CancelCommand': 'DNS check: stop a query that did not finish (clean up)',
  'tiros:CreateQuery': 'used by both analyzers on your behalf',
  'tiros:GetQueryAnswer': 'used by both analyzers on your behalf',
  'tiros:GetQueryExplanation': 'used by both analyzers on your behalf',
};

export const MANAGED_POLICIES = ['AmazonVPCNetworkAccessAnalyzerFullAccessPolicy', 'AmazonVPCReachabilityAnalyzerFullAccessPolicy'];

export class PermissionError extends Error {
  constructor(
    readonly action: string,
    detail: string,
  ) {
    super(`not allowed to call ${action}: ${detail}`);
  }
}

export class CredentialsError extends Error {}

/** What a command needs from the client: `send`. EC2Client (and its mock) qualifies. */
export interface Ec2Like {
  send(command: unknown): Promise<unknown>;
}

export interface RetryOptions {
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly onRetry?: (what: string, attempt: number, delayMs: number, error: string) => void;
}

const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException', 'SlowDown', 'EC2ThrottledException']);
const PERMISSION = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'UnauthorizedException', 'AuthFailure']);
const CREDENTIALS = new Set(['CredentialsProviderError', 'ExpiredToken', 'ExpiredTokenException', 'InvalidClientTokenId', 'UnrecognizedClientException']);

export const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AwsErrorShape {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function errorName(e: unknown): string {
  const x = e as AwsErrorShape;
  return x?.name ?? x?.Code ?? 'Error';
}

export function isThrottling(e: unknown): boolean {
  const x = e as AwsErrorShape;
  return THROTTLING.has(errorName(e)) || x?.$metadata?.httpStatusCode === 429;
}

/** `DescribeVpcsCommand` → `ec2:DescribeVpcs` (`ssm:SendCommand` for the SSM client). */
export function actionOf(command: unknown, service = 'ec2'): string {
  const name = (command as { constructor?: { name?: string } })?.constructor?.name ?? 'UnknownCommand';
  return `${service}:${name.replace(/Command$/, '')}`;
}

export class Ec2Caller {
  /** Throttled calls that were retried (reported in the summary). */
  retries = 0;
  constructor(
    readonly client: Ec2Like,
    private readonly opts: RetryOptions = {},
    /** IAM service prefix of the client's actions, for messages (the same retries serve the SSM client). */
    private readonly service = 'ec2',
  ) {}

  async send<O>(command: object): Promise<O> {
    const max = this.opts.maxAttempts ?? 8;
    const base = this.opts.baseDelayMs ?? 500;
    const cap = this.opts.maxDelayMs ?? 20_000;
    const sleep = this.opts.sleep ?? realSleep;
    const random = this.opts.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.client.send(command)) as O;
      } catch (e) {
        const name = errorName(e);
        const message = (e as AwsErrorShape)?.message ?? String(e);
        if (isThrottling(e) && attempt < max) {
          // Full jitter: uniformly between half the exponential delay and the delay.
          const delay = Math.min(cap, base * 2 ** (attempt - 1));
          const wait = Math.round(delay / 2 + (random() * delay) / 2);
          this.retries++;
          this.opts.onRetry?.(actionOf(command, this.service), attempt, wait, name);
          await sleep(wait);
          continue;
        }
        if (PERMISSION.has(name)) throw new PermissionError(actionOf(command, this.service), message);
        if (CREDENTIALS.has(name)) throw new CredentialsError(`${name}: ${message}`);
        if (isThrottling(e)) throw new Error(`${actionOf(command, this.service)} still throttled after ${max} attempts (${name}); run again later or lower --concurrency`);
        throw e;
      }
    }
  }
}

/** The real client, with the SDK's own retries left to ours (one attempt each). */
export function ec2Client(region: string, profile?: string): EC2Client {
  if (profile) process.env.AWS_PROFILE = profile;
  return new EC2Client({ region, maxAttempts: 1 });
}
