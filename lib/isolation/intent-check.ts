import * as fs from 'fs';
import { z } from 'zod';
import { parseCidr } from '../../config/cidr';
import { INTENT_SCHEMA, IntentError, IsolationIntent } from './intent';
import { ZONE_NAMES } from './zones';

/**
 * Reading an isolation intent that someone may have written or edited by
 * hand: every field the checks rely on is validated, and a problem is an
 * `IntentError` that names the file and the field (`crossings[3].enforcedBy`)
 * with what is expected. Fields this version does not know are kept
 * (other checks may add their own).
 */

const zoneName = z.enum(ZONE_NAMES as unknown as [string, ...string[]], { error: (i) => `unknown zone ${JSON.stringify(i.input)}; zones are ${ZONE_NAMES.join(', ')}` });
const cidr = z.string().refine((t) => typeof parseCidr(t) !== 'string', { error: (i) => `${JSON.stringify(i.input)} is not an IPv4 CIDR: ${parseCidr(String(i.input))}` });
const municipality = z.string().regex(/^\d{6}$/, { error: 'a municipality is a 6-digit 全国地方公共団体コード' });
const port = z.number().int().min(0).max(65535);

const enforcing = z.looseObject({
  stack: z.string().min(1),
  constructPath: z.string(),
  logicalId: z.string().optional(),
  role: z.string(),
});

const crossing = z.looseObject({
  id: z.string().min(1),
  municipality: municipality.optional(),
  from: zoneName,
  to: z.union([zoneName, z.literal('aws-apis'), z.literal('office')], { error: (i) => `unknown destination ${JSON.stringify(i.input)}; a crossing leads to a zone, "aws-apis" or "office"` }),
  mechanism: z.string().min(1),
  destinations: z.array(cidr).optional(),
  ports: z.array(port),
  services: z.array(z.string().min(1)).optional(),
  fqdns: z.array(z.string().regex(/^\.?[a-z0-9-]+(\.[a-z0-9-]+)+$/, { error: 'a host name ("name" or ".domain"), lower case' })).min(1, { error: 'lists no name; a name-restricted crossing names at least one host' }).optional(),
  description: z.string(),
  enforcedBy: z.array(enforcing, { error: 'required: the resources that enforce the crossing, each {stack, constructPath, role} (an empty list if none)' }),
});

const intentSchema = z.looseObject({
  schema: z.literal(INTENT_SCHEMA, { error: (i) => `${JSON.stringify(i.input)} is not "${INTENT_SCHEMA}"` }),
  config: z.string(),
  model: z.string(),
  zones: z.array(
    z.looseObject({
      municipality: municipality.optional(),
      zone: zoneName,
      cidr,
      isolated: z.boolean(),
    }),
  ),
  crossings: z.array(crossing),
  rules: z.array(z.string()).optional(),
});

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('') || '(top level)';
}

/** Validates a parsed intent; throws an IntentError naming the file and every bad field. */
export function checkIntent(file: string, data: unknown): IsolationIntent {
  const r = intentSchema.safeParse(data);
  if (!r.success) {
    const problems = r.error.issues.slice(0, 10).map((i) => `${fieldPath(i.path)}: ${i.code === 'invalid_type' && i.message.includes('received undefined') ? `required (${i.message})` : i.message}`);
    const more = r.error.issues.length > 10 ? ` (and ${r.error.issues.length - 10} more)` : '';
    throw new IntentError(`${file}: the isolation intent is malformed: ${problems.join('; ')}${more}`);
  }
  return r.data as unknown as IsolationIntent;
}

/** Reads and validates an intent file. */
export function readIntentFile(file: string): IsolationIntent {
  if (!fs.existsSync(file)) throw new IntentError(`${file} is missing: pass the intent with --intent FILE, or synthesize with "npx cdk synth", which writes it into cdk.out`);
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new IntentError(`${file}: the isolation intent is not valid JSON (${(e as Error).message})`);
  }
  return checkIntent(file, data);
}
