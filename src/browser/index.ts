/**
 * `pyramidflow/browser`: PyramidFlow in a web page. Trains on good images, computes the template
 * and thresholds, predicts maps, scores, verdicts and regions, and reads and writes the `.pflow`
 * files the Node CLI reads and writes, on the same WebAssembly kernels and thread pool (Web
 * Workers over a shared memory when the page is cross-origin isolated, one thread otherwise).
 *
 * ```ts
 * import { createEngine } from 'pyramidflow/browser';
 * const engine = await createEngine();               // engine.note says if it runs on one thread
 * const model = await engine.train(files, { size: 256 }, { onProgress: (p) => console.log(p.step, p.loss) });
 * const result = await engine.predict(model, file);  // { map, score, verdict, regions, ... }
 * const bytes = await engine.modelBytes(model);      // a .pflow file: `pyramidflow predict --model` reads it
 * ```
 *
 * Serve the bundle's folder as it is (index.js, engine-worker.js, kernels-*.wasm), with COOP
 * `same-origin` and COEP `require-corp` for more than one thread. Nothing is fetched from elsewhere.
 * An application bundler that moves index.js away from the other files must serve
 * `node_modules/pyramidflow/dist/browser/` as static files and pass their URL as `baseUrl`.
 */
export { createEngine } from './engine.js';
export { decodeImageBytes, sniffImage, BROWSER_MAX_PIXELS, type BrowserDecoded, type SniffedFormat } from './decode.js';
export { heatmapRgb } from '../detect/pictures.js';
export { trainingPlan, BROWSER_TARGET_STEPS, type TrainingPlan } from './plan.js';
export { PyramidFlowError } from '../util/errors.js';
export type * from './types.js';
