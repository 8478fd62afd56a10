/**
 * The invertible 1x1 convolution, LU-parametrised and volume normalised (|det W| = 1):
 * W = P (strict_lower(w_l) + I) (strict_upper(w_u) + diag(sign * exp(w_s - mean(w_s)))).
 * A LevelMap: it maps one level tensor; OnLevel (src/flow/invertible.ts) makes it a piece of a
 * pyramid chain. W and its inverse are built on the host in float64 from the C x C parameters
 * (read through Tensor.values()); the maps themselves run as channelMix ops.
 */
import { Tensor, channelMix, recordOp, accumulateGrad } from '../tensor/index.js';
import { inverse, lu, matmul, qr, transpose } from '../tensor/linalg.js';
import type { Random } from '../util/random.js';
import type { LevelMap } from './invertible.js';

export class InvConv1x1 implements LevelMap {
  constructor(
    readonly wL: Tensor, // [C, C], strictly lower part used
    readonly wS: Tensor, // [C]
    readonly wU: Tensor, // [C, C], strictly upper part used
    readonly perm: Float64Array, // P, C x C
    readonly sign: Float64Array, // C
  ) {}

  get channels(): number {
    return this.wS.dim(0);
  }

  /** The official names (conv1x1.w_l, ...), relative to the convolution. */
  namedParameters(): [string, Tensor][] {
    return [
      ['w_l', this.wL],
      ['w_s', this.wS],
      ['w_u', this.wU],
    ];
  }

  /** The official initialisation: LU of a random orthogonal matrix. */
  static init(C: number, rng: Random): InvConv1x1 {
    const a = new Float64Array(C * C);
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    const { q } = qr(a, C, C);
    const { p, l, u } = lu(q, C);
    const wS = new Float32Array(C),
      wU = new Float32Array(C * C),
      wL = new Float32Array(C * C),
      sign = new Float64Array(C);
    for (let i = 0; i < C; i++) {
      const d = u[i * C + i]!;
      wS[i] = Math.log(Math.abs(d));
      sign[i] = Math.sign(d);
      for (let j = 0; j < C; j++) {
        if (j > i) wU[i * C + j] = u[i * C + j]!;
        wL[i * C + j] = l[i * C + j]!;
      }
    }
    return new InvConv1x1(Tensor.param([C, C], wL), Tensor.param([C], wS), Tensor.param([C, C], wU), p, sign);
  }

  /** W as a tensor whose gradient flows back to w_l, w_s and w_u. Built in float64, rounded once. */
  weight(): Tensor {
    const C = this.channels;
    const { L, U, diagU } = this.factors();
    const PL = matmul(this.perm, L, C, C, C);
    const W = Tensor.fromHost([C, C], Float32Array.from(matmul(PL, U, C, C, C)));
    recordOp(W, [this.wL, this.wS, this.wU], (g) => {
      const dW = Float64Array.from(g);
      const PtdW = matmul(transpose(this.perm, C, C), dW, C, C, C);
      const dL = matmul(PtdW, transpose(U, C, C), C, C, C);
      const dU = matmul(transpose(L, C, C), PtdW, C, C, C);
      const gl = new Float32Array(C * C),
        gu = new Float32Array(C * C),
        gs = new Float32Array(C);
      let meanTerm = 0;
      for (let i = 0; i < C; i++) meanTerm += dU[i * C + i]! * diagU[i]!;
      meanTerm /= C;
      for (let i = 0; i < C; i++) {
        gs[i] = dU[i * C + i]! * diagU[i]! - meanTerm;
        for (let j = 0; j < C; j++) {
          if (j < i) gl[i * C + j] = dL[i * C + j]!;
          if (j > i) gu[i * C + j] = dU[i * C + j]!;
        }
      }
      accumulateGrad(this.wL, gl);
      accumulateGrad(this.wS, gs);
      accumulateGrad(this.wU, gu);
    });
    return W;
  }

  private factors(): { L: Float64Array; U: Float64Array; diagU: Float64Array } {
    const C = this.channels;
    const L = new Float64Array(C * C),
      U = new Float64Array(C * C),
      diagU = new Float64Array(C);
    // host reads of the C x C parameters (small model state)
    const wS = this.wS.values(),
      wL = this.wL.values(),
      wU = this.wU.values();
    let mean = 0;
    for (let i = 0; i < C; i++) mean += wS[i]!;
    mean /= C;
    for (let i = 0; i < C; i++) {
      diagU[i] = this.sign[i]! * Math.exp(wS[i]! - mean);
      for (let j = 0; j < C; j++) {
        if (j < i) L[i * C + j] = wL[i * C + j]!;
        if (j > i) U[i * C + j] = wU[i * C + j]!;
      }
      L[i * C + i] = 1;
      U[i * C + i] = diagU[i]!;
    }
    return { L, U, diagU };
  }

  forward(x: Tensor): Tensor {
    return channelMix(x, this.weight());
  }

  /** forward's op when its output y is known (memory saving's rebuild: x = inverse(y)): recorded, not recomputed. */
  forwardKnown(x: Tensor, y: Tensor): Tensor {
    return channelMix(x, this.weight(), y);
  }

  /** x = W^-1 y. */
  inverse(y: Tensor): Tensor {
    return channelMix(y, this.inverseWeight());
  }

  /**
   * W^-1, computed in float64 from the float32 W actually applied and rounded once. Under a tape
   * its gradient flows back to w_l, w_s and w_u (d(W^-1) = -W^-1 dW W^-1), so the inverse is
   * differentiable in the parameters too; without one nothing is recorded.
   */
  inverseWeight(): Tensor {
    const C = this.channels;
    const W = this.weight();
    const inv = inverse(Float64Array.from(W.values()), C);
    const out = Tensor.fromHost([C, C], Float32Array.from(inv));
    recordOp(out, [W], (g) => {
      // dL/dW = -W^-T G W^-T, with W^-1 in float64
      const invT = transpose(inv, C, C);
      const d = matmul(matmul(invT, Float64Array.from(g), C, C, C), invT, C, C, C);
      accumulateGrad(
        W,
        Float32Array.from(d, (v) => -v),
      );
    });
    return out;
  }
}
