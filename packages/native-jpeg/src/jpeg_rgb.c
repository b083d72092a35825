/*
 * JPEG -> 8-bit RGB with libjpeg(-turbo), set up as Pillow's JpegDecode.c decodes a JPEG it opens as "L" or "RGB":
 * accurate integer IDCT (JDCT_ISLOW), fancy (smooth) chroma upsampling, libjpeg's own colour-space detection, no
 * colour management. Gray is replicated to RGB as Pillow's convert('RGB') does.
 *
 * It decodes only what it can decode exactly like that and answers `null` for everything else, so that the caller
 * decodes those with its general decoder: not 1 or 3 components (CMYK, YCCK), more pixels than the caller allows,
 * an EXIF orientation other than 1 when the caller applies orientation (or EXIF it cannot read), and any libjpeg
 * warning or error (truncated or corrupt data) — the general decoder then decides what such a file gives.
 */
#include <node_api.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

/* IJG libjpeg 7+ upsamples chroma differently from Pillow's builds: only libjpeg-turbo decodes like them. */
#ifndef LIBJPEG_TURBO_VERSION_NUMBER
#error "libjpeg-turbo's jpeglib.h is required (IJG libjpeg does not decode like Pillow)"
#endif

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  int warned;
} error_manager;

static void on_error(j_common_ptr cinfo) { longjmp(((error_manager *)cinfo->err)->jump, 1); }

static void on_message(j_common_ptr cinfo, int level) {
  if (level < 0) ((error_manager *)cinfo->err)->warned = 1;
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

/* One decode: the input bytes and limits in, the pixels (or a refusal) out. */
typedef struct {
  const unsigned char *bytes;
  size_t length;
  double max_pixels;
  int respect_orientation;
  unsigned char *pixels;
  unsigned width;
  unsigned height;
  int decoded;
  napi_ref input_ref;
  napi_deferred deferred;
  napi_async_work work;
} decode_job;

static unsigned read16(const unsigned char *p, int little) {
  return little ? (unsigned)(p[0] | (p[1] << 8)) : (unsigned)((p[0] << 8) | p[1]);
}

static unsigned long read32(const unsigned char *p, int little) {
  return little ? ((unsigned long)p[0] | ((unsigned long)p[1] << 8) | ((unsigned long)p[2] << 16) |
                   ((unsigned long)p[3] << 24))
                : (((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) | ((unsigned long)p[2] << 8) |
                   (unsigned long)p[3]);
}

/* The EXIF orientation of the first Exif APP1 segment: 1 when there is none, 0 when it cannot be read. */
static int exif_orientation(struct jpeg_decompress_struct *cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 1 || m->data_length < 14 || memcmp(m->data, "Exif\0\0", 6) != 0) continue;
    const unsigned char *tiff = m->data + 6;
    size_t size = m->data_length - 6;
    int little;
    if (tiff[0] == 'I' && tiff[1] == 'I') little = 1;
    else if (tiff[0] == 'M' && tiff[1] == 'M') little = 0;
    else return 0;
    unsigned long ifd = read32(tiff + 4, little);
    if (ifd + 2 > size) return 0;
    unsigned entries = read16(tiff + ifd, little);
    if (ifd + 2 + 12 * (unsigned long)entries > size) return 0;
    for (unsigned i = 0; i < entries; i++) {
      const unsigned char *entry = tiff + ifd + 2 + 12 * i;
      if (read16(entry, little) != 0x0112) continue;
      if (read16(entry + 2, little) != 3 || read32(entry + 4, little) != 1) return 0;
      return (int)read16(entry + 8, little);
    }
    return 1;
  }
  return 1;
}

static void decode(decode_job *job) {
  struct jpeg_decompress_struct cinfo;
  error_manager err;
  job->pixels = NULL;
  job->decoded = 0;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.pub.output_message = on_output;
  err.warned = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(job->pixels);
    job->pixels = NULL;
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, job->bytes, (unsigned long)job->length);
  if (job->respect_orientation) jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&cinfo, TRUE);
  if (err.warned || (cinfo.num_components != 1 && cinfo.num_components != 3) ||
      (double)cinfo.image_width * (double)cinfo.image_height > job->max_pixels ||
      (job->respect_orientation && exif_orientation(&cinfo) != 1)) {
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  jpeg_start_decompress(&cinfo);
  size_t width = cinfo.output_width, height = cinfo.output_height;
  int gray = cinfo.output_components == 1;
  job->pixels = malloc(width * height * 3);
  if (!job->pixels) {
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  while (cinfo.output_scanline < height) {
    unsigned char *dst = job->pixels + (size_t)cinfo.output_scanline * width * 3;
    /* Gray: decode into the row's last third, then spread each sample over three bytes from the left. */
    JSAMPROW row = gray ? dst + width * 2 : dst;
    jpeg_read_scanlines(&cinfo, &row, 1);
    if (gray)
      for (size_t x = 0; x < width; x++) {
        unsigned char g = row[x];
        dst[3 * x] = g;
        dst[3 * x + 1] = g;
        dst[3 * x + 2] = g;
      }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.warned) {
    free(job->pixels);
    job->pixels = NULL;
    return;
  }
  job->width = (unsigned)width;
  job->height = (unsigned)height;
  job->decoded = 1;
}

static void free_pixels(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* `{ data, width, height }` for decoded pixels (the Uint8Array owns them), else `null`. */
static napi_value to_result(napi_env env, decode_job *job) {
  napi_value result, buffer, array, width, height;
  if (!job->decoded) {
    napi_get_null(env, &result);
    return result;
  }
  size_t size = (size_t)job->width * job->height * 3;
  if (napi_create_external_arraybuffer(env, job->pixels, size, free_pixels, NULL, &buffer) != napi_ok) {
    /* Runtimes that refuse external buffers: copy. */
    void *copy;
    napi_create_arraybuffer(env, size, &copy, &buffer);
    memcpy(copy, job->pixels, size);
    free(job->pixels);
  }
  job->pixels = NULL;
  napi_create_typedarray(env, napi_uint8_array, size, buffer, 0, &array);
  napi_create_uint32(env, job->width, &width);
  napi_create_uint32(env, job->height, &height);
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "data", array);
  napi_set_named_property(env, result, "width", width);
  napi_set_named_property(env, result, "height", height);
  return result;
}

/* Reads (bytes: Uint8Array, maxPixels: number, respectOrientation: boolean) into `job`; throws a TypeError. */
static int read_arguments(napi_env env, napi_callback_info info, decode_job *job, napi_value *input) {
  size_t argc = 3;
  napi_value argv[3];
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value arraybuffer;
  size_t offset;
  bool respect = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &arraybuffer, &offset) != napi_ok ||
      type != napi_uint8_array || napi_get_value_double(env, argv[1], &job->max_pixels) != napi_ok ||
      napi_get_value_bool(env, argv[2], &respect) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected (bytes: Uint8Array, maxPixels: number, respectOrientation: boolean)");
    return 0;
  }
  job->bytes = data;
  job->length = length;
  job->respect_orientation = respect;
  *input = argv[0];
  return 1;
}

static napi_value decode_sync(napi_env env, napi_callback_info info) {
  decode_job job;
  napi_value input;
  memset(&job, 0, sizeof job);
  if (!read_arguments(env, info, &job, &input)) return NULL;
  decode(&job);
  return to_result(env, &job);
}

static void execute_async(napi_env env, void *data) {
  (void)env;
  decode((decode_job *)data);
}

static void complete_async(napi_env env, napi_status status, void *data) {
  decode_job *job = data;
  if (status == napi_ok) {
    napi_resolve_deferred(env, job->deferred, to_result(env, job));
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "the JPEG decode was cancelled", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
    free(job->pixels);
  }
  napi_delete_reference(env, job->input_ref);
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value decode_async(napi_env env, napi_callback_info info) {
  decode_job *job = calloc(1, sizeof *job);
  napi_value input, promise, name;
  if (!job) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  if (!read_arguments(env, info, job, &input)) {
    free(job);
    return NULL;
  }
  /* Keeps the input bytes alive while a libuv thread reads them. */
  napi_create_reference(env, input, 1, &job->input_ref);
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "mtailor:decodeJpegRgb", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute_async, complete_async, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value sync_fn, async_fn, version;
  napi_create_function(env, "decodeJpegRgbSync", NAPI_AUTO_LENGTH, decode_sync, NULL, &sync_fn);
  napi_create_function(env, "decodeJpegRgb", NAPI_AUTO_LENGTH, decode_async, NULL, &async_fn);
  napi_create_int32(env, LIBJPEG_TURBO_VERSION_NUMBER, &version);
  napi_set_named_property(env, exports, "decodeJpegRgbSync", sync_fn);
  napi_set_named_property(env, exports, "decodeJpegRgb", async_fn);
  napi_set_named_property(env, exports, "libjpegTurboVersion", version);
  return exports;
}
