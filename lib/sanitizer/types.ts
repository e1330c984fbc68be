/**
 * The file sanitizer (無害化, crossing X2): shared types. Every input ends in
 * exactly one verdict: `sanitized` (active content removed, output written),
 * `clean` (nothing active found, output is the input unchanged) or
 * `quarantined` (original kept aside with a reason, nothing passes).
 */

export type Verdict = 'sanitized' | 'clean' | 'quarantined';

export interface Limits {
  /** Largest input, and largest total size after decompression, in bytes. */
  readonly maxBytes: number;
  /** Most entries in one zip container (OOXML or archive). */
  readonly maxEntries: number;
  /** Largest uncompressed/compressed ratio of one zip entry (zip bombs). */
  readonly maxRatio: number;
  /** Deepest nesting of containers (archive in archive, PDF dictionaries, RTF groups). */
  readonly maxDepth: number;
  /** Longest time for one file, in milliseconds. */
  readonly timeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxBytes: 100 * 1024 * 1024,
  maxEntries: 10_000,
  maxRatio: 200,
  maxDepth: 8,
  timeoutMs: 30_000,
};

/** Thrown anywhere in the engine: the file is quarantined with this reason. */
export class Quarantine extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface Budget {
  readonly limits: Limits;
  readonly deadline: number;
  /** Bytes produced by decompression so far (all containers of one input). */
  inflated: number;
}

export function checkTime(b: Budget): void {
  if (Date.now() > b.deadline) throw new Quarantine(`time limit: took longer than ${b.limits.timeoutMs} ms`);
}

export interface FamilyResult {
  /** What was removed, one line each (empty: nothing active found). */
  readonly removed: string[];
  /** The sanitized bytes; undefined when nothing was removed (the input passes unchanged). */
  readonly output?: Buffer;
  /** New extension when the format changes (e.g. docm → docx), without the dot. */
  readonly extension?: string;
  /** A more precise type than the detector's (e.g. `ooxml/xlsm`). */
  readonly type?: string;
}
