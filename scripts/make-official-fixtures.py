#!/usr/bin/env python3
"""Makes the checkpoint fixtures of test/import/ ONCE from the weights in the reference vectors.

The fixtures are committed: the tests (and CI) read them without PyTorch. To remake them
(Debian: `apt-get install python3-torch python3-numpy`):

    python3 scripts/make-official-fixtures.py /work/shared/reference/vectors test/fixtures/official

For each vector file NAME.json (tiny, tiny_svn, public_b3) it writes:

* NAME.npz: what the official train.py writes with `np.savez(..., **save_dict)`: the
  configuration entries (cls_name, resnetX, num_layer, vn_dims, ksize, channel, num_stack,
  batch_size), the metric lists, and two state dicts as the official code keeps them
  (`{k: v.cpu() for k, v in flow.state_dict().items()}`: a plain dict of torch tensors, pickled
  by numpy into a 0-d object array):
  - state_dict_pixel: the parameters and buffers, with the running means the vector file
    recorded after one training forward (`f32.running_mean_after_forward`), so that an
    evaluation forward reproduces `f32.eval_pyramid_out`;
  - state_dict_pro: the same parameters with the initial buffers (running means of shape
    (1,1,1,1), zero).
* NAME.pt: `torch.save(state_dict_pixel)` (the zip format: <prefix>/data.pkl + <prefix>/data/N).

And from tiny.json only:

* tiny_legacy.pt: the same with `_use_new_zipfile_serialization=False` (PyTorch's legacy format).
* layouts.pt and layouts_legacy.pt: a few tensors as torch.save stores them besides plain
  contiguous float32: a transposed view (strides), a Parameter in float64, float16, a view at an
  offset into a larger storage, and an OrderedDict with `_metadata` (as `state_dict()` returns).
* tiny_numpy.npz (with `--numpy-only`, no PyTorch needed; run it with numpy 2 to get
  numpy 2's module names): the .npz layout with the state dicts as OrderedDicts of numpy
  arrays, as a port of the official code that keeps numpy arrays would save them.

    python3 scripts/make-official-fixtures.py --numpy-only /work/shared/reference/vectors test/fixtures/official

The state dicts hold every entry of the official module's state_dict(), u_mask, l_mask and
l_eye included. Values are the vector file's numbers rounded to float32.
"""
import json
import os
import sys

import numpy as np
from collections import OrderedDict


def array(t):
    return np.asarray(t["data"], dtype=np.float64).astype(np.float32).reshape(t["shape"])


def numpy_only(src, dst):
    v = json.load(open(os.path.join(src, "tiny.json")))
    meta = v["meta"]
    state = OrderedDict((k, array(t)) for k, t in v["params"].items())
    for k, t in v["buffers"].items():
        state[k] = array(v["f32"]["running_mean_after_forward"].get(k, t))
    np.savez(os.path.join(dst, "tiny_numpy.npz"), cls_name="tiny", resnetX=0, num_layer=meta["num_level"],
             vn_dims=tuple(meta["vn_dims"]), ksize=meta["ksize"], channel=meta["channel"],
             num_stack=meta["num_stack"], batch_size=meta["batch"], state_dict_pixel=state, state_dict_pro=state)
    print("tiny_numpy written with numpy", np.__version__)


def main(src, dst):
    import torch

    def tensor(t):
        return torch.from_numpy(array(t))

    os.makedirs(dst, exist_ok=True)
    for name in ("tiny", "tiny_svn", "public_b3"):
        v = json.load(open(os.path.join(src, f"{name}.json")))
        meta = v["meta"]
        params = {k: tensor(t) for k, t in v["params"].items()}
        initial = {k: tensor(t) for k, t in v["buffers"].items()}
        after = dict(initial)
        for k, t in v["f32"]["running_mean_after_forward"].items():
            after[k] = tensor(t)
        # the order of the official state_dict(): the module tree, parameters before buffers per module
        order = list(v["params"].keys()) + list(v["buffers"].keys())
        pixel = {k: (params.get(k) if k in params else after[k]) for k in order}
        pro = {k: (params.get(k) if k in params else initial[k]) for k in order}
        save_dict = {
            "cls_name": name,
            "resnetX": meta["resnetX"],
            "num_layer": meta["num_level"],
            "vn_dims": tuple(meta["vn_dims"]),
            "ksize": meta["ksize"],
            "channel": meta["channel"],
            "num_stack": meta["num_stack"],
            "batch_size": meta["batch"],
            "state_dict_pixel": pixel,
            "state_dict_pro": pro,
            "pixel_auroc_lst": [0, 0.5],
            "image_auroc_lst": [0, 0.5],
            "pixel_pro_lst": [0, 0.5],
            "losses_lst": [0, 1.0],
        }
        np.savez(os.path.join(dst, f"{name}.npz"), **save_dict)
        torch.save(pixel, os.path.join(dst, f"{name}.pt"))
        if name == "tiny":
            torch.save(pixel, os.path.join(dst, "tiny_legacy.pt"), _use_new_zipfile_serialization=False)
        print(name, "written with torch", torch.__version__)
    sd = OrderedDict()
    sd["transposed"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    sd["parameter"] = torch.nn.Parameter(torch.tensor([0.5, -2.0], dtype=torch.float64))
    sd["half"] = torch.tensor([0.0, 1.5, -3.0, 65504.0], dtype=torch.float16)
    sd["view"] = torch.arange(10, dtype=torch.float32)[3:7]
    sd._metadata = OrderedDict({"": {"version": 1}})
    torch.save(sd, os.path.join(dst, "layouts.pt"))
    torch.save(sd, os.path.join(dst, "layouts_legacy.pt"), _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--numpy-only"]
    src = args[0] if len(args) > 0 else "/work/shared/reference/vectors"
    dst = args[1] if len(args) > 1 else "test/fixtures/official"
    os.makedirs(dst, exist_ok=True)
    (numpy_only if "--numpy-only" in sys.argv else main)(src, dst)
