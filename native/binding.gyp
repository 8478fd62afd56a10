{
  "targets": [
    {
      "target_name": "products",
      "sources": ["products.c", "fft.c"],
      "cflags": ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"],
      "conditions": [["target_arch!='x64'", {"type": "none"}]]
    }
  ]
}
