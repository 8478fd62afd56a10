{
  "targets": [
    {
      "target_name": "kernels",
      "sources": ["addon.c", "products.c", "fft.c", "tiles.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"],
      "conditions": [["target_arch!='x64'", {"type": "none"}]]
    }
  ]
}
