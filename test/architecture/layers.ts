// The layering rule of the package (kernels <- engine <- nn <- ullava: each layer imports only from
// itself and the layers below it; bench/ and test/ sit above everything), checked on the source text.

/** The layers from the bottom up; bench and test may import anything and nothing may import them. */
export const LAYERS = ['kernels', 'engine', 'nn', 'ullava', 'bench', 'test'] as const;

export interface ImportSite { line: number; specifier: string }

export interface Violation { file: string; line: number; specifier: string; from: string; to: string }

/**
 * Every module specifier a TypeScript source imports or re-exports: `import ... from`, `export ... from`,
 * side-effect `import '...'` and dynamic `import('...')`, with the 1-based line where the specifier
 * stands. Comments are blanked first (keeping the line structure), so prose that quotes an import does not count.
 */
export function importSites(source: string): ImportSite[] {
  const text = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/^(\s*)\/\/.*$/gm, '$1');
  const patterns = [
    /\b(?:import|export)\s[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*(['"])([^'"\n]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g,
  ];
  const sites: ImportSite[] = [];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const at = m.index! + m[0].lastIndexOf(m[2]);
      sites.push({ line: text.slice(0, at).split('\n').length, specifier: m[2] });
    }
  }
  return sites.sort((a, b) => a.line - b.line);
}

/** The layer of a path relative to the package root ('engine/ops/x.ts' -> 'engine'), or null outside them. */
export function layerOf(path: string): string | null {
  const top = path.split('/')[0];
  return (LAYERS as readonly string[]).includes(top) ? top : null;
}

/** Joins a relative specifier to the importing file's folder (POSIX paths relative to the package root). */
export function resolveRelative(file: string, specifier: string): string {
  const parts = file.split('/').slice(0, -1);
  for (const seg of specifier.split('/')) {
    if (seg === '..') parts.pop();
    else if (seg !== '.' && seg !== '') parts.push(seg);
  }
  return parts.join('/');
}

/** The upward imports of one source file (`file` relative to the package root). */
export function upwardImports(file: string, source: string): Violation[] {
  const from = layerOf(file);
  if (!from) return [];
  const out: Violation[] = [];
  for (const s of importSites(source)) {
    if (!s.specifier.startsWith('.')) continue; // packages and node: builtins
    const to = layerOf(resolveRelative(file, s.specifier));
    if (to && LAYERS.indexOf(to as typeof LAYERS[number]) > LAYERS.indexOf(from as typeof LAYERS[number])) {
      out.push({ file, line: s.line, specifier: s.specifier, from, to });
    }
  }
  return out;
}
