/**
 * Ready client settings for the isolated tiers' terminals and servers.
 *
 * freshclam: PrivateMirror makes freshclam skip the DNS version check and
 * fetch whole CVDs from the mirror (If-Modified-Since / the CVD header), so
 * it needs nothing but HTTPS to the tier's mirror. ScriptedUpdates is off
 * because the feed mirrors signed CVDs, not cdiffs. freshclam still verifies
 * every CVD against the ClamAV key compiled into libclamav, on top of the
 * feed's own check. When the mirror's certificate comes from the
 * municipality's internal CA, point freshclam at it with the environment
 * variable CURL_CA_BUNDLE (libfreshclam honours it) or install the CA in the
 * system store.
 */
export interface FreshclamOptions {
  /** Mirror base URLs, e.g. "https://updates.lgwan.example.lg.jp/clamav". */
  readonly mirrors: string[];
  readonly databaseDirectory?: string;
  /** The user freshclam drops to (default clamav). */
  readonly databaseOwner?: string;
  /** Extra databases to keep current besides daily/main/bytecode (e.g. test databases). */
  readonly extraDatabases?: string[];
  readonly checksPerDay?: number;
}

export function freshclamConf(o: FreshclamOptions): string {
  if (!o.mirrors.length) throw new Error('freshclamConf: give at least one mirror URL');
  for (const m of o.mirrors) if (!/^https:\/\/[^\s/]+(\/[^\s]*)?$/.test(m)) throw new Error(`freshclamConf: mirror "${m}" must be an https:// URL`);
  return [
    '# freshclam.conf for a terminal or server in an isolated tier (三層分離).',
    '# Signature databases come only from the tier\'s own mirror, which serves',
    '# what the updates feed verified against ClamAV\'s published key.',
    `DatabaseDirectory ${o.databaseDirectory ?? '/var/lib/clamav'}`,
    `DatabaseOwner ${o.databaseOwner ?? 'clamav'}`,
    ...o.mirrors.map((m) => `PrivateMirror ${m.replace(/\/+$/, '')}`),
    'DNSDatabaseInfo no',
    'ScriptedUpdates no',
    'CompressLocalDatabase no',
    `Checks ${o.checksPerDay ?? 24}`,
    'ConnectTimeout 30',
    'ReceiveTimeout 120',
    'TestDatabases yes',
    'Bytecode yes',
    ...(o.extraDatabases ?? []).map((d) => `ExtraDatabase ${d}`),
    '',
  ].join('\n');
}
