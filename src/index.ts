/**
 * pyramidflow's library entry: the typed API (one function per CLI command) and its types.
 * `import { train, test, predict, loadDetector } from 'pyramidflow'`.
 */
export * from './api/index.js';
