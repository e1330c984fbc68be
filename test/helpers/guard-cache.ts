/** Runs `f` with the Guard verdict cache off (THREE_TIER_GUARD_CACHE=off), so the rules really evaluate; restores the setting. */
export function withoutGuardCache<T>(f: () => T): T {
  const before = process.env.THREE_TIER_GUARD_CACHE;
  process.env.THREE_TIER_GUARD_CACHE = 'off';
  try {
    return f();
  } finally {
    if (before === undefined) delete process.env.THREE_TIER_GUARD_CACHE;
    else process.env.THREE_TIER_GUARD_CACHE = before;
  }
}
