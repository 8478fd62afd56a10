/** Types of scripts/build-browser.mjs, for the tests that bundle the browser entry themselves. */
import type { Metafile, Plugin } from 'esbuild';

/** Files that may import a Node module lazily, on a path a browser never takes. */
export declare const LAZY_NODE_IMPORTS: string[];
/** Modules for Node only, imported lazily: left out of the bundle. */
export declare const NODE_ONLY_MODULES: string[];
/** The kernel builds copied next to the bundle. */
export declare const WASM_FILES: string[];

/** The esbuild plugin that refuses Node modules (the lazy exceptions become throwing stubs). */
export declare const refuseNodeModules: Plugin;

/** What one bundling wrote. */
export interface BrowserBuild {
  /** The folder written (absolute). */
  outDir: string;
  /** Every file written, absolute paths. */
  files: string[];
  /** esbuild's metafile: every input and output of the bundle. */
  metafile: Metafile;
  /** The lazy Node imports replaced by a module that throws ('node-stub:fs', ...). */
  stubbed: string[];
}

/** Bundles src/browser/ into `outDir` (default dist/browser) and copies the kernels next to it. */
export declare function buildBrowser(options?: { outDir?: string; minify?: boolean }): Promise<BrowserBuild>;
