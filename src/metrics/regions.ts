/**
 * Connected-components labelling of binary masks (two passes with union-find), used for the
 * ground-truth regions of AUPRO and, by the detection module, for predicted defect regions.
 */

export interface RegionLabels {
  /** Per pixel, row-major: 0 = background, 1..count = region. */
  labels: Int32Array;
  /** Number of regions. */
  count: number;
  /** areas[k - 1] is the number of pixels of region k (length `count`). */
  areas: number[];
}

/**
 * Labels the nonzero pixels of `mask` (row-major, width x height) into connected regions.
 * Connectivity 8 (the MVTec AD evaluation's 3x3 structuring element, skimage's default) joins
 * diagonal neighbours; 4 does not. Regions are numbered in raster order of their first pixel,
 * as scipy.ndimage.label numbers them.
 */
export function labelRegions(mask: ArrayLike<number>, width: number, height: number, connectivity: 4 | 8 = 8): RegionLabels {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`labelRegions: bad size ${width}x${height}`);
  }
  if (mask.length !== width * height) {
    throw new RangeError(`labelRegions: mask has ${mask.length} pixels, expected ${width}x${height}`);
  }
  if (connectivity !== 4 && connectivity !== 8) throw new RangeError(`labelRegions: connectivity must be 4 or 8`);
  const pixelCount = width * height;
  const labels = new Int32Array(pixelCount);
  let foreground = 0;
  for (let p = 0; p < pixelCount; p++) if (mask[p] !== 0) foreground++;
  if (foreground === 0) return { labels, count: 0, areas: [] };

  // parent[l] for provisional label l (1-based); a new label never exceeds the foreground count.
  const parent = new Int32Array(foreground + 1);
  let nextLabel = 1;
  const diagonal = connectivity === 8;

  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = row + x;
      if (mask[p] === 0) continue;
      const west = x > 0 ? labels[p - 1]! : 0;
      let north = 0;
      let northWest = 0;
      let northEast = 0;
      if (y > 0) {
        north = labels[p - width]!;
        if (diagonal) {
          northWest = x > 0 ? labels[p - width - 1]! : 0;
          northEast = x + 1 < width ? labels[p - width + 1]! : 0;
        }
      }
      if (north !== 0) {
        // North touches every other visited neighbour, so they already share its set...
        labels[p] = north;
        // ...except west under 4-connectivity, where west and north are not adjacent.
        if (!diagonal && west !== 0) union(parent, west, north);
        continue;
      }
      let label = west !== 0 ? west : northWest !== 0 ? northWest : northEast;
      if (label === 0) {
        parent[nextLabel] = nextLabel;
        label = nextLabel++;
      } else if (northEast !== 0 && northEast !== label) {
        union(parent, label, northEast);
      }
      labels[p] = label;
    }
  }

  // Each set's root is its smallest provisional label, i.e. the one of its first pixel in raster
  // order, so numbering roots in increasing order numbers regions in raster order.
  const finalLabel = new Int32Array(nextLabel);
  let count = 0;
  for (let l = 1; l < nextLabel; l++) {
    const root = find(parent, l);
    finalLabel[l] = root === l ? ++count : finalLabel[root]!;
  }
  const areas = new Array<number>(count).fill(0);
  for (let p = 0; p < pixelCount; p++) {
    const l = labels[p]!;
    if (l !== 0) {
      const k = finalLabel[l]!;
      labels[p] = k;
      areas[k - 1]!++;
    }
  }
  return { labels, count, areas };
}

function find(parent: Int32Array, label: number): number {
  let root = label;
  while (parent[root] !== root) root = parent[root]!;
  // Path compression keeps later finds short.
  while (parent[label] !== root) {
    const next = parent[label]!;
    parent[label] = root;
    label = next;
  }
  return root;
}

/** Joins the sets of a and b under the smaller root. */
function union(parent: Int32Array, a: number, b: number): void {
  const rootA = find(parent, a);
  const rootB = find(parent, b);
  if (rootA < rootB) parent[rootB] = rootA;
  else if (rootB < rootA) parent[rootA] = rootB;
}
