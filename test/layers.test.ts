/**
 * The layering rule of the README, checked on the import graph (scripts/import-graph.mjs):
 * each folder of src/ imports only from folders below it (`import type` and re-exports count),
 * nothing in src/ imports bench/ or test/, files import no cycle, and the computational core
 * (flow, detect, train, metrics) reaches no Node built-in or native package through static imports,
 * so that a browser build can reuse it unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relative } from 'node:path';
// @ts-expect-error: a plain .mjs script without types
import { importGraph } from '../scripts/import-graph.mjs';

interface Edge {
  from: string;
  to: string;
  specifier: string;
  dynamic: boolean;
  layerFrom: string;
  layerTo: string;
}
const { root, edges } = importGraph() as { root: string; edges: Edge[] };
const rel = (p: string): string => relative(root, p);

/** Lower numbers are lower layers; a folder imports only from layers with a lower number. */
export const LAYER_RANK: Record<string, number> = {
  util: 0,
  tensor: 1,
  data: 1,
  metrics: 1,
  flow: 2,
  detect: 3,
  train: 4,
  report: 5, // the HTML report of a test run: the library's test() writes it
  export: 5, // other runtimes' formats of a finished model (ONNX): builds on flow and detect
  import: 5, // other programs' checkpoints (the official PyTorch code's) into this network
  api: 6,
  browser: 6, // the browser's typed API (pyramidflow/browser): the same core as api, without Node
  cluster: 7, // BullMQ/Redis jobs: workers run the api's train and predict
  server: 8, // serve --redis hands predictions to the cluster
  cli: 9, // the command line starts the server and the workers
  index: 10, // the package entry (exports the server too)
};

test('every folder of src/ has a rank', () => {
  const layers = new Set(edges.flatMap((e) => [e.layerFrom]));
  for (const layer of layers) assert.ok(layer in LAYER_RANK, `src/${layer} has no rank in test/layers.test.ts: place it in the layer order`);
});

test('imports only run down the layers (import type included)', () => {
  const upward = edges.filter((e) => {
    if (e.layerTo.startsWith('package:')) return false;
    if (e.layerTo.startsWith('outside:')) return true;
    return e.layerFrom !== e.layerTo && !(LAYER_RANK[e.layerTo]! < LAYER_RANK[e.layerFrom]!);
  });
  assert.deepEqual(
    upward.map((e) => `${rel(e.from)} imports ${e.specifier} (${e.layerFrom} -> ${e.layerTo})`),
    [],
  );
});

test('no file takes part in an import cycle', () => {
  const next = new Map<string, string[]>();
  for (const e of edges) if (!e.layerTo.startsWith('package:') && !e.layerTo.startsWith('outside:')) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      cycles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const to of next.get(file) ?? []) visit(to, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of next.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

/** Node-side tools inside the core: the conformance replay reads the official vectors from disk. */
const NODE_TOOLS = ['src/train/conformance.ts'];

test('flow, detect, train and metrics reach no Node built-in or native package through static imports', () => {
  const staticNext = new Map<string, Edge[]>();
  for (const e of edges) staticNext.set(e.from, [...(staticNext.get(e.from) ?? []), e]);
  const forbidden = (spec: string): boolean => spec.startsWith('node:') || spec === 'sharp' || spec.startsWith('fastify') || spec.startsWith('@fastify/');
  const offenders: string[] = [];
  for (const start of staticNext.keys()) {
    if (!['flow', 'detect', 'train', 'metrics'].some((l) => rel(start).startsWith(`src/${l}/`)) || NODE_TOOLS.includes(rel(start))) continue;
    const seen = new Set<string>();
    const stack: [string, string[]][] = [[start, [start]]];
    while (stack.length) {
      const [file, path] = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const e of staticNext.get(file) ?? []) {
        if (e.dynamic) continue; // a host behind an interface (kernels/wasm/platform.ts) loads Node parts on demand
        if (e.layerTo.startsWith('package:')) {
          if (forbidden(e.specifier)) offenders.push(`${[...path, e.specifier].map((p) => (p.startsWith(root) ? rel(p) : p)).join(' -> ')}`);
        } else stack.push([e.to, [...path, e.to]]);
      }
    }
  }
  assert.deepEqual([...new Set(offenders)].slice(0, 10), []);
});
