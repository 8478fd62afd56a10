/**
 * One turn of the event loop between training steps, so that signals, timers and progress
 * output run: setImmediate on Node (no delay), a MessageChannel message in a browser (a task
 * as well, without the 1-4 ms clamp of setTimeout(0) that nested timers get), setTimeout only
 * where neither exists.
 */

/** What a host may offer to yield with (globalThis on Node and in browsers). */
export interface YieldHost {
  /** Node's (and Bun's, Deno's): the next turn, no delay. */
  setImmediate?: (cb: () => void) => unknown;
  /** Browsers' and workers': a message is a task of its own. */
  MessageChannel?: new () => MessageChannel;
  /** The last resort (1-4 ms clamped in browsers when nested). */
  setTimeout?: (cb: () => void, ms: number) => unknown;
}

/** A yield made from a MessageChannel: resolves in order; close() releases the channel. */
export function channelYield(MC: new () => MessageChannel): { next(): Promise<void>; close(): void } {
  const channel = new MC();
  const waiting: (() => void)[] = [];
  channel.port1.onmessage = () => waiting.shift()?.();
  return {
    next: () =>
      new Promise<void>((resolve) => {
        waiting.push(resolve);
        channel.port2.postMessage(0);
      }),
    close: () => {
      channel.port1.close();
      channel.port2.close();
    },
  };
}

/** The best yield a host offers (tests pass a host without setImmediate). */
export function makeYield(host: YieldHost): () => Promise<void> {
  const immediate = host.setImmediate;
  if (typeof immediate === 'function') return () => new Promise<void>((resolve) => immediate(resolve));
  const MC = host.MessageChannel;
  if (typeof MC === 'function') {
    let channel: ReturnType<typeof channelYield> | undefined;
    return () => (channel ??= channelYield(MC)).next();
  }
  const timeout = host.setTimeout ?? globalThis.setTimeout;
  return () => new Promise<void>((resolve) => timeout(resolve, 0));
}

/** Yields to the event loop of whatever runs this (Node or a browser). */
export const yieldToEventLoop: () => Promise<void> = makeYield(globalThis as YieldHost);
