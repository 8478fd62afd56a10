/**
 * The one rule for every file the program writes over (model files, exports, reports): an
 * existing file is replaced only when asked (`--force`, or a resumed run), and never when it is
 * not one of ours; the folder must exist or be creatable and writable, checked before any work.
 */
import * as fs from 'node:fs';
import { dirname } from 'node:path';
import { PyramidFlowError } from './errors.js';
import { writeError } from './atomic-file.js';

export interface OutputRule {
  /** What the file is, in words: 'pyramidflow model file', 'ONNX model', 'report'. */
  kind: string;
  /** True when the first bytes (up to 4 KiB) are a file of this kind. */
  recognise(head: Uint8Array): boolean;
  /** Replace an existing file of this kind. */
  force?: boolean;
  /** The existing file is being continued (a resumed training): it is expected to be there. */
  resume?: boolean;
  /** How the user asks to replace it, for the message (default '--force'; '' when nothing would). */
  forceFlag?: string;
}

/**
 * Checks that `path` may be written under the rule; creates its folder. Returns whether the
 * file exists now. Throws a one-line error naming the file otherwise.
 */
export function checkOutputFile(path: string, rule: OutputRule): boolean {
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(path, err);
  }
  if (stat?.isDirectory()) throw new PyramidFlowError(`${path} is a folder: give the ${rule.kind} a file name`, 'E_OUTPUT');
  if (stat) {
    if (!stat.isFile()) throw new PyramidFlowError(`${path} is not a regular file; refusing to write the ${rule.kind} there`, 'E_OUTPUT');
    if (!rule.recognise(readHead(path))) {
      const even = rule.forceFlag === '' ? '' : ` (even with ${rule.forceFlag ?? '--force'})`;
      throw new PyramidFlowError(
        `${path} exists and is not ${article(rule.kind)} ${rule.kind}; refusing to overwrite it${even}: choose another name`,
        'E_OUTPUT',
      );
    }
    if (!rule.force && !rule.resume) {
      throw new PyramidFlowError(`${path} exists; give ${rule.forceFlag ?? '--force'} to replace it, or choose another name`, 'E_OUTPUT');
    }
  }
  const dir = dirname(path);
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    throw writeError(path, err);
  }
  return stat !== null;
}

/** The first bytes of a file (up to `bytes`), to tell what it is. */
export function readHead(path: string, bytes = 4096): Uint8Array {
  const fd = fs.openSync(path, 'r');
  try {
    const head = new Uint8Array(bytes);
    return head.subarray(0, fs.readSync(fd, head, 0, head.length, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** 'a' or 'an' before a kind's name (an ONNX model, a pyramidflow model file). */
function article(kind: string): string {
  return /^[aeiou]/i.test(kind) ? 'an' : 'a';
}
