{
  "targets": [
    {
      "target_name": "jpeg_rgb",
      "sources": ["src/jpeg_rgb.c"],
      "cflags": ["-O2"],
      "libraries": ["-ljpeg"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
