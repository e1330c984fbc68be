/**
 * 全国地方公共団体コード (local government code, JIS X 0402) helpers.
 *
 * A code is 5 digits (prefecture 2 + municipality 3) followed by a check
 * digit computed modulo 11 with weights 6,5,4,3,2: the check digit is the
 * last digit of (11 - sum mod 11).
 */
export function lgCheckDigit(fiveDigits: string): number {
  if (!/^\d{5}$/.test(fiveDigits)) {
    throw new Error(`expected 5 digits, got "${fiveDigits}"`);
  }
  const weights = [6, 5, 4, 3, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(fiveDigits[i]), 0);
  return (11 - (sum % 11)) % 10;
}

/** Appends the check digit to a 5-digit code. */
export function withCheckDigit(fiveDigits: string): string {
  return `${fiveDigits}${lgCheckDigit(fiveDigits)}`;
}

/** Returns undefined when the code is valid, else the reason. */
export function lgCodeProblem(code: string): string | undefined {
  if (!/^\d{6}$/.test(code)) return 'must be exactly 6 digits (5-digit code plus check digit), e.g. "131016"';
  const prefecture = Number(code.slice(0, 2));
  if (prefecture < 1 || prefecture > 47) return `prefecture part "${code.slice(0, 2)}" must be 01-47`;
  const expected = lgCheckDigit(code.slice(0, 5));
  if (Number(code[5]) !== expected) {
    return `check digit is ${code[5]} but must be ${expected} for ${code.slice(0, 5)} (did you mean "${code.slice(0, 5)}${expected}"?)`;
  }
  return undefined;
}
