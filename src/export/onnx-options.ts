/** The ONNX export's choices and defaults, without the exporter (the option table reads them; the help stays light). */

/** The graph's image input: uint8 RGB NHWC pixels (normalised in the graph) or normalised float32 NCHW. */
export type InputLayout = 'uint8-nhwc' | 'float-nchw';

/** What the graph outputs: the map and score, or those and the latent pyramid. */
export type OnnxOutputs = 'map' | 'latents';

export const INPUT_LAYOUTS: readonly InputLayout[] = ['uint8-nhwc', 'float-nchw'];
export const ONNX_OUTPUTS: readonly OnnxOutputs[] = ['map', 'latents'];
export const DEFAULT_OPSET = 17;
/** Opsets written: 17 and 18, whose IR version is 8 (opset 19 needs IR 9). */
export const OPSET_RANGE = { min: 17, max: 18 } as const;
export const IR_VERSION = 8;
