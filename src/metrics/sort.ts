/**
 * Sorting of float32 scores without comparisons: a score's bit pattern becomes a uint32 key whose
 * unsigned order is the numeric order; keys are scattered into 2^16 buckets by their top 16 bits
 * (one pass straight from the maps, so no second full-size buffer), then each bucket is radix
 * sorted on its low 16 bits. Native TypedArray sort runs at ~90 ns per element here, far too slow
 * for 10^8 pixels.
 */

/** Number of buckets: one per value of a key's top 16 bits. */
export const BUCKET_COUNT = 1 << 16;
/** Buckets up to this size are insertion sorted; radix passes cost more on tiny inputs. */
const INSERTION_LIMIT = 32;

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/**
 * Order-preserving key of a float32 bit pattern. -0 maps to the key of +0 so that they tie, as
 * they compare equal; NaN must be rejected by the caller.
 */
export function bitsToKey(bits: number): number {
  if (bits === 0x80000000) return 0x80000000;
  return bits >= 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** The float32 value of a key (the inverse of {@link float32ToKey}; -0 comes back as +0). */
export function keyToFloat32(key: number): number {
  scratchBits[0] = key >= 0x80000000 ? key & 0x7fffffff : ~key;
  return scratchFloat[0]!;
}

/** The order-preserving key of a number rounded to float32 (see {@link bitsToKey}). */
export function float32ToKey(value: number): number {
  scratchFloat[0] = value;
  return bitsToKey(scratchBits[0]!);
}

const POSITIVE_INFINITY_KEY = 0xff800000;
const NEGATIVE_INFINITY_KEY = 0x007fffff;

/** NaN (exponent all ones, nonzero mantissa) has a key above +Infinity's or below -Infinity's. */
export function isNanKey(key: number): boolean {
  return key > POSITIVE_INFINITY_KEY || key < NEGATIVE_INFINITY_KEY;
}

/** Bucket start offsets from bucket sizes: bucket b is starts[b]..starts[b + 1]. */
export function bucketStarts(counts: Int32Array): Int32Array {
  const starts = new Int32Array(BUCKET_COUNT + 1);
  let total = 0;
  for (let b = 0; b < BUCKET_COUNT; b++) {
    starts[b] = total;
    total += counts[b]!;
  }
  starts[BUCKET_COUNT] = total;
  return starts;
}

/** Temporary buffers for the radix passes, grown on demand (a bucket of equal keys needs none). */
class Scratch {
  keys = new Uint32Array(0);
  payload = new Uint32Array(0);
  lowCounts = new Int32Array(256);
  highCounts = new Int32Array(256);

  ensure(size: number, withPayload: boolean): void {
    if (this.keys.length < size) this.keys = new Uint32Array(Math.max(size, 2 * this.keys.length));
    if (withPayload && this.payload.length < size) this.payload = new Uint32Array(this.keys.length);
  }
}

/**
 * Sorts every bucket of `keys` (keys of bucket b all have top 16 bits b) ascending, moving
 * `payload` (if given) along with its key. Within a bucket, equal keys keep no particular order.
 */
export function sortBuckets(keys: Uint32Array, starts: Int32Array, payload: Uint32Array | null): void {
  const scratch = new Scratch();
  for (let b = 0; b < BUCKET_COUNT; b++) {
    const begin = starts[b]!;
    const end = starts[b + 1]!;
    const size = end - begin;
    if (size < 2) continue;
    if (size <= INSERTION_LIMIT) insertionSort(keys, payload, begin, end);
    else radixSortLow16(keys, payload, begin, end, scratch);
  }
}

function insertionSort(keys: Uint32Array, payload: Uint32Array | null, begin: number, end: number): void {
  for (let i = begin + 1; i < end; i++) {
    const key = keys[i]!;
    const value = payload ? payload[i]! : 0;
    let j = i - 1;
    while (j >= begin && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      if (payload) payload[j + 1] = payload[j]!;
      j--;
    }
    keys[j + 1] = key;
    if (payload) payload[j + 1] = value;
  }
}

/** LSD radix sort on bits 0-7 then 8-15, skipping a pass whose byte is the same everywhere. */
function radixSortLow16(keys: Uint32Array, payload: Uint32Array | null, begin: number, end: number, scratch: Scratch): void {
  const { lowCounts, highCounts } = scratch;
  lowCounts.fill(0);
  highCounts.fill(0);
  for (let i = begin; i < end; i++) {
    const key = keys[i]!;
    lowCounts[key & 0xff]!++;
    highCounts[(key >>> 8) & 0xff]!++;
  }
  const size = end - begin;
  const first = keys[begin]!;
  const sortLow = lowCounts[first & 0xff] !== size;
  const sortHigh = highCounts[(first >>> 8) & 0xff] !== size;
  if (!sortLow && !sortHigh) return; // all keys equal
  scratch.ensure(size, payload !== null);
  const tempKeys = scratch.keys;
  const tempPayload = payload ? scratch.payload : null;
  if (sortLow && sortHigh) {
    scatter(keys, payload, begin, end, tempKeys, tempPayload, 0, lowCounts, 0);
    scatter(tempKeys, tempPayload, 0, size, keys, payload, begin, highCounts, 8);
    return;
  }
  scatter(keys, payload, begin, end, tempKeys, tempPayload, 0, sortLow ? lowCounts : highCounts, sortLow ? 0 : 8);
  keys.set(tempKeys.subarray(0, size), begin);
  if (payload && tempPayload) payload.set(tempPayload.subarray(0, size), begin);
}

/** Stable counting-sort pass of from[begin, end) into to[at, ...) by the byte at `shift`. */
function scatter(
  fromKeys: Uint32Array,
  fromPayload: Uint32Array | null,
  begin: number,
  end: number,
  toKeys: Uint32Array,
  toPayload: Uint32Array | null,
  at: number,
  counts: Int32Array,
  shift: number,
): void {
  let offset = at;
  for (let d = 0; d < 256; d++) {
    const c = counts[d]!;
    counts[d] = offset;
    offset += c;
  }
  if (fromPayload && toPayload) {
    for (let i = begin; i < end; i++) {
      const key = fromKeys[i]!;
      const slot = counts[(key >>> shift) & 0xff]!++;
      toKeys[slot] = key;
      toPayload[slot] = fromPayload[i]!;
    }
  } else {
    for (let i = begin; i < end; i++) {
      const key = fromKeys[i]!;
      toKeys[counts[(key >>> shift) & 0xff]!++] = key;
    }
  }
}
