/**
 * The invertible 1x1 convolution, LU-parametrised and volume normalised (|det W| = 1):
 * W = P (strict_lower(w_l) + I) (strict_upper(w_u) + diag(sign * exp(w_s - mean(w_s)))).
 */
import { Tensor, channelMix, recordOp, accumulateGrad, noGrad } from '../tensor/index.js';
import { inverse, lu, matmul, qr, transpose } from '../tensor/linalg.js';
import type { Random } from '../util/random.js';

export class InvConv1x1 {
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

  /** The official initialisation: LU of a random orthogonal matrix. */
  static init(C: number, rng: Random): InvConv1x1 {
    const a = new Float64Array(C * C);
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    const { q } = qr(a, C, C);
    const { p, l, u } = lu(q, C);
    const wS = new Float32Array(C), wU = new Float32Array(C * C), wL = new Float32Array(C * C), sign = new Float64Array(C);
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
    const W = new Tensor([C, C], Float32Array.from(matmul(PL, U, C, C, C)));
    recordOp(W, [this.wL, this.wS, this.wU], (g) => {
      const dW = Float64Array.from(g);
      const PtdW = matmul(transpose(this.perm, C, C), dW, C, C, C);
      const dL = matmul(PtdW, transpose(U, C, C), C, C, C);
      const dU = matmul(transpose(L, C, C), PtdW, C, C, C);
      const gl = new Float32Array(C * C), gu = new Float32Array(C * C), gs = new Float32Array(C);
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
    const L = new Float64Array(C * C), U = new Float64Array(C * C), diagU = new Float64Array(C);
    let mean = 0;
    for (let i = 0; i < C; i++) mean += this.wS.data[i]!;
    mean /= C;
    for (let i = 0; i < C; i++) {
      diagU[i] = this.sign[i]! * Math.exp(this.wS.data[i]! - mean);
      for (let j = 0; j < C; j++) {
        if (j < i) L[i * C + j] = this.wL.data[i * C + j]!;
        if (j > i) U[i * C + j] = this.wU.data[i * C + j]!;
      }
      L[i * C + i] = 1;
      U[i * C + i] = diagU[i]!;
    }
    return { L, U, diagU };
  }

  forward(x: Tensor): Tensor {
    return channelMix(x, this.weight());
  }

  /** x = W^-1 y, the inverse computed in float64 from the float32 W actually applied. */
  inverse(y: Tensor): Tensor {
    const C = this.channels;
    const W = Float64Array.from(noGrad(() => this.weight()).data);
    return channelMix(y, new Tensor([C, C], Float32Array.from(inverse(W, C))));
  }
}
