import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ThreeTierConfig } from '../../config/schema';
import { ZONES } from '../../config/schema';
import { zoneStackName } from '../core/naming';
import { AssemblyError } from '../isolation/cfn/assembly';
import { builtMunicipalities, featureGroups } from './features';
import { classify, configValues, derivedValueFor, ShapeClass, Template } from './shapes';

/**
 * The shapes of a synthesized config, written into its cloud assembly
 * (`<cdk.out>/shapes/`): one template per distinct zone-stack shape, one
 * parameter file per zone stack (its municipality's values), and an index.
 * `npm run check-isolation -- cdk.out --shapes` checks every municipality from
 * these files alone: the shape, instantiated with that municipality's values.
 */
export const SHAPES_DIR = 'shapes';
export const SHAPES_INDEX = 'index.json';

export interface ShapesIndexMember {
  readonly code: string;
  readonly stack: string;
  readonly parametersFile: string;
  /** Not built by the app (rollout.method "shapes"): its stack is the shape with this parameter file. */
  readonly predicted?: boolean;
  readonly account?: string;
  readonly region?: string;
}

export interface ShapesIndex {
  readonly config: string;
  readonly classes: {
    readonly id: string;
    readonly zone: string;
    readonly template: string;
    readonly parameters: string[];
    readonly resources: number;
    readonly members: ShapesIndexMember[];
  }[];
}

function readTemplate(dir: string, stack: string): Template {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const file = manifest.artifacts?.[stack]?.properties?.templateFile ?? `${stack}.template.json`;
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
}

/**
 * Classifies the zone stacks of `cfg` in the assembly at `dir` and writes the
 * shapes beside them (`<dir>/shapes`, or `out` when given).
 */
export function writeShapes(dir: string, cfg: ThreeTierConfig, outDir?: string): { classes: ShapeClass[]; index: ShapesIndex } {
  const zoneOf = new Map<string, string>();
  const built = new Set(builtMunicipalities(cfg).map((m) => m.code));
  const classes = classify(
    { ...cfg, municipalities: cfg.municipalities.filter((m) => built.has(m.code)) },
    (m) =>
      new Map(
        ZONES.map((zone) => {
          const name = zoneStackName(cfg.name, m.code, zone);
          zoneOf.set(name, zone);
          return [name, readTemplate(dir, name)] as const;
        }),
      ),
    (stack) => zoneOf.get(stack)!,
  );
  const predicted = new Set<string>();
  if (cfg.rollout.method === 'shapes') predictMembers(cfg, classes, predicted);
  const out = outDir ?? path.join(dir, SHAPES_DIR);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'instances'), { recursive: true });
  const index: ShapesIndex = {
    config: cfg.name,
    classes: classes.map((c) => {
      const template = `${c.id}.template.json`;
      fs.writeFileSync(path.join(out, template), JSON.stringify(c.shape, null, 1));
      return {
        id: c.id,
        zone: c.id.split('-')[0],
        template,
        parameters: c.parameters,
        resources: Object.keys((c.shape.Resources ?? {}) as object).length,
        members: c.members.map((mem) => {
          const parametersFile = path.join('instances', `${mem.stackName}.parameters.json`);
          fs.writeFileSync(path.join(out, parametersFile), JSON.stringify({ Parameters: mem.parameters }, null, 1));
          const m = cfg.municipalities.find((x) => x.code === mem.code)!;
          return { code: mem.code, stack: mem.stackName, parametersFile, ...(predicted.has(mem.stackName) ? { predicted: true } : {}), account: m.account ?? cfg.account, region: m.region ?? cfg.region };
        }),
      };
    }),
  };
  fs.writeFileSync(path.join(out, SHAPES_INDEX), JSON.stringify(index, null, 1));
  return { classes, index };
}

/** A damaged or missing shapes folder: the check cannot read its input (exit 2), never a finding. */
export class ShapesError extends AssemblyError {}

/**
 * rollout.method "shapes": adds every municipality the app did not build to
 * the shapes of its feature group's first municipality, with its own values.
 * Refuses (fail closed) a group whose first and last municipality, both
 * built, do not share every shape, and a municipality that lacks a value its
 * shape needs.
 */
function predictMembers(cfg: ThreeTierConfig, classes: ShapeClass[], predicted: Set<string>): void {
  const classOf = new Map<string, ShapeClass>();
  for (const c of classes) for (const mem of c.members) classOf.set(mem.stackName, c);
  for (const g of featureGroups(cfg)) {
    const first = g.members[0];
    const last = g.members[g.members.length - 1];
    for (const zone of ZONES) {
      const c = classOf.get(zoneStackName(cfg.name, first.code, zone));
      const check = classOf.get(zoneStackName(cfg.name, last.code, zone));
      if (!c || !check) throw new ShapesError(`rollout.method "shapes": the ${zone} stacks of ${first.code} and ${last.code} were not built`);
      if (c !== check) {
        throw new ShapesError(`rollout.method "shapes": municipalities ${first.code} and ${last.code} have the same features but their ${zone} stacks differ in more than their values, so their shape cannot be predicted; set rollout.method to "stacks" and report this as a bug`);
      }
      for (const m of g.members.slice(1, -1)) {
        const fromConfig = Object.fromEntries(configValues(m).map((v) => [v.name, v.value]));
        const parameters: Record<string, string> = {};
        for (const p of c.parameters) {
          const v = fromConfig[p] ?? derivedValueFor(m, p);
          if (v === undefined) throw new ShapesError(`rollout.method "shapes": municipality ${m.code} has no value for ${p}, which the ${zone} shape ${c.id} needs`);
          parameters[p] = v;
        }
        const stackName = zoneStackName(cfg.name, m.code, zone);
        c.members.push({ code: m.code, stackName, parameters });
        predicted.add(stackName);
      }
    }
  }
}

/** The shape index of an assembly, with a clear error when there is none or it is damaged. */
export function readShapesIndex(dir: string): ShapesIndex {
  const file = path.join(dir, SHAPES_DIR, SHAPES_INDEX);
  if (!fs.existsSync(file)) throw new ShapesError(`${file}: missing; this assembly was synthesized without shapes (run "npx cdk synth" with this version)`);
  let index: ShapesIndex;
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ShapesError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (!index || !Array.isArray(index.classes)) throw new ShapesError(`${file}: classes: missing or not a list`);
  for (const [i, c] of index.classes.entries()) {
    if (typeof c?.template !== 'string' || !Array.isArray(c.members)) throw new ShapesError(`${file}: classes[${i}]: needs "template" and "members"`);
    for (const [j, mem] of c.members.entries()) {
      if (typeof mem?.stack !== 'string' || typeof mem.parametersFile !== 'string') throw new ShapesError(`${file}: classes[${i}].members[${j}]: needs "stack" and "parametersFile"`);
    }
  }
  return index;
}
