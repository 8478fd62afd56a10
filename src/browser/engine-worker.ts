/**
 * The engine worker's entry (bundled as engine-worker.js): answers the page's requests
 * (protocol.ts) with an EngineSession. Requests run one after another, in order: the kernels
 * are synchronous and one pool serves one call at a time. A stop request is handled at once,
 * between training steps (the training loop yields to this worker's event loop every step).
 */
import type { EngineCall, EngineReply } from './protocol.js';
import { EngineSession } from './session.js';
import type { BrowserTrainProgress } from './types.js';

/** What this file needs of a dedicated worker's global scope (the DOM library has no such type). */
interface WorkerScope {
  postMessage(message: EngineReply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<EngineCall>) => void) | null;
  addEventListener(type: 'unhandledrejection', listener: (e: PromiseRejectionEvent) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const session = new EngineSession();
const stopped = new Set<number>();
let queue: Promise<void> = Promise.resolve();

/** A thrown value as the one-line message and code that cross to the page. */
function errorReply(id: number, e: unknown): EngineReply {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = (err as { code?: unknown }).code;
  return { id, kind: 'error', message: err.message.split('\n')[0]!, code: typeof code === 'string' ? code : 'E_ENGINE' };
}

/** Arrays in a result that can move instead of being copied (maps, pixels, model bytes). */
function transferables(result: unknown): Transferable[] {
  if (result instanceof Uint8Array) return [result.buffer as ArrayBuffer];
  if (result && typeof result === 'object') {
    const r = result as { map?: unknown; rgb?: unknown };
    if (r.map instanceof Float32Array) return [r.map.buffer as ArrayBuffer];
    if (r.rgb instanceof Uint8Array) return [r.rgb.buffer as ArrayBuffer];
  }
  return [];
}

async function handle(call: EngineCall): Promise<unknown> {
  const control = {
    onProgress: (progress: BrowserTrainProgress) => scope.postMessage({ id: call.id, kind: 'progress', progress }),
    stopped: () => stopped.has(call.id),
  };
  switch (call.op) {
    case 'init':
      return session.init(call);
    case 'decode':
      return session.info(call.image);
    case 'pixels':
      return session.pixels(call.image, call.size);
    case 'train':
      return session.train(call, control);
    case 'continue':
      return session.continueTraining(call, control);
    case 'load':
      return session.load(call.bytes, call.name);
    case 'bytes':
      return session.bytes(call.model);
    case 'predict':
      return session.predict(call);
    case 'thresholds':
      return session.setThresholds(call.model, call.image, call.pixel);
    case 'release':
      return session.release(call.model);
    case 'stop':
      return undefined;
  }
}

scope.onmessage = (e) => {
  const call = e.data;
  if (call.op === 'stop') {
    stopped.add(call.call);
    return;
  }
  queue = queue.then(async () => {
    try {
      const result = await handle(call);
      // A result that cannot be cloned is a bug here, not the page's: it still answers the call.
      try {
        scope.postMessage({ id: call.id, kind: 'result', result }, transferables(result));
      } catch (e) {
        scope.postMessage(errorReply(call.id, e));
      }
    } catch (e) {
      scope.postMessage(errorReply(call.id, e));
    } finally {
      stopped.delete(call.id);
    }
  });
};

scope.addEventListener('unhandledrejection', (e) => {
  const reply = errorReply(-1, e.reason);
  scope.postMessage({ ...reply, id: -1, kind: 'fatal' } as EngineReply);
});
