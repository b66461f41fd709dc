/**
 * Gradient-boosted regression trees (squared loss, second-order leaf values as in XGBoost/LightGBM): features are
 * binned once by quantiles (at most 64 bins, plus one for missing values), each tree grows depth-wise on per-node
 * histograms of gradient and hessian, a split sends missing values the way that gains more, leaves are shrunk by
 * the learning rate and an L2 penalty. Sample weights are hessians. Deterministic: no row or column sampling.
 *
 * Why owned rather than a library: the npm registry offers no maintained gradient-boosting package for Node that
 * fits a synchronous, pure fit (see shared/forecast/README.md: `ml-xgboost` is a 2018 WebAssembly build loaded
 * asynchronously, without sample weights; `decision-tree` splits categorical values by equality; `ml-cart` is a
 * single CART tree without gradients). A fitted model is plain typed arrays, so it is stored as it is.
 */

export interface GbmParams {
  trees: number;
  learningRate: number;
  maxDepth: number;
  /** Smallest sum of weights in a leaf. */
  minLeafWeight: number;
  /** L2 penalty on leaf values. */
  lambda: number;
  /** Bins per feature (≤ 255). */
  bins: number;
}

/** Chosen on the BWDF origins before the evaluation year (eval/RESULTS.md, 2026-12-06). */
export const DEFAULT_GBM_PARAMS: GbmParams = {
  trees: 300,
  learningRate: 0.04,
  maxDepth: 4,
  minLeafWeight: 8,
  lambda: 1,
  bins: 64,
};

/**
 * Trees as flat arrays over all nodes in pre-order (a node, its left subtree, its right subtree), compact because
 * every target stores one: `code[i]` is 0 at a leaf, else 1 + the feature (+ 128 when missing values go left);
 * an inner node sends x to its left child i + 1 when x ≤ split[i] (or x is missing and goes left), else to
 * i + 1 + leftSize[i]; at a leaf `split[i]` is its output. 10 bytes a node.
 */
export interface GbmModel {
  kind: 'gbm-trees';
  features: number;
  base: number;
  roots: Float64Array;
  code: Uint8Array;
  leftSize: Uint8Array;
  split: Float64Array;
}

/** Row-major design matrix: `x[r * features + f]`, NaN = missing. */
export interface Design {
  rows: number;
  features: number;
  x: Float64Array;
}

interface Binned {
  /** Bin per cell; `edges[f].length` is the missing-value bin. */
  bin: Uint8Array;
  /** Upper bounds (inclusive) of each feature's bins. */
  edges: Float64Array[];
}

function binDesign(d: Design, maxBins: number): Binned {
  const { rows, features, x } = d;
  const edges: Float64Array[] = [];
  const bin = new Uint8Array(rows * features);
  const column = new Float64Array(rows);
  for (let f = 0; f < features; f++) {
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const v = x[r * features + f]!;
      if (!Number.isNaN(v)) column[n++] = v;
    }
    const sorted = column.subarray(0, n).sort();
    const cuts: number[] = [];
    for (let b = 1; b <= maxBins && n > 0; b++) {
      const v = sorted[Math.min(n - 1, Math.ceil((b * n) / maxBins) - 1)]!;
      if (cuts.length === 0 || v > cuts[cuts.length - 1]!) cuts.push(v);
    }
    const e = Float64Array.from(cuts);
    edges.push(e);
    for (let r = 0; r < rows; r++) {
      const v = x[r * features + f]!;
      let b: number;
      if (Number.isNaN(v)) b = e.length;
      else {
        let lo = 0;
        let hi = e.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (v <= e[mid]!) hi = mid;
          else lo = mid + 1;
        }
        b = lo;
      }
      bin[r * features + f] = b;
    }
  }
  return { bin, edges };
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
}

class TreeBuilder {
  code: number[] = [];
  leftSize: number[] = [];
  split: number[] = [];

  leaf(v: number): number {
    this.code.push(0);
    this.leftSize.push(0);
    this.split.push(v);
    return this.split.length - 1;
  }
}

/** Fits boosted trees to `y` with weights `w` (0 leaves a row out). Throws a RangeError without rows. */
export function fitGbm(
  d: Design,
  y: ArrayLike<number>,
  weights: ArrayLike<number>,
  params: GbmParams = DEFAULT_GBM_PARAMS,
): GbmModel {
  const { rows, features } = d;
  // The compact tree layout: a feature index below 127, a left subtree under 256 nodes.
  if (features > 126 || params.maxDepth > 7)
    throw new RangeError('gradient boosting: at most 126 features, depth 7');
  const maxBins = Math.min(255, params.bins);
  let w: ArrayLike<number> = weights;
  const idx: number[] = [];
  let sw = 0;
  let swy = 0;
  for (let r = 0; r < rows; r++) {
    if (w[r]! > 0 && Number.isFinite(y[r]!)) {
      idx.push(r);
      sw += w[r]!;
      swy += w[r]! * y[r]!;
    }
  }
  if (idx.length === 0 || !(sw > 0)) throw new RangeError('gradient boosting: no rows to train on');
  // Weights are relative: scaled to a mean of 1 over the rows kept, so `minLeafWeight` and `lambda` mean what they
  // mean with unit weights (a count of rows, a penalty against row counts) whatever the recency weighting.
  const scale = idx.length / sw;
  const wn = new Float64Array(rows);
  for (const r of idx) wn[r] = w[r]! * scale;
  w = wn;
  const { bin, edges } = binDesign(d, maxBins);
  const base = swy / sw;
  const pred = new Float64Array(rows).fill(base);
  const grad = new Float64Array(rows);
  const tree = new TreeBuilder();
  const roots: number[] = [];
  const stride = maxBins + 1;

  const histSize = features * stride;
  /** Gradient and hessian sums per feature and bin over the members: [g…, h…]. */
  const histogram = (members: Uint32Array): Float64Array => {
    const hist = new Float64Array(2 * histSize);
    for (let m = 0; m < members.length; m++) {
      const r = members[m]!;
      const g = grad[r]!;
      const h = w[r]!;
      const row = r * features;
      for (let f = 0; f < features; f++) {
        const k = f * stride + bin[row + f]!;
        hist[k]! += g;
        hist[histSize + k]! += h;
      }
    }
    return hist;
  };

  const bestSplit = (hist: Float64Array, G: number, H: number): Split | null => {
    const parent = (G * G) / (H + params.lambda);
    const lambda = params.lambda;
    const minLeaf = params.minLeafWeight;
    let best: Split | null = null;
    const consider = (gL: number, hL: number, f: number, b: number, missingLeft: boolean): void => {
      const gR = G - gL;
      const hR = H - hL;
      if (hL < minLeaf || hR < minLeaf) return;
      const gain = (gL * gL) / (hL + lambda) + (gR * gR) / (hR + lambda) - parent;
      if (gain > 1e-12 && (best === null || gain > best.gain))
        best = { gain, feature: f, bin: b, missingLeft };
    };
    for (let f = 0; f < features; f++) {
      const nb = edges[f]!.length;
      const gMiss = hist[f * stride + nb]!;
      const hMiss = hist[histSize + f * stride + nb]!;
      let gl = 0;
      let hl = 0;
      for (let b = 0; b < nb - 1; b++) {
        gl += hist[f * stride + b]!;
        hl += hist[histSize + f * stride + b]!;
        consider(gl, hl, f, b, false);
        if (hMiss > 0) consider(gl + gMiss, hl + hMiss, f, b, true);
      }
    }
    return best;
  };

  const grow = (members: Uint32Array, depth: number, hist: Float64Array | null): number => {
    let G = 0;
    let H = 0;
    for (let m = 0; m < members.length; m++) {
      G += grad[members[m]!]!;
      H += w[members[m]!]!;
    }
    const leafValue = (-G / (H + params.lambda)) * params.learningRate;
    const split =
      depth < params.maxDepth && H >= 2 * params.minLeafWeight
        ? bestSplit(hist ?? histogram(members), G, H)
        : null;
    if (!split) {
      const id = tree.leaf(leafValue);
      for (let m = 0; m < members.length; m++) pred[members[m]!]! += leafValue;
      return id;
    }
    const { feature: sf, bin: sb, missingLeft } = split as Split;
    const nb = edges[sf]!.length;
    const side = new Uint8Array(members.length);
    let nLeft = 0;
    for (let m = 0; m < members.length; m++) {
      const b = bin[members[m]! * features + sf]!;
      const left = b === nb ? missingLeft : b <= sb;
      side[m] = left ? 1 : 0;
      if (left) nLeft++;
    }
    const l = new Uint32Array(nLeft);
    const rr = new Uint32Array(members.length - nLeft);
    let a = 0;
    let c = 0;
    for (let m = 0; m < members.length; m++) {
      if (side[m]) l[a++] = members[m]!;
      else rr[c++] = members[m]!;
    }
    // The smaller child's histogram is summed, the larger one's is the parent's minus it.
    let hl: Float64Array | null = null;
    let hr: Float64Array | null = null;
    if (depth + 1 < params.maxDepth && hist) {
      const small = histogram(l.length <= rr.length ? l : rr);
      const large = new Float64Array(hist.length);
      for (let i = 0; i < hist.length; i++) large[i] = hist[i]! - small[i]!;
      [hl, hr] = l.length <= rr.length ? [small, large] : [large, small];
    }
    const id = tree.leaf(edges[sf]![sb]!);
    tree.code[id] = 1 + sf + (missingLeft ? 128 : 0);
    grow(l, depth + 1, hl);
    tree.leftSize[id] = tree.split.length - id - 1;
    grow(rr, depth + 1, hr);
    return id;
  };

  const all = Uint32Array.from(idx);
  for (let t = 0; t < params.trees; t++) {
    // Weighted squared loss: gradient w·(pred − y), hessian w. (An unweighted gradient over weighted hessians
    // scales every Newton step by 1 / mean weight: with recency weights near 0.01 the boosting diverged.)
    for (let m = 0; m < all.length; m++) {
      const r = all[m]!;
      grad[r] = w[r]! * (pred[r]! - y[r]!);
    }
    roots.push(grow(all, 0, histogram(all)));
  }
  return {
    kind: 'gbm-trees',
    features,
    base,
    roots: Float64Array.from(roots),
    code: Uint8Array.from(tree.code),
    leftSize: Uint8Array.from(tree.leftSize),
    split: Float64Array.from(tree.split),
  };
}

/** The model's output for one row, `x[offset … offset + features)`. */
export function predictGbm(model: GbmModel, x: ArrayLike<number>, offset = 0): number {
  let s = model.base;
  for (let t = 0; t < model.roots.length; t++) {
    let i = model.roots[t]!;
    let code = model.code[i]!;
    while (code !== 0) {
      const v = x[offset + (code & 127) - 1]!;
      const left = Number.isNaN(v) ? code >= 128 : v <= model.split[i]!;
      i = left ? i + 1 : i + 1 + model.leftSize[i]!;
      code = model.code[i]!;
    }
    s += model.split[i]!;
  }
  return s;
}
