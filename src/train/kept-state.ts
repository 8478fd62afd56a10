/**
 * States of a training run kept in memory between steps: the weights, Adam's moments and step,
 * the running means and the record's counters at a step boundary. The loop keeps the newest
 * state judged healthy, to write it late (a checkpoint waits for its state's own loss) or when
 * the run diverges (src/train/trainer.ts). Captures go into two reused sets of buffers (3
 * copies of the parameters each: no allocation per step, a few milliseconds for the default
 * model's 1.4 M parameters); a model file's content is made only when one is written.
 */
import type { Tensor } from '../tensor/index.js';
import type { PyramidFlow } from '../flow/model.js';
import { snapshot, type SavedModel, type TrainingRecord } from '../flow/saved-model.js';
import type { Adam } from './optim.js';

/** A state of the run at a step boundary, as captured. */
export interface KeptState {
  /** Distinct for every capture (the buffers are reused). */
  id: number;
  /** 0-based epoch in progress and steps of it done (as ResumeState). */
  epoch: number;
  /** Steps of that epoch done. */
  stepInEpoch: number;
  /** Their losses. */
  epochLosses: number[];
  /** The record's steps done then. */
  steps: number;
  /** The record's epochs done then. */
  epochsDone: number;
  /** The record's epoch means then. */
  lossPerEpoch: number[];
  /** Adam's step count. */
  adamStep: number;
  /** The weights, in the order of model.parameters(). */
  params: Float32Array[];
  /** Adam's first moments, likewise. */
  m: Float32Array[];
  /** Adam's second moments, likewise. */
  v: Float32Array[];
  /** The blocks' running means, by reference: a forward replaces them (movingAverage) and never writes into them. */
  runningMeans: Tensor[];
}

/** Captures states of one run's model and optimiser into reused buffers, and makes model files of them. */
export class StateKeeper {
  private readonly sets: KeptState[] = [];
  private count = 0;

  constructor(
    private readonly model: PyramidFlow,
    private readonly opt: Adam,
    private readonly record: TrainingRecord,
  ) {}

  /** The state now, at (epoch, stepInEpoch), in a set of buffers other than `keep`'s. */
  capture(epoch: number, stepInEpoch: number, epochLosses: readonly number[], keep?: KeptState): KeptState {
    let s = this.sets.find((x) => x !== keep);
    if (!s) {
      const sizes = this.model.parameters().map((p) => p.size);
      const alloc = (): Float32Array[] => sizes.map((n) => new Float32Array(n));
      s = {
        id: 0,
        epoch: 0,
        stepInEpoch: 0,
        epochLosses: [],
        steps: 0,
        epochsDone: 0,
        lossPerEpoch: [],
        adamStep: 0,
        params: alloc(),
        m: alloc(),
        v: alloc(),
        runningMeans: [],
      };
      this.sets.push(s);
    }
    s.id = ++this.count;
    s.epoch = epoch;
    s.stepInEpoch = stepInEpoch;
    s.epochLosses = [...epochLosses];
    s.steps = this.record.steps;
    s.epochsDone = this.record.epochsDone;
    s.lossPerEpoch = [...this.record.lossPerEpoch];
    s.adamStep = this.opt.state.step;
    this.model.parameters().forEach((p, i) => {
      s.params[i]!.set(p.values());
      s.m[i]!.set(this.opt.state.m[i]!);
      s.v[i]!.set(this.opt.state.v[i]!);
    });
    s.runningMeans = this.model.blocks.map((b) => b.affine.runningMean);
    return s;
  }

  /**
   * The model file's content of a kept state (owning its numbers). The model takes the state's
   * weights and running means for the snapshot and gets its own back.
   */
  toSaved(s: KeptState): SavedModel {
    const params = this.model.parameters();
    const blocks = this.model.blocks;
    const weights = params.map((p) => p.toHost());
    const means = blocks.map((b) => b.affine.runningMean);
    params.forEach((p, i) => p.updateHost((w) => w.set(s.params[i]!)));
    blocks.forEach((b, i) => (b.affine.runningMean = s.runningMeans[i]!));
    try {
      return snapshot(
        this.model,
        { ...this.record, steps: s.steps, epochsDone: s.epochsDone, lossPerEpoch: s.lossPerEpoch },
        {
          resume: {
            epoch: s.epoch,
            stepInEpoch: s.stepInEpoch,
            adamStep: s.adamStep,
            adamM: s.m.map((a) => a.slice()),
            adamV: s.v.map((a) => a.slice()),
            epochLosses: [...s.epochLosses],
          },
        },
      );
    } finally {
      params.forEach((p, i) => p.updateHost((w) => w.set(weights[i]!)));
      blocks.forEach((b, i) => (b.affine.runningMean = means[i]!));
    }
  }
}
