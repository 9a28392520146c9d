// Reading the documentation for the documentation tests: README.md and the pages under docs/,
// sections by heading, Markdown tables, headings' GitHub anchors, inline code spans and links
// outside fenced blocks.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

/** A documentation file's text, by its path from the repository root (`README.md`, `docs/caching.md`). */
export const doc = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');
export const readme = (): string => doc('README.md');

/** README.md and every Markdown page under docs/, as paths from the repository root. */
export function docFiles(): string[] {
  const dir = path.join(ROOT, 'docs');
  const pages = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`) : [];
  return ['README.md', ...pages];
}

/** Every documentation file's text joined, for checks that only ask whether something is mentioned anywhere. */
export const allDocs = (): string => docFiles().map(doc).join('\n');

/** The text under `heading` (e.g. "## Configuration") up to the next heading of the same or a higher level. */
export function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no "${heading}" heading`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => {
    const m = /^(#+)\s/.exec(l);
    return m !== null && m[1]!.length <= level;
  });
  return (end < 0 ? rest : rest.slice(0, end)).join('\n');
}

/** The first Markdown table in `text`: one array of cells per body row (header and rule skipped). */
export function firstTable(text: string): string[][] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim().startsWith('|'));
  if (start < 0) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.trim().startsWith('|')) break;
    // Cells split on "|" except "\|" (a pipe inside a cell).
    rows.push(line.trim().slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
  }
  return rows;
}

/** The Markdown without fenced code blocks (``` ... ```), so examples do not count as prose. */
export const withoutFences = (markdown: string): string => markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');

/** Every inline code span's content (`...`), outside fenced blocks. */
export const codeSpans = (markdown: string): string[] => [...withoutFences(markdown).matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** Relative Markdown link targets outside fenced blocks (`[text](target)`, `![alt](target)`), URLs with a scheme left out. */
export const relativeLinks = (markdown: string): string[] =>
  [...withoutFences(markdown).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href));

/** GitHub's anchor for a heading: lower case, punctuation other than "-" and "_" dropped, spaces to "-". */
export const anchorOf = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

/** Anchors of every heading (duplicates get -1, -2 ... as on GitHub). */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const base = anchorOf(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}
