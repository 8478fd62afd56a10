#!/usr/bin/env node
// The import graph of src/ by folder (layer), `import type` and re-exports included.
// Usage: node scripts/import-graph.mjs [--json]   (the layering test uses importGraph()).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// Every module specifier of a file: static imports and re-exports (also `import type`), and dynamic import('...').
const SPECIFIER = /(?:^|[\s;}])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

/** The layer of a file under src/: its first folder ('index' for src/index.ts). */
export function layerOf(file) {
  const parts = relative(join(ROOT, 'src'), file).split(sep);
  return parts.length === 1 ? 'index' : parts[0];
}

/** Edges { from, to, specifier, layerFrom, layerTo, dynamic } of src/; `to` is a path for relative imports, else the package name. */
export function importGraph() {
  const files = walk(join(ROOT, 'src'));
  const edges = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const dynamic = m[3] !== undefined;
      if (spec.startsWith('.')) {
        const to = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
        const inSrc = !relative(join(ROOT, 'src'), to).startsWith('..');
        edges.push({
          from: file,
          to,
          specifier: spec,
          dynamic,
          layerFrom: layerOf(file),
          layerTo: inSrc ? layerOf(to) : `outside:${relative(ROOT, to).split(sep)[0]}`,
        });
      } else {
        edges.push({ from: file, to: spec, specifier: spec, dynamic, layerFrom: layerOf(file), layerTo: `package:${spec}` });
      }
    }
  }
  return { root: ROOT, files, edges };
}

/** Counts of edges between layers, 'a -> b' keyed, packages grouped as 'node:*' or their name. */
export function layerCounts(edges) {
  const counts = {};
  for (const e of edges) {
    let to = e.layerTo;
    if (to.startsWith('package:node:')) to = 'node:*';
    else if (to.startsWith('package:'))
      to = to
        .slice('package:'.length)
        .split('/')
        .slice(0, to.includes('@') ? 2 : 1)
        .join('/');
    if (to === e.layerFrom) continue;
    const key = `${e.layerFrom} -> ${to}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files, edges } = importGraph();
  const counts = layerCounts(edges);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ files: files.length, edges: edges.length, counts }, null, 2));
  else {
    console.log(`${files.length} files, ${edges.length} imports`);
    for (const [k, v] of Object.entries(counts).sort()) console.log(`${String(v).padStart(4)}  ${k}`);
  }
}
