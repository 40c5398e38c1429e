import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';

/**
 * BENCHMARKS.md is written by three benchmarks (`npm run bench` for the collector, `npm run
 * bench:overload` for its admission control, `npm run bench:panel` for the panel and the app). Each owns one
 * section between HTML comment markers and rewrites only that. The `large-org` section holds the series
 * figures `test/large-org.test.ts` prints (its workload is seeded: they are the same on every run).
 */
const ORDER = ['collector', 'overload', 'panel', 'large-org'] as const;
export type BenchmarkSection = (typeof ORDER)[number];

const marker = (name: string, end: boolean): string => `<!-- ${end ? '/' : ''}bench:${name} -->`;

function readSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  for (const name of ORDER) {
    const start = text.indexOf(marker(name, false));
    const stop = text.indexOf(marker(name, true));
    if (start !== -1 && stop > start) {
      sections.set(name, text.slice(start + marker(name, false).length, stop).trim());
    }
  }
  // A file from before the sections existed is all collector.
  if (sections.size === 0 && text.trim() !== '') {
    sections.set('collector', text.trim());
  }
  return sections;
}

/** Rewrites section `name` of `file`, formatted as the repository's Prettier settings (`npm run lint`) want it. */
export async function writeBenchmarkSection(file: string, name: BenchmarkSection, markdown: string): Promise<void> {
  const sections = readSections(existsSync(file) ? readFileSync(file, 'utf8') : '');
  sections.set(name, markdown.trim());
  const parts = ORDER.flatMap((n) => {
    const body = sections.get(n);
    return body === undefined ? [] : [`${marker(n, false)}\n${body}\n${marker(n, true)}\n`];
  });
  const options = (await resolveConfig(file)) ?? {};
  writeFileSync(file, await format(parts.join('\n'), { ...options, filepath: file }));
}
