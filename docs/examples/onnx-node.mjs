// An exported pyramidflow model in ONNX Runtime on Node: the score and verdict `pyramidflow predict` gives.
// Usage: node onnx-node.mjs model.onnx part.png   (the image at the model's size; see the README)
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';

const [modelFile, imageFile] = process.argv.slice(2);
const bytes = readFileSync(modelFile);
const meta = Object.fromEntries(onnxProto.onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key, p.value]));
const { height, width } = JSON.parse(meta['pyramidflow.config']);
const threshold = Number(meta['pyramidflow.threshold.image']);
// uint8 RGB, rows top to bottom (NHWC): grey is replicated, alpha dropped, 16-bit scaled to 8.
const { data, info } = await sharp(imageFile).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
if (info.width !== width || info.height !== height) throw new Error(`${imageFile} is ${info.width}x${info.height}; the model takes ${width}x${height}`);
const session = await ort.InferenceSession.create(bytes);
const image = new ort.Tensor('uint8', new Uint8Array(data), [1, height, width, 3]);
const { score, anomaly_map: map } = await session.run({ image });
const value = score.data[0];
console.log(JSON.stringify({ score: value, verdict: value > threshold ? 'defect' : 'good', map: map.dims }));
