import { X509Certificate } from 'crypto';
import { z } from 'zod';

/**
 * `updates`: the feed that brings signature databases and application
 * updates into the isolated tiers (issue #19). Each channel names a vendor,
 * the URLs polled through the security cloud, and the trust anchors its
 * artefacts must verify against. Nothing here is "sanitized": authenticity
 * against pinned anchors is the whole check (docs/updates.en.md).
 */

/** ClamAV's published CVD signing key (libclamav/dsig.c, CLI_NSTR / CLI_ESTR), in decimal. */
export const CLAMAV_PUBLISHED_KEY = {
  modulus:
    '118640995551645342603070001658453189751527774412027743746599405743243142607464144767361060640655844749760788890022283424922762488917565551002467771109669598189410434699034532232228621591089508178591428456220796841621637175567590476666928698770143328137383952820383197532047771780196576957695822641224262693037',
  exponent: '100001027',
} as const;

export const CHANNEL_KINDS = ['clamav', 'authenticode', 'openpgp'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates in a string, each parsed (throws on a broken one). */
export function pemCertificates(pem: string): X509Certificate[] {
  return (pem.match(PEM_CERT_RE) ?? []).map((c) => new X509Certificate(c));
}

const decimal = z.string().regex(/^[1-9][0-9]*$/, { error: 'must be a positive decimal integer in a string (ClamAV publishes its key in decimal, libclamav/dsig.c)' });

const trust = z.strictObject(
  {
    /** clamav: the CVD signing key; defaults to ClamAV's published key. */
    clamavKey: z.strictObject({ modulus: decimal, exponent: decimal }).optional(),
    /** authenticode: PEM certificates of the publisher's CA (or the publisher's own self-signed certificate). */
    certificates: z.array(z.string()).optional(),
    /** authenticode, optional: the signer's subject must contain one of these (e.g. "CN=Mozilla Corporation"). */
    signerSubjects: z.array(z.string().min(3)).optional(),
    /** openpgp: ASCII-armored public keys ("-----BEGIN PGP PUBLIC KEY BLOCK-----"). */
    publicKeys: z.array(z.string()).optional(),
  },
  { error: 'must be an object of trust anchors: { clamavKey } for clamav, { certificates } for authenticode, { publicKeys } for openpgp' },
);

const schedule = z
  .string({ error: 'must be an EventBridge rate such as "rate(1 hour)" or "rate(30 minutes)"' })
  .regex(/^rate\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\)$/, { error: 'must be an EventBridge rate such as "rate(1 hour)" or "rate(30 minutes)" (singular unit for 1)' });

export const channelSchema = z
  .strictObject({
    name: z.string({ error: 'must name the channel' }).regex(/^[a-z][a-z0-9-]{1,39}$/, { error: 'must be 2-40 characters of a-z, 0-9 and "-", starting with a letter (it becomes the folder updates/<channel>/)' }),
    kind: z.enum(CHANNEL_KINDS, { error: `must be one of ${CHANNEL_KINDS.join(', ')}` }),
    /** Files to fetch, each an https URL (http only for ClamAV's CVDs, which carry their own signature). */
    urls: z.array(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as "https://database.clamav.net/daily.cvd"' })).min(1, { error: 'must list at least one URL to fetch' }),
    trust: trust.default({}),
    /** How often the fetch service polls this channel. */
    schedule: schedule.default('rate(1 hour)'),
    /** Largest artefact accepted; bigger ones are quarantined. */
    maxBytes: z.number().int().min(1024, { error: 'must be at least 1024 bytes' }).max(4 * 1024 ** 3, { error: 'must be at most 4294967296 (4 GiB)' }).default(512 * 1024 ** 2),
    /**
     * authenticode and openpgp: where the version is in the file name (a
     * regular expression with one capture group of dotted numbers). ClamAV's
     * version is in the CVD header.
     */
    versionPattern: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const at = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (c.kind === 'authenticode') {
      if (!c.trust.certificates?.length) at(['trust', 'certificates'], 'is required for an authenticode channel: pin the publisher\'s CA certificate(s) in PEM ("-----BEGIN CERTIFICATE-----")');
      c.trust.certificates?.forEach((pem, i) => {
        try {
          if (pemCertificates(pem).length === 0) at(['trust', 'certificates', i], 'holds no PEM certificate; paste the whole "-----BEGIN CERTIFICATE-----" block');
        } catch (e) {
          at(['trust', 'certificates', i], `is not a readable X.509 certificate (${(e as Error).message}); export it again in PEM`);
        }
      });
    } else if (c.trust.certificates || c.trust.signerSubjects) at(['trust', 'certificates'], `is for authenticode channels; a ${c.kind} channel pins ${c.kind === 'clamav' ? 'clamavKey' : 'publicKeys'}`);
    if (c.kind === 'openpgp') {
      if (!c.trust.publicKeys?.length) at(['trust', 'publicKeys'], 'is required for an openpgp channel: pin the vendor\'s ASCII-armored public key(s)');
      c.trust.publicKeys?.forEach((k, i) => {
        if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]+-----END PGP PUBLIC KEY BLOCK-----/.test(k)) at(['trust', 'publicKeys', i], 'is not an ASCII-armored public key; export it with "gpg --armor --export <fingerprint>"');
      });
    } else if (c.trust.publicKeys) at(['trust', 'publicKeys'], `is for openpgp channels; a ${c.kind} channel pins ${c.kind === 'clamav' ? 'clamavKey' : 'certificates'}`);
    if (c.kind !== 'clamav' && c.trust.clamavKey) at(['trust', 'clamavKey'], 'is for clamav channels only');
    if (c.kind === 'clamav') {
      c.urls.forEach((u, i) => {
        if (!/\.(cvd)$/.test(new URL(u).pathname)) at(['urls', i], 'must name a .cvd file (e.g. ".../daily.cvd"): the feed mirrors whole signed CVDs, not cdiffs or CLDs');
      });
    } else {
      const pattern = c.versionPattern ?? DEFAULT_VERSION_PATTERN;
      let re: RegExp | undefined;
      try {
        re = new RegExp(pattern);
      } catch (e) {
        at(['versionPattern'], `is not a regular expression (${(e as Error).message})`);
      }
      if (re && new RegExp(`${re.source}|`).exec('')!.length !== 2) at(['versionPattern'], 'must have exactly one capture group around the version, e.g. "-(\\\\d+(?:\\\\.\\\\d+)+)\\\\.msi$"');
      if (c.urls.some((u) => new URL(u).protocol !== 'https:')) at(['urls'], `must all be https:// for a ${c.kind} channel`);
    }
  });

export const DEFAULT_VERSION_PATTERN = '(\\d+(?:\\.\\d+)+)';

export const updatesSchema = z
  .strictObject({
    channels: z.array(channelSchema, { error: 'must be a list of update channels' }).default([]),
    /** The fetch service in internet (small group, one host is enough). */
    fetch: z
      .strictObject({
        instanceTypes: z.array(z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: 'must be an EC2 instance type such as "t3.small"' })).min(2, { error: 'must list at least 2 instance types so the group survives a shortage of one' }).default(['c6i.large', 'c7i.large']),
      })
      .default({ instanceTypes: ['c6i.large', 'c7i.large'] }),
    /** Which isolated tiers get an HTTPS mirror (mynumber only where its terminals are configured). */
    mirrorTiers: z.array(z.enum(['lgwan', 'mynumber'], { error: 'must be "lgwan" or "mynumber"' })).min(1, { error: 'must list at least "lgwan"' }).default(['lgwan', 'mynumber']),
  })
  .superRefine((u, ctx) => {
    const seen = new Map<string, number>();
    u.channels.forEach((c, i) => {
      if (seen.has(c.name)) ctx.addIssue({ code: 'custom', path: ['channels', i, 'name'], message: `"${c.name}" is already the name of channels[${seen.get(c.name)}]; channel names must be unique (they are folders)` });
      seen.set(c.name, i);
    });
  });

export type UpdatesConfig = z.output<typeof updatesSchema>;
export type UpdateChannel = z.output<typeof channelSchema>;

/** The hosts the fetch service must reach: exactly the channels' URL hosts, sorted, unique. */
export function channelHosts(u: UpdatesConfig | undefined): string[] {
  return [...new Set((u?.channels ?? []).flatMap((c) => c.urls.map((x) => new URL(x).hostname.toLowerCase())))].sort();
}
