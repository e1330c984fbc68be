import { describe, expect, test } from '@jest/globals';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The README and docs link only inside the repository, every link resolves, and every page exists in both languages. */
const ROOT = path.resolve(__dirname, '..');
const pages = ['README.md', ...fs.readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function links(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]);
}

describe('documentation', () => {
  test('every relative link in README.md and docs/ resolves to a file in the repository', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const link of links(page)) {
        if (/^(https?:|mailto:)/.test(link) || link.startsWith('#')) continue;
        const target = path.resolve(ROOT, path.dirname(page), decodeURIComponent(link.split('#')[0]));
        if (!target.startsWith(`${ROOT}${path.sep}`) || !fs.existsSync(target)) broken.push(`${page} → ${link}`);
      }
    }
    expect(broken).toEqual([]);
  });

  test('no page points outside the repository (a shared folder beside it, absolute paths)', () => {
    const outside = pages.filter((p) => /\.\.\/shared|\/work\/|\]\(\/(?!\/)/.test(fs.readFileSync(path.join(ROOT, p), 'utf8')));
    expect(outside).toEqual([]);
  });

  test('every page under docs/ exists in English and Japanese', () => {
    const names = pages.filter((p) => p.startsWith('docs/')).map((p) => path.basename(p));
    const stems = new Set(names.map((n) => n.replace(/\.(en|ja)\.md$/, '')));
    expect(names.filter((n) => !/\.(en|ja)\.md$/.test(n))).toEqual([]);
    for (const s of stems) expect([s, names.includes(`${s}.en.md`), names.includes(`${s}.ja.md`)]).toEqual([s, true, true]);
    expect(stems.size).toBeGreaterThanOrEqual(6);
  });

  test('the README gives exactly the two set-up commands, and CI runs its test command', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm ci && npx cdk synth');
    expect(readme).toContain('npm test');
    expect(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
