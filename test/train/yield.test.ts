import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelYield, makeYield, yieldToEventLoop } from '../../src/train/yield.js';

test('the yield between steps: setImmediate on Node, a MessageChannel where there is none, setTimeout last', async () => {
  // Node: setImmediate, so timers and I/O callbacks get their turn.
  let immediate = false;
  const calls: string[] = [];
  const host = {
    setImmediate: (cb: () => void) => {
      calls.push('immediate');
      return setImmediate(cb);
    },
  };
  await makeYield(host)();
  assert.deepEqual(calls, ['immediate']);
  setImmediate(() => (immediate = true));
  await yieldToEventLoop();
  assert.equal(immediate, true);

  // A browser: no setImmediate; a MessageChannel message, in order, no 1-4 ms timer clamp.
  const channel = channelYield(MessageChannel);
  try {
    const order: number[] = [];
    await Promise.all([0, 1, 2].map((i) => channel.next().then(() => order.push(i))));
    assert.deepEqual(order, [0, 1, 2]);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) await channel.next();
    assert.ok(performance.now() - t0 < 200, `200 yields took ${performance.now() - t0} ms`);
  } finally {
    channel.close();
  }
  // Neither: setTimeout.
  const timeouts: number[] = [];
  await makeYield({
    setTimeout: (cb, ms) => {
      timeouts.push(ms);
      return setTimeout(cb, ms);
    },
  })();
  assert.deepEqual(timeouts, [0]);
});
