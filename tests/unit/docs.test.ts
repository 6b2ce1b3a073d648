import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A clone holds everything a maintainer needs: a link in README.md or docs/*.md must lead to a
// file of this repository (and to a heading that exists, when it names one), never outside it.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The documents this test guards, as paths relative to the root. */
const documents = (): string[] => [
  'README.md',
  ...(existsSync(resolve(ROOT, 'docs')) ? readdirSync(resolve(ROOT, 'docs')) : [])
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

/** Each line with fenced code blocks blanked and code spans removed: links there are only text. */
const proseLines = (markdown: string): string[] => {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker?.startsWith(fence)) fence = undefined;
      return '';
    }
    if (marker) {
      fence = marker;
      return '';
    }
    return line.replace(/(`+)[^`]*?\1/g, '');
  });
};

interface Link {
  line: number;
  target: string;
}

/** Inline links and images, reference definitions and HTML href/src, with the line they are on. */
const linksIn = (markdown: string): Link[] =>
  proseLines(markdown).flatMap((text, index) => {
    const found = [
      ...[...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+["'(][^)]*)?\)/g)].map((m) => m[1]),
      ...[...text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/g)].map((m) => m[1]),
      ...[...text.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]),
    ];
    return found.flatMap((target) => (target ? [{ line: index + 1, target }] : []));
  });

/** GitHub's anchors for a document's headings: lower case, punctuation dropped, spaces as hyphens. */
const anchorsOf = (markdown: string): Set<string> => {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(markdown.replace(/`/g, ''))) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
};

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * What is wrong with the links of `file` (relative to `root`), one line each as `file:line: ...`.
 * Web links are not fetched; `file:` links and paths that climb out of the root are refused.
 */
const linkProblems = (file: string, markdown: string, root = ROOT): string[] => {
  const problems: string[] = [];
  const here = resolve(root, file);
  for (const { line, target } of linksIn(markdown)) {
    const at = `${file}:${line}: ${target}`;
    if (target.startsWith('//') || (SCHEME.test(target) && !/^file:/i.test(target))) continue;
    if (SCHEME.test(target)) {
      problems.push(`${at} points outside the repository`);
      continue;
    }
    const [pathPart = '', anchor] = target.split('#', 2);
    let path: string;
    try {
      path = decodeURIComponent(pathPart.split('?')[0] ?? '');
    } catch {
      problems.push(`${at} is not a valid link`);
      continue;
    }
    // GitHub resolves a leading slash from the repository's root.
    const resolved =
      path === '' ? here : resolve(path.startsWith('/') ? root : dirname(here), path.replace(/^\/+/, ''));
    const inside = relative(root, resolved);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      problems.push(`${at} points outside the repository`);
      continue;
    }
    if (!existsSync(resolved)) {
      problems.push(`${at} points to ${inside}, which does not exist`);
      continue;
    }
    if (anchor && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
      problems.push(`${at} names a heading ${inside} does not have`);
    }
  }
  return problems;
};

describe('the documentation links', () => {
  it('refuses a link to a design document outside the repository', () => {
    expect(linkProblems('README.md', 'See [the design](../shared/DESIGN.md).')).toEqual([
      'README.md:1: ../shared/DESIGN.md points outside the repository',
    ]);
  });

  it('refuses links that climb out of docs/, file URLs and root-relative paths that do not exist', () => {
    const text = [
      '[up](../../shared/DESIGN.md)',
      '[file](file:///work/shared/DESIGN.md)',
      '[root](/work/shared/DESIGN.md)',
    ].join('\n');
    expect(linkProblems('docs/architecture.md', text)).toEqual([
      'docs/architecture.md:1: ../../shared/DESIGN.md points outside the repository',
      'docs/architecture.md:2: file:///work/shared/DESIGN.md points outside the repository',
      'docs/architecture.md:3: /work/shared/DESIGN.md points to work/shared/DESIGN.md, which does not exist',
    ]);
  });

  it('refuses a link to a file that does not exist, and to a heading that does not', () => {
    const text = '[gone](docs/no-such-file.md)\n\n[gone heading](README.md#no-such-heading)';
    expect(linkProblems('README.md', text)).toEqual([
      'README.md:1: docs/no-such-file.md points to docs/no-such-file.md, which does not exist',
      'README.md:3: README.md#no-such-heading names a heading README.md does not have',
    ]);
  });

  it('reads reference definitions, images and HTML links as links too', () => {
    const text = '![figure](missing.png)\n[ref]: ./missing.md\n<a href="missing.html">x</a>';
    expect(linkProblems('README.md', text)).toHaveLength(3);
  });

  it('accepts web links, existing files and headings, and ignores links shown as code', () => {
    const text = [
      '[web](https://github.com/) [mail](mailto:a@example.com) [schema](schemas/flow.schema.json)',
      '[here](#two-commands) [folder](workflows/flows/) [root](/package.json)',
      'Code: `[x](../shared/DESIGN.md)`',
      '```md',
      '[x](../shared/DESIGN.md)',
      '```',
    ].join('\n');
    expect(linkProblems('README.md', `# Two commands\n${text}`)).toEqual([]);
  });

  it('makes GitHub anchors of headings with code, punctuation and repeats', () => {
    expect([...anchorsOf('# The loyalty program (`workflows/program.yaml`)\n## Tests\n## Tests')]).toEqual([
      'the-loyalty-program-workflowsprogramyaml',
      'tests',
      'tests-1',
    ]);
  });

  for (const file of documents()) {
    it(`finds every relative link of ${file} inside the repository`, () => {
      expect(linkProblems(file, readFileSync(resolve(ROOT, file), 'utf8'))).toEqual([]);
    });
  }

  it('keeps the architecture, the data model and the decision log in docs/, linked from the README', () => {
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8');
    const linked = new Set(linksIn(readme).map((link) => link.target.split('#')[0]));
    const docs = documents().filter((file) => file.startsWith('docs/'));
    expect(docs).toEqual(
      expect.arrayContaining(['docs/architecture.md', 'docs/data-model.md', 'docs/decisions.md']),
    );
    expect(docs.filter((file) => !linked.has(file))).toEqual([]);
  });

  it('cites no document a clone does not have', () => {
    for (const file of documents()) {
      const text = readFileSync(resolve(ROOT, file), 'utf8');
      expect({ file, cites: text.match(/\.\.\/shared|DESIGN\.md/g) ?? [] }).toEqual({ file, cites: [] });
    }
  });
});
