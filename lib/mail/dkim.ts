import { createPrivateKey } from 'crypto';
import { dkimSign } from 'mailauth';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { simpleParser } from 'mailparser';

/**
 * DKIM signing of outbound mail for the municipal domains (at the internet
 * relay, the last hop of ours before the internet), with `mailauth`'s
 * signer (RFC 6376, relaxed/relaxed, rsa-sha256). The private key is kept
 * in Secrets Manager (the config names the secret, never the key); the
 * relay reads it once at start and keeps it in memory. Only messages whose
 * From domain is one of the municipality's domains are signed: the relay's
 * own delivery notifications and anything else go out unsigned.
 */
export interface DkimKey {
  readonly selector: string;
  /** PEM (PKCS#1 or PKCS#8) RSA private key, at least 2048 bits. */
  readonly privateKey: string;
  /** The domains this key signs for (d= is the From domain). */
  readonly domains: readonly string[];
}

export type Signer = (raw: Buffer) => Promise<Buffer>;

export function checkDkimKey(pem: string, where: string): void {
  let bits: number | undefined;
  try {
    const k = createPrivateKey(pem);
    if (k.asymmetricKeyType !== 'rsa') throw new Error(`a ${k.asymmetricKeyType} key; DKIM here signs with RSA (rsa-sha256)`);
    bits = k.asymmetricKeyDetails?.modulusLength;
  } catch (e) {
    throw new Error(`${where}: not an RSA private key in PEM: ${(e as Error).message}`);
  }
  if (!bits || bits < 2048) throw new Error(`${where}: the RSA key has ${bits} bits; use at least 2048 (RFC 8301)`);
}

export function dkimSigner(key: DkimKey): Signer {
  checkDkimKey(key.privateKey, 'the DKIM key');
  const domains = key.domains.map((d) => d.toLowerCase());
  return async (raw) => {
    const from = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
    const addrs = (Array.isArray(from.from) ? from.from : from.from ? [from.from] : []).flatMap((a) => a.value.map((v: { address?: string }) => v.address ?? ''));
    const domain = addrs.length === 1 ? addrs[0].split('@').pop()!.toLowerCase() : undefined;
    if (!domain || !domains.includes(domain)) return raw;
    const r = await dkimSign(raw, { canonicalization: 'relaxed/relaxed', algorithm: 'rsa-sha256', signatureData: [{ signingDomain: domain, selector: key.selector, privateKey: key.privateKey }] } as never);
    if (!/^DKIM-Signature:/i.test(r.signatures ?? '')) throw new Error(`DKIM signing for ${domain} produced no signature`);
    if (r.errors?.length) throw new Error(`DKIM signing for ${domain} failed: ${r.errors.map((e) => (e as { message?: string }).message ?? String(e)).join('; ')}`);
    return Buffer.concat([Buffer.from(r.signatures), raw]);
  };
}

/** Reads the DKIM private key (PEM) from Secrets Manager, once, at start. */
export async function dkimKeyFromSecretsManager(client: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const pem = out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : '');
  if (!pem) throw new Error(`the secret ${secretId} is empty`);
  checkDkimKey(pem, `the secret ${secretId}`);
  return pem;
}
