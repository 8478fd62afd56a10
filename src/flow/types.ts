/**
 * The network's configuration and what a model file holds besides weights (thresholds): the
 * lowest layer that uses them is the flow itself (src/flow/saved-model.ts).
 */

/** Volume normalisation of the coupling scales: per pixel over channels ('cvn') or per channel over pixels ('svn'). */
export type VolumeNorm = 'cvn' | 'svn';
/** Pyramid downsampling: 'maxpool' (the official code) or 'nearest' (the paper). */
export type Downsample = 'maxpool' | 'nearest';

/** Everything that defines the network; saved in the model file, printed by `info`. */
export interface ModelConfig {
  /** C: channels of the latent pyramid (default 16). */
  channels: number;
  /** k: odd convolution kernel size (default 7). */
  kernel: number;
  /** L: pyramid levels, >= 2 (default 4). */
  levels: number;
  /** S: stacks of coupling blocks, >= 1 (default 4). */
  stacks: number;
  /** Volume normalisation of the coupling scales (default: the official code's choice for the category). */
  volumeNorm: VolumeNorm;
  /** Model input height in pixels; divisible by 2^(L-1). */
  height: number;
  /** Model input width in pixels; divisible by 2^(L-1). */
  width: number;
  /** How the pyramid's levels are made from the input (default 'maxpool'). */
  downsample: Downsample;
}

/** Model options as a user gives them: anything left out takes the default or `auto`. */
export interface ModelOptions {
  /** Square input size in pixels, a shortcut for height and width (default 256). */
  size?: number;
  /** Input height in pixels (instead of size). */
  height?: number;
  /** Input width in pixels (instead of size). */
  width?: number;
  /** C (default 16). */
  channels?: number;
  /** Odd kernel size k (default 7). */
  kernel?: number;
  /** L >= 2, or 'auto': the official code's choice for the category (default 4). */
  levels?: number | 'auto';
  /** S >= 1 (default 4). */
  stacks?: number;
  /** 'auto' (default): the official code's choice for the category. */
  volumeNorm?: VolumeNorm | 'auto';
  /** Default 'maxpool'. */
  downsample?: Downsample;
}

/** The thresholds a model's verdicts use, and how they were set. */
export interface Thresholds {
  /** Image-score threshold: a score above it means defect. */
  image: number;
  /** Pixel threshold: pixels above it form defect regions. */
  pixel: number;
  /** The false-positive rate on good images the image threshold was set for. */
  imageFpr: number;
  /** The false-positive rate on good pixels the pixel threshold was set for. */
  pixelFpr: number;
  /** Which good images set them: held out from training, the training images, or `calibrate`. */
  source: 'holdout' | 'train' | 'calibrate';
  /** How many good images set them. */
  images: number;
  /** E.g. too few images to resolve the rate. */
  note?: string;
  /** Bottom of the fixed colour scale of heat maps, so pictures compare across images and runs. */
  scaleMin: number;
  /** Top of the fixed colour scale of heat maps. */
  scaleMax: number;
}
