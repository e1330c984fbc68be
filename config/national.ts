import { withCheckDigit } from './codes';
import { SECURITY_CLOUD_CIDR, syntheticBlock } from './layout';
import { ThreeTierConfigInput } from './schema';

/**
 * One municipality per prefecture: the prefectural capital (for Tokyo, 新宿区,
 * where the metropolitan government sits), with its real 全国地方公共団体コード
 * (5 digits from the 総務省 code list; the check digit is computed, and the
 * schema verifies it).
 */
export const PREFECTURAL_CAPITALS: readonly { code5: string; name: string; nameEn: string }[] = [
  { code5: '01100', name: '札幌市', nameEn: 'Sapporo' },
  { code5: '02201', name: '青森市', nameEn: 'Aomori' },
  { code5: '03201', name: '盛岡市', nameEn: 'Morioka' },
  { code5: '04100', name: '仙台市', nameEn: 'Sendai' },
  { code5: '05201', name: '秋田市', nameEn: 'Akita' },
  { code5: '06201', name: '山形市', nameEn: 'Yamagata' },
  { code5: '07201', name: '福島市', nameEn: 'Fukushima' },
  { code5: '08201', name: '水戸市', nameEn: 'Mito' },
  { code5: '09201', name: '宇都宮市', nameEn: 'Utsunomiya' },
  { code5: '10201', name: '前橋市', nameEn: 'Maebashi' },
  { code5: '11100', name: 'さいたま市', nameEn: 'Saitama' },
  { code5: '12100', name: '千葉市', nameEn: 'Chiba' },
  { code5: '13104', name: '新宿区', nameEn: 'Shinjuku' },
  { code5: '14100', name: '横浜市', nameEn: 'Yokohama' },
  { code5: '15100', name: '新潟市', nameEn: 'Niigata' },
  { code5: '16201', name: '富山市', nameEn: 'Toyama' },
  { code5: '17201', name: '金沢市', nameEn: 'Kanazawa' },
  { code5: '18201', name: '福井市', nameEn: 'Fukui' },
  { code5: '19201', name: '甲府市', nameEn: 'Kofu' },
  { code5: '20201', name: '長野市', nameEn: 'Nagano' },
  { code5: '21201', name: '岐阜市', nameEn: 'Gifu' },
  { code5: '22100', name: '静岡市', nameEn: 'Shizuoka' },
  { code5: '23100', name: '名古屋市', nameEn: 'Nagoya' },
  { code5: '24201', name: '津市', nameEn: 'Tsu' },
  { code5: '25201', name: '大津市', nameEn: 'Otsu' },
  { code5: '26100', name: '京都市', nameEn: 'Kyoto' },
  { code5: '27100', name: '大阪市', nameEn: 'Osaka' },
  { code5: '28100', name: '神戸市', nameEn: 'Kobe' },
  { code5: '29201', name: '奈良市', nameEn: 'Nara' },
  { code5: '30201', name: '和歌山市', nameEn: 'Wakayama' },
  { code5: '31201', name: '鳥取市', nameEn: 'Tottori' },
  { code5: '32201', name: '松江市', nameEn: 'Matsue' },
  { code5: '33100', name: '岡山市', nameEn: 'Okayama' },
  { code5: '34100', name: '広島市', nameEn: 'Hiroshima' },
  { code5: '35203', name: '山口市', nameEn: 'Yamaguchi' },
  { code5: '36201', name: '徳島市', nameEn: 'Tokushima' },
  { code5: '37201', name: '高松市', nameEn: 'Takamatsu' },
  { code5: '38201', name: '松山市', nameEn: 'Matsuyama' },
  { code5: '39201', name: '高知市', nameEn: 'Kochi' },
  { code5: '40130', name: '福岡市', nameEn: 'Fukuoka' },
  { code5: '41201', name: '佐賀市', nameEn: 'Saga' },
  { code5: '42201', name: '長崎市', nameEn: 'Nagasaki' },
  { code5: '43100', name: '熊本市', nameEn: 'Kumamoto' },
  { code5: '44201', name: '大分市', nameEn: 'Oita' },
  { code5: '45201', name: '宮崎市', nameEn: 'Miyazaki' },
  { code5: '46201', name: '鹿児島市', nameEn: 'Kagoshima' },
  { code5: '47201', name: '那覇市', nameEn: 'Naha' },
];

/** Example ids (not real accounts or OUs): replace them with your organization's. */
const ORGANIZATION_ID = 'o-exampleorg1';
const MANAGEMENT_ACCOUNT = '100000000000';
const SECURITY_CLOUD_ACCOUNT = '200000000000';
const municipalityAccount = (n: number): string => String(300000000000 + n + 1);
const prefectureOu = (pref: string): string => `ou-jp00-pref00${pref}`;

/**
 * `national`: one security cloud for the whole country, every prefecture an
 * organizational unit and a StackSets wave (in prefecture-code order), one
 * municipality per prefecture in an account of its own. Generated from the
 * list above; the accounts, OUs and organization are examples.
 */
export const national: ThreeTierConfigInput = {
  name: 'national',
  account: SECURITY_CLOUD_ACCOUNT,
  region: 'ap-northeast-1',
  availabilityZones: ['ap-northeast-1a', 'ap-northeast-1c'],
  securityCloud: { name: 'Japan', cidr: SECURITY_CLOUD_CIDR, account: SECURITY_CLOUD_ACCOUNT },
  rollout: {
    method: 'shapes',
    stackSets: {
      organizationId: ORGANIZATION_ID,
      managementAccount: MANAGEMENT_ACCOUNT,
      callAs: 'DELEGATED_ADMIN',
      maxConcurrentPercentage: 25,
      failureTolerancePercentage: 0,
      waves: PREFECTURAL_CAPITALS.map((c) => ({ prefecture: c.code5.slice(0, 2), organizationalUnitId: prefectureOu(c.code5.slice(0, 2)) })),
    },
  },
  municipalities: PREFECTURAL_CAPITALS.map((c, n) => ({
    code: withCheckDigit(c.code5),
    name: c.name,
    nameEn: c.nameEn,
    account: municipalityAccount(n),
    cidrs: syntheticBlock(n),
    lgwanMailDomains: [`city.${c.nameEn.toLowerCase()}.lg.jp`],
  })),
};
