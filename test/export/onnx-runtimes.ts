/**
 * The two ONNX Runtimes the export is checked in, behind one small interface: onnxruntime-node
 * (the native CPU library) and onnxruntime-web (WebAssembly, one thread, its wasm files from
 * node_modules), and the batch of images as the graph's inputs.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { DecodedImage } from '../../src/data/pixels.js';
import { normalizeImage } from '../../src/data/pixels.js';

export type RuntimeName = 'ort-node' | 'ort-web';

export interface Feed {
  type: 'uint8' | 'float32';
  data: Uint8Array | Float32Array;
  dims: number[];
}

export interface Session {
  run(feed: Feed): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>;
}

type OrtModule = typeof import('onnxruntime-node');

async function ortModule(name: RuntimeName): Promise<OrtModule> {
  if (name === 'ort-node') return await import('onnxruntime-node');
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads: number; wasmPaths: string } } };
  ort.env.wasm.numThreads = 1;
  const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  ort.env.wasm.wasmPaths = `${pathToFileURL(join(dist, '.')).href}/`;
  return ort;
}

export async function openSession(name: RuntimeName, bytes: Uint8Array, threads = 1): Promise<Session> {
  const ort = await ortModule(name);
  const session = await ort.InferenceSession.create(bytes, name === 'ort-node' ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {});
  return {
    async run(feed) {
      const input = new ort.Tensor(feed.type, feed.data, feed.dims);
      const out = await session.run({ [session.inputNames[0]!]: input });
      return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]));
    },
  };
}

/** Images (at the model size) as the graph's input: uint8 RGB NHWC, or normalised float32 NCHW. */
export function feedOf(images: readonly DecodedImage[], layout: 'uint8-nhwc' | 'float-nchw'): Feed {
  const { width: W, height: H } = images[0]!;
  const n = H * W;
  if (layout === 'float-nchw') {
    const data = new Float32Array(images.length * 3 * n);
    images.forEach((img, i) => data.set(normalizeImage(img), i * 3 * n));
    return { type: 'float32', data, dims: [images.length, 3, H, W] };
  }
  const data = new Uint8Array(images.length * 3 * n);
  images.forEach((img, i) => {
    for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) data[i * 3 * n + p * 3 + c] = img.rgb[c * n + p]!;
  });
  return { type: 'uint8', data, dims: [images.length, H, W, 3] };
}
