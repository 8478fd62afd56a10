/**
 * The messages between the page's proxy (engine.ts) and the engine worker (engine-worker.ts).
 * A call is one request with a number; the worker answers it once (a result or an error) and
 * may send progress for it before. Errors cross as their one-line message and code.
 */
import type { BrowserModel, BrowserPredictOptions, BrowserTrainOptions, BrowserTrainProgress, SimdKind } from './types.js';

/** An image as it crosses: a Blob (cheap to pass) or bytes, with its name. */
export interface WireImage {
  /** Named in errors and results. */
  name: string;
  /** The encoded image. */
  data: Blob | Uint8Array;
}

/** What the worker is asked to do, by operation. */
export type EngineRequest =
  | { op: 'init'; threads?: number; baseUrl: string; relaxedSimd: boolean }
  | { op: 'decode'; image: WireImage }
  | { op: 'pixels'; image: WireImage; size?: { width: number; height: number } }
  | { op: 'train'; images: WireImage[]; options: BrowserTrainOptions }
  | { op: 'continue'; model: number; images: WireImage[] }
  | { op: 'load'; bytes: Uint8Array | Blob; name: string }
  | { op: 'bytes'; model: number }
  | { op: 'predict'; model: number; image: WireImage; options: BrowserPredictOptions }
  | { op: 'thresholds'; model: number; image?: number; pixel?: number }
  | { op: 'release'; model: number }
  /** Stop the training of call `call` after its current step (no answer of its own). */
  | { op: 'stop'; call: number };

/** A request with its call number. */
export type EngineCall = EngineRequest & { id: number };

/** What init answers. */
export interface EngineReady {
  /** Kernel threads, the engine worker included. */
  threads: number;
  /** Whether the worker is cross-origin isolated. */
  isolated: boolean;
  /** The kernel build. */
  simd: SimdKind;
  /** The backend's name. */
  backend: string;
  /** A remark for the user, if any. */
  note?: string;
}

/** A model handle as it crosses (BrowserModel without methods). */
export type WireModel = BrowserModel;

/** The worker's messages. */
export type EngineReply =
  | { id: number; kind: 'result'; result: unknown }
  | { id: number; kind: 'error'; message: string; code: string }
  | { id: number; kind: 'progress'; progress: BrowserTrainProgress }
  /** The worker failed outside any call (id -1): every pending call fails with it. */
  | { id: -1; kind: 'fatal'; message: string; code: string };
