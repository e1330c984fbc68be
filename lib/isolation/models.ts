import { MODEL_LABELS, modelOf, NetworkModel } from '../../config/models';
import type { ThreeTierConfig } from '../../config/schema';
import type { Crossing, CrossingId, IntentModel } from './intent';

/**
 * What each network model of the MIC guideline changes, as data for the intent
 * and the review pack. The crossings a model adds are built by their own modules
 * (model-alpha-prime.ts, model-beta.ts) and checked like every other crossing;
 * this file holds what the network cannot enforce: the conditions the guideline
 * attaches, stated per municipality so a reviewer sees them beside the crossings.
 *
 * Sources (docs/models.en.md lists them with dates): 総務省「地方公共団体における情報
 * セキュリティポリシーに関するガイドライン」(令和7年3月版, 第3編) and its 2020 and 2024
 * revisions as reported by 総務省 press material; where the guideline text itself was not
 * available the condition says "reported".
 */

export interface ModelCondition {
  readonly id: string;
  readonly en: string;
  readonly ja: string;
  /** Who makes it true: this project's templates (`cdk`), or the municipality outside CDK (`outside`). */
  readonly enforced: 'cdk' | 'outside';
}

/** The crossings each model adds to α's (by id). */
export const MODEL_CROSSINGS: Record<NetworkModel, readonly CrossingId[]> = {
  alpha: [],
  'alpha-prime': ['A1'],
  beta: ['B1'],
  'beta-prime': ['B1', 'B2'],
};

const COMMON: ModelCondition[] = [
  { id: 'no-mynumber-internet', en: 'No route between the My Number tier and the internet; My Number → LGWAN only by 特定通信 (X5).', ja: 'マイナンバー利用事務系とインターネットの間に経路なし。マイナンバー系から LGWAN へは特定通信（X5）のみ。', enforced: 'cdk' },
];

/** The guideline's conditions per model, with the municipality's own values filled in. */
export function modelConditions(cfg: ThreeTierConfig, m: ThreeTierConfig['municipalities'][number]): ModelCondition[] {
  const model = modelOf(cfg, m);
  switch (model) {
    case 'alpha':
      return [
        ...COMMON,
        { id: 'terminals-lgwan', en: 'Staff terminals are in the LGWAN tier; the internet only through the virtual browser (X1), files only sanitized (X2), mail only text-ized (X3).', ja: '職員端末は LGWAN 接続系。インターネットは仮想ブラウザー（X1）経由のみ、ファイルは無害化（X2）、メールはテキスト化（X3）のみ。', enforced: 'cdk' },
      ];
    case 'alpha-prime': {
      const ap = m.alphaPrime!;
      const tenants = [
        ap.tenantRestrictions.microsoft ? `Microsoft Entra ID tenant ${ap.tenantRestrictions.microsoft.tenantId} (tenant restrictions v2 policy ${ap.tenantRestrictions.microsoft.policyId})` : '',
        ap.tenantRestrictions.google ? `Google Workspace ${ap.tenantRestrictions.google.allowedDomains.join(', ')}` : '',
      ].filter(Boolean);
      return [
        ...COMMON,
        { id: 'named-services', en: `LGWAN-tier terminals reach only the named cloud services (${ap.allowedDomains.join(', ')}) by local breakout, through the inspecting proxy and the security cloud's firewall; every other LGWAN egress stays forbidden.`, ja: `LGWAN 接続系の端末は指定したクラウドサービス（${ap.allowedDomains.join(', ')}）だけに、検査プロキシとセキュリティクラウドのファイアウォールを通ってローカルブレイクアウトで接続。それ以外の LGWAN からの通信は引き続き禁止。`, enforced: 'cdk' },
        { id: 'tenant-restriction', en: `Sign-in restricted to the municipality's own tenant${tenants.length ? `: ${tenants.join('; ')}` : ''} (headers inserted by the proxy); the tenant restriction policy itself is set in the identity provider's admin console.`, ja: `サインインは団体自身のテナントに限定${tenants.length ? `（${tenants.join('、')}）` : ''}（プロキシがヘッダーを挿入）。テナント制限ポリシー自体は IdP の管理画面で設定。`, enforced: 'outside' },
        { id: 'proxy-ca', en: `The TLS-inspection CA (Secrets Manager ${ap.caSecretId}) is the municipality's own intermediate CA, trusted by the LGWAN terminals (distributed by group policy); its key never leaves Secrets Manager and the proxy hosts.`, ja: `TLS 検査の CA（Secrets Manager ${ap.caSecretId}）は団体自身の中間 CA で、LGWAN 端末が信頼する（グループポリシーで配布）。鍵は Secrets Manager とプロキシホストの外に出さない。`, enforced: 'outside' },
        { id: 'ismap', en: 'The named cloud services are in principle ISMAP-registered (reported; check the guideline).', ja: '指定するクラウドサービスは原則 ISMAP 登録済み（報道ベース。ガイドラインで確認）。', enforced: 'outside' },
        { id: 'mfa-logs', en: 'Multi-factor sign-in to the services and log retention and monitoring of the proxy and firewall logs (the logs reach the archive; their review is an operational duty).', ja: 'サービスへの多要素認証、プロキシとファイアウォールのログの保存と監視（ログはアーカイブに届く。確認は運用の責任）。', enforced: 'outside' },
      ];
    }
    case 'beta':
    case 'beta-prime': {
      const b = m.beta!;
      const out: ModelCondition[] = [
        ...COMMON,
        { id: 'terminals-internet', en: 'Main staff terminals are in the internet tier.', ja: '主な職員端末はインターネット接続系。', enforced: 'outside' },
        { id: 'screen-transfer-only', en: `LGWAN systems are reached from the internet tier only by screen transfer: ${b.screenSystems.map((s) => `${s.name} ${s.address}:${s.port}`).join(', ')} (crossing B1); nothing else initiates into lgwan, and files still reach lgwan only through the sanitizer (X2).`, ja: `LGWAN のシステムにはインターネット接続系から画面転送でのみ接続：${b.screenSystems.map((s) => `${s.name} ${s.address}:${s.port}`).join('、')}（境界通過 B1）。それ以外に LGWAN へ接続を開始するものはなく、ファイルは引き続き無害化（X2）経由のみ。`, enforced: 'cdk' },
        { id: 'edr', en: `EDR on every internet-tier terminal: ${b.edr.product} (${b.edr.agent}), with its alerts monitored — a condition of the guideline that the network cannot enforce.`, ja: `インターネット接続系のすべての端末に EDR：${b.edr.product}（${b.edr.agent}）、アラートを監視すること。ガイドラインの条件で、ネットワークでは強制できない。`, enforced: 'outside' },
        { id: 'human-measures', en: 'Human security measures (training, rules for staff) are a condition of adopting β (総務省 2020-05-22).', ja: 'β の採用には人的セキュリティ対策の実施が条件（総務省 2020-05-22）。', enforced: 'outside' },
        { id: 'security-cloud', en: 'Internet-tier traffic goes through the security cloud (X7), inspected and logged.', ja: 'インターネット接続系の通信はセキュリティクラウド（X7）を通り、検査・記録される。', enforced: 'cdk' },
      ];
      if (model === 'beta-prime') {
        const bp = m.betaPrime!;
        out.push(
          { id: 'moved-systems', en: `Business systems moved into the internet tier: ${bp.movedSystems.map((s) => `${s.name} (ports ${s.ports.join(', ')})`).join(', ')}, each in its own subnets with its own security group and flow logs (crossing B2).`, ja: `インターネット接続系へ移した業務システム：${bp.movedSystems.map((s) => `${s.name}（ポート ${s.ports.join('、')}）`).join('、')}。それぞれ専用のサブネット、セキュリティグループ、フローログ（境界通過 B2）。`, enforced: 'cdk' },
          { id: 'per-asset-access', en: 'Access control per information asset and continuous monitoring of the moved systems (reported conditions of β′).', ja: '情報資産ごとのアクセス制御と移行したシステムの継続的な監視（β′ の条件として報道されているもの）。', enforced: 'outside' },
        );
      }
      return out;
    }
  }
}

/** The intent's per-municipality model entries. */
export function intentModels(cfg: ThreeTierConfig, crossings: readonly Crossing[]): IntentModel[] {
  return cfg.municipalities.map((m) => {
    const model = modelOf(cfg, m);
    const mine = new Set(crossings.filter((c) => c.municipality === m.code).map((c) => c.id));
    return {
      municipality: m.code,
      model,
      crossings: MODEL_CROSSINGS[model].filter((id) => mine.has(id)),
      conditions: modelConditions(cfg, m),
    };
  });
}

/** The model of a config as one word for the intent's top level: the one model, or "mixed (α, β)". */
export function configModelLabel(cfg: ThreeTierConfig): string {
  const models = [...new Set(cfg.municipalities.map((m) => modelOf(cfg, m)))];
  return models.length === 1 ? models[0] : `mixed (${models.map((x) => MODEL_LABELS[x]).join(', ')})`;
}
