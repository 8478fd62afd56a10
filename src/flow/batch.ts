import { Tensor } from '../tensor/index.js';

/** Stacks normalised images (3*H*W each) into a batch tensor [N, 3, H, W]. */
export function toBatch(images: readonly Float32Array[], height: number, width: number): Tensor {
  const per = 3 * height * width;
  const data = new Float32Array(images.length * per);
  images.forEach((img, i) => {
    if (img.length !== per) throw new Error(`toBatch: image ${i} has ${img.length} values, expected ${per}`);
    data.set(img, i * per);
  });
  return Tensor.fromHost([images.length, 3, height, width], data);
}
