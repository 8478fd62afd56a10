/** Types of scripts/build-app.mjs, for the tests and scripts that build the page themselves. */

/** The manifest's name inside a built site (src/server/app-route.ts's SITE_MANIFEST). */
export declare const SITE_MANIFEST: string;
/** Where the browser entry goes inside the site, relative to index.html. */
export declare const LIB_DIR: string;

/** What one build wrote. */
export interface AppBuild {
  /** The site's folder (absolute). */
  outDir: string;
  /** Its files, relative with forward slashes, as the manifest lists them. */
  files: string[];
}

/** Builds the page (app/) and the browser entry into `outDir` (default dist/app; an earlier build there is replaced). */
export declare function buildApp(options?: { outDir?: string; minify?: boolean }): Promise<AppBuild>;
