import { AnalysisResult } from '../isolation/analyzer';
import { blastRadiusMarkdown, computeBlastRadius, Lang } from '../isolation/blast-radius';
import { IsolationIntent } from '../isolation/intent';
import { CloudModel } from '../isolation/model';

/**
 * The review pack's section on channels that are not crossings: each zone's
 * DNS policy and allowlist (from the intent, checked against the assembly),
 * the AWS-managed doors found, the blast radius per zone, and what the checks
 * do not model. Generated from the assembly and the intent.
 */
export function channelsMarkdown(model: CloudModel, intent: IsolationIntent, analysis: AnalysisResult, lang: Lang): string {
  const ja = lang === 'ja';
  const out: string[] = [];
  out.push(`### ${ja ? 'DNS（ゾーンごとのリゾルバー方針と許可リスト）' : 'DNS (resolver policy and allowlist per zone)'}`, '');
  out.push(
    ja
      ? '分離ゾーンは許可リストの名前だけを解決します（Route 53 Resolver DNS Firewall、フェイルクローズ、最後に `*` をブロック、CNAME の転送先も検査）。すべてのゾーンの問い合わせはログアーカイブの `dns-query-logs/<団体コード>/<ゾーン>/` に記録されます。'
      : 'Isolated zones resolve only the names on their allowlist (Route 53 Resolver DNS Firewall, fail closed, `*` blocked last, CNAME targets inspected). Every zone\'s queries are logged to the archive under `dns-query-logs/<code>/<zone>/`.',
    '',
    `| zone | ${ja ? '方針' : 'policy'} | ${ja ? '解析結果' : 'analysed reach'} | ${ja ? '許可する名前' : 'allowed names'} |`,
    '|---|---|---|---|',
  );
  for (const z of intent.zones) {
    const who = z.municipality ? `${z.zone}@${z.municipality}` : z.zone;
    const reach = analysis.channels?.dns.find((d) => d.zone === z.zone && d.municipality === z.municipality);
    const policy = z.dns?.policy ?? (z.isolated ? 'allowlist' : 'public');
    const names = policy === 'allowlist' ? (z.dns?.names ?? []).map((n) => `\`${n}\``).join(' ') || '-' : '-';
    out.push(`| ${who} | ${policy} | ${reach ? (reach.reach === 'anything' && policy === 'public' ? 'public' : reach.reach) : '-'} | ${names} |`);
  }
  out.push('', `### ${ja ? 'AWS マネージドの入口' : 'AWS-managed doors'}`, '');
  const doors = analysis.channels?.doors ?? [];
  const listed = intent.doors ?? [];
  out.push(
    ja
      ? `インテントが許可する入口: ${listed.length ? listed.map((d) => `${d.kind}@${d.zone}`).join(', ') : 'なし'}。アセンブリで見つかった入口: ${doors.length ? doors.map((d) => `${d.kind}@${d.zone}${d.permittedBy ? '' : '（禁止）'}`).join(', ') : 'なし'}。`
      : `Doors the intent lists: ${listed.length ? listed.map((d) => `${d.kind}@${d.zone}`).join(', ') : 'none'}. Doors found in the assembly: ${doors.length ? doors.map((d) => `${d.kind}@${d.zone}${d.permittedBy ? '' : ' (FORBIDDEN)'}`).join(', ') : 'none'}.`,
    '',
    ja
      ? '検査対象: EC2 Instance Connect エンドポイント、Client VPN、VPC Lattice、Verified Access、Gateway Load Balancer エンドポイントとそこへの経路、インテントにないエンドポイントサービス、分離ゾーンの Resolver アウトバウンドエンドポイントと転送ルール、Egress-only IGW と IPv6 デフォルトルート、分離ゾーンでインスタンスやネットワークインターフェイスに向かう経路。'
      : 'Checked: EC2 Instance Connect endpoints, Client VPN, VPC Lattice, Verified Access, Gateway Load Balancer endpoints and routes to them, endpoint services the intent does not name, Resolver outbound endpoints and forwarding rules in isolated zones, egress-only internet gateways and IPv6 default routes, routes to instances or network interfaces in isolated zones.',
  );
  out.push('', `### ${ja ? 'ゾーンごとの被害範囲（侵害されたホスト 1 台から）' : 'Blast radius per zone (from one compromised host)'}`, '');
  out.push(
    ja
      ? 'アセンブリとインテントから計算しています。バケット・キューの r/w/d は、エンドポイントポリシーとバケット／キューポリシーが許す操作です（IAM の ID ポリシーは含みません。IAM が許せば可能、という意味です）。'
      : 'Computed from the assembly and the intent. The r/w/d of buckets and queues is what the endpoint policies and the bucket and queue policies leave possible (identity policies are not modelled: possible if IAM allows it).',
    '',
    blastRadiusMarkdown(computeBlastRadius(model, intent, analysis), lang),
  );
  out.push('', `### ${ja ? '検査が見ない経路' : 'Channels the checks cannot see'}`, '');
  out.push(
    ...(ja
      ? [
          '- 許可された境界通過の中のタイミング等の隠れチャネル（画面転送の描画タイミング、ファイル受け渡しの間隔など）。',
          '- 許可されたオブジェクトの中身（無害化済みファイルや本文テキストに埋め込まれたデータ）。無害化は能動的内容を除去しますが、情報そのものは運びます。',
          '- IAM の ID ポリシー、SCP、KMS キーポリシーによる制限（被害範囲は「IAM が許せば」の上限です）。',
          '- AWS の外の経路（庁舎の端末、USB、印刷）とデプロイ後の手作業の変更（`npm run verify` が実機で確かめます。ただし Network Access Analyzer は DNS を見ません）。',
        ]
      : [
          '- Covert timing and similar channels inside permitted crossings (screen-transfer frame timing, the rhythm of file drops).',
          '- Data inside permitted objects (sanitized files, text-ized mail): sanitization removes active content, not information.',
          '- Limits set by IAM identity policies, SCPs and KMS key policies (the blast radius is an upper bound "if IAM allows").',
          '- Paths outside AWS (office terminals, USB, printing) and manual changes after deployment (`npm run verify` checks the live account; Network Access Analyzer does not see DNS, so verify queries the resolver from each probe).',
        ]),
  );
  return out.join('\n');
}
