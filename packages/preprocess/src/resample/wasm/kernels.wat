;; Pillow's 8-bit convolution passes (libImaging/Resample.c) with WebAssembly SIMD, for any fixed-point precision
;; $precision (Pillow: 22 bits; torch's uint8 resize: int16 weights with a per-axis precision).
;; Integer arithmetic only: every lane computes exactly Pillow's int32 sum, so the bytes are identical to the
;; plain-JS passes (resample/horizontal.ts, resample/vertical.ts) and to Pillow.
;; Build: node packages/preprocess/scripts/build-wasm.mjs (writes kernels-binary.ts).
(module
  (memory (export "memory") 1)

  ;; Horizontal pass for 1-channel (gray) pixels, scalar. For each of $rows rows (stride $srcStride bytes, first at
  ;; $src) and each output pixel xx: window start bounds[2xx] and length bounds[2xx+1] (i32), weights (i32) at
  ;; $weights + xx*$ksize*4. (Colour rows take two taps a step: horizontalPairs, horizontalSplitPairs.)
  (func (export "horizontal1")
    (param $src i32) (param $srcStride i32) (param $rows i32)
    (param $dst i32) (param $outWidth i32) (param $bounds i32) (param $weights i32) (param $ksize i32) (param $precision i32)
    (local $row i32) (local $y i32) (local $xx i32) (local $b i32) (local $p i32) (local $n i32)
    (local $k i32) (local $kRow i32) (local $kStep i32) (local $o i32) (local $acc i32)
    (local.set $kStep (i32.shl (local.get $ksize) (i32.const 2)))
    (local.set $row (local.get $src))
    (local.set $o (local.get $dst))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $xx (i32.const 0))
        (local.set $b (local.get $bounds))
        (local.set $kRow (local.get $weights))
        (block $xDone
          (loop $xLoop
            (br_if $xDone (i32.ge_u (local.get $xx) (local.get $outWidth)))
            (local.set $p (i32.add (local.get $row) (i32.load (local.get $b))))
            (local.set $n (i32.load offset=4 (local.get $b)))
            (local.set $k (local.get $kRow))
            (local.set $acc (i32.shl (i32.const 1) (i32.sub (local.get $precision) (i32.const 1))))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.eqz (local.get $n)))
                (local.set $acc
                  (i32.add (local.get $acc) (i32.mul (i32.load8_u (local.get $p)) (i32.load (local.get $k)))))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $tLoop)))
            ;; clip8: (sum >> precision) clamped to 0..255.
            (local.set $acc (i32.shr_s (local.get $acc) (local.get $precision)))
            (local.set $acc (select (i32.const 0) (local.get $acc) (i32.lt_s (local.get $acc) (i32.const 0))))
            (local.set $acc (select (i32.const 255) (local.get $acc) (i32.gt_s (local.get $acc) (i32.const 255))))
            (i32.store8 (local.get $o) (local.get $acc))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $kRow (i32.add (local.get $kRow) (local.get $kStep)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $xLoop)))
        (local.set $row (i32.add (local.get $row) (local.get $srcStride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowsLoop))))

  ;; Vertical pass on rows of $rowLen bytes (any channel count): output row yy sums source rows
  ;; bounds[2yy] .. bounds[2yy] + bounds[2yy+1] - 1 with weights at $weights + yy*$ksize*4, 16 bytes at a time.
  ;; The last block of a row may run past $rowLen: the caller leaves 16 bytes of slack after $src and $dst, and
  ;; the extra bytes written into the next output row are overwritten when that row is computed.
  (func (export "vertical")
    (param $src i32) (param $rowLen i32) (param $outRows i32) (param $dst i32)
    (param $bounds i32) (param $weights i32) (param $ksize i32) (param $precision i32)
    (local $yy i32) (local $i i32) (local $base i32) (local $n i32) (local $t i32) (local $p i32) (local $k i32)
    (local $kRow i32) (local $o i32) (local $v v128) (local $lo v128) (local $hi v128) (local $ks v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $half v128)
    (local.set $half (i32x4.splat (i32.shl (i32.const 1) (i32.sub (local.get $precision) (i32.const 1)))))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_u (local.get $yy) (local.get $outRows)))
        (local.set $base
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (local.get $rowLen))))
        (local.set $n (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))))
        (local.set $kRow (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $yy) (local.get $ksize)) (i32.const 2))))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $yy) (local.get $rowLen))))
        (local.set $i (i32.const 0))
        (block $iDone
          (loop $iLoop
            (br_if $iDone (i32.ge_u (local.get $i) (local.get $rowLen)))
            (local.set $a0 (local.get $half))
            (local.set $a1 (local.get $half))
            (local.set $a2 (local.get $half))
            (local.set $a3 (local.get $half))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $k (local.get $kRow))
            (local.set $t (local.get $n))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.eqz (local.get $t)))
                (local.set $v (v128.load (local.get $p)))
                (local.set $ks (i32x4.splat (i32.load (local.get $k))))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $ks))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $ks))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $ks))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $ks))))
                (local.set $p (i32.add (local.get $p) (local.get $rowLen)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tLoop)))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (local.get $precision))
                  (i32x4.shr_s (local.get $a1) (local.get $precision)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (local.get $precision))
                  (i32x4.shr_s (local.get $a3) (local.get $precision)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $iLoop)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rowsLoop))))

  ;; int16 weights (torch's fit; Pillow's 22-bit ones do not): two taps per i32x4.dot_i16x8_s. Weight pair j of
  ;; output pixel (or row) xx is the i32 at $weights + (xx*$kpairs + j)*4, its low half the even tap. A window of odd
  ;; length ends with a zero weight whose pixel (one past the window) lies in the row or in the caller's slack.

  ;; Horizontal pass for 3- or 4-channel pixels: the 8 bytes at the pair's first pixel are swizzled so that byte c of
  ;; both pixels becomes i16 lanes 2c, 2c+1 (indices 255 give 0), then dotted with the weight pair.
  (func (export "horizontalPairs")
    (param $src i32) (param $srcStride i32) (param $ch i32) (param $rows i32)
    (param $dst i32) (param $outWidth i32) (param $bounds i32) (param $weights i32) (param $kpairs i32) (param $precision i32)
    (local $row i32) (local $y i32) (local $xx i32) (local $b i32) (local $p i32) (local $t i32)
    (local $k i32) (local $kRow i32) (local $kStep i32) (local $o i32) (local $step i32)
    (local $acc v128) (local $half v128) (local $mask v128)
    (local.set $half (i32x4.splat (i32.shl (i32.const 1) (i32.sub (local.get $precision) (i32.const 1)))))
    (local.set $kStep (i32.shl (local.get $kpairs) (i32.const 2)))
    (local.set $step (i32.shl (local.get $ch) (i32.const 1)))
    (local.set $mask
      (select (result v128)
        (v128.const i8x16 0 255 4 255 1 255 5 255 2 255 6 255 3 255 7 255)
        (v128.const i8x16 0 255 3 255 1 255 4 255 2 255 5 255 255 255 255 255)
        (i32.eq (local.get $ch) (i32.const 4))))
    (local.set $row (local.get $src))
    (local.set $o (local.get $dst))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        (local.set $xx (i32.const 0))
        (local.set $b (local.get $bounds))
        (local.set $kRow (local.get $weights))
        (block $xDone
          (loop $xLoop
            (br_if $xDone (i32.ge_u (local.get $xx) (local.get $outWidth)))
            (local.set $p (i32.add (local.get $row) (i32.mul (i32.load (local.get $b)) (local.get $ch))))
            (local.set $t (i32.shr_u (i32.add (i32.load offset=4 (local.get $b)) (i32.const 1)) (i32.const 1)))
            (local.set $k (local.get $kRow))
            (local.set $acc (local.get $half))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.eqz (local.get $t)))
                (local.set $acc
                  (i32x4.add (local.get $acc)
                    (i32x4.dot_i16x8_s
                      (i8x16.swizzle (v128.load64_zero (local.get $p)) (local.get $mask))
                      (v128.load32_splat (local.get $k)))))
                (local.set $p (i32.add (local.get $p) (local.get $step)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tLoop)))
            (local.set $acc (i32x4.shr_s (local.get $acc) (local.get $precision)))
            (local.set $acc (i16x8.narrow_i32x4_s (local.get $acc) (local.get $acc)))
            (v128.store32_lane 0 (local.get $o) (i8x16.narrow_i16x8_u (local.get $acc) (local.get $acc)))
            (local.set $o (i32.add (local.get $o) (local.get $ch)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $kRow (i32.add (local.get $kRow) (local.get $kStep)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $xLoop)))
        (local.set $row (i32.add (local.get $row) (local.get $srcStride)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowsLoop))))

;; Pillow's 22-bit weights, two taps per step all the same: each weight w is split as w = hi * 2^11 + lo with
  ;; 0 <= lo < 2^11 (both fit in int16), and the sum is (sum of pixel * hi) * 2^11 + sum of pixel * lo — the same
  ;; int32 as Pillow's, by two i32x4.dot_i16x8_s. Step j of output pixel xx is 8 bytes at
  ;; $weights + (xx*$kpairs + j)*8: the lo pair, then the hi pair (each as in horizontalPairs).
  ;; Four rows at a time share each output pixel's window and weights (rows past the last repeat it, writing the same
  ;; bytes again). A 3-channel pixel is stored as 4 bytes, the extra one overwritten by the next pixel, except the
  ;; row's last, stored as exactly 3: its extra byte would land on the next row's first pixel, already written.
  (func (export "horizontalSplitPairs")
    (param $src i32) (param $srcStride i32) (param $ch i32) (param $rows i32)
    (param $dst i32) (param $outWidth i32) (param $bounds i32) (param $weights i32) (param $kpairs i32) (param $precision i32)
    (local $row i32) (local $y i32) (local $xx i32) (local $b i32) (local $p i32) (local $t i32)
    (local $k i32) (local $kRow i32) (local $kStep i32) (local $o i32) (local $step i32) (local $outStride i32)
    (local $left i32) (local $wide i32)
    (local $d1 i32) (local $e1 i32) (local $d2 i32) (local $e2 i32) (local $d3 i32) (local $e3 i32)
    (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128) (local $lo2 v128) (local $hi2 v128) (local $lo3 v128) (local $hi3 v128)
    (local $px v128) (local $wl v128) (local $wh v128) (local $half v128) (local $mask v128)
    (local.set $half (i32x4.splat (i32.shl (i32.const 1) (i32.sub (local.get $precision) (i32.const 1)))))
    (local.set $kStep (i32.shl (local.get $kpairs) (i32.const 3)))
    (local.set $step (i32.shl (local.get $ch) (i32.const 1)))
    (local.set $outStride (i32.mul (local.get $outWidth) (local.get $ch)))
    ;; Pixels before this one are stored as 4 bytes (all but a 3-channel row's last).
    (local.set $wide (select (local.get $outWidth) (i32.sub (local.get $outWidth) (i32.const 1))
      (i32.eq (local.get $ch) (i32.const 4))))
    (local.set $mask
      (select (result v128)
        (v128.const i8x16 0 255 4 255 1 255 5 255 2 255 6 255 3 255 7 255)
        (v128.const i8x16 0 255 3 255 1 255 4 255 2 255 5 255 255 255 255 255)
        (i32.eq (local.get $ch) (i32.const 4))))
    (local.set $row (local.get $src))
    (local.set $o (local.get $dst))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $rows)))
        ;; Row y + i, or the last row when there is none: offsets min(i, rows - 1 - y) rows on.
        (local.set $left (i32.sub (i32.sub (local.get $rows) (local.get $y)) (i32.const 1)))
        (local.set $d1 (i32.mul (select (i32.const 1) (local.get $left) (i32.le_u (i32.const 1) (local.get $left))) (local.get $srcStride)))
        (local.set $e1 (i32.mul (select (i32.const 1) (local.get $left) (i32.le_u (i32.const 1) (local.get $left))) (local.get $outStride)))
        (local.set $d2 (i32.mul (select (i32.const 2) (local.get $left) (i32.le_u (i32.const 2) (local.get $left))) (local.get $srcStride)))
        (local.set $e2 (i32.mul (select (i32.const 2) (local.get $left) (i32.le_u (i32.const 2) (local.get $left))) (local.get $outStride)))
        (local.set $d3 (i32.mul (select (i32.const 3) (local.get $left) (i32.le_u (i32.const 3) (local.get $left))) (local.get $srcStride)))
        (local.set $e3 (i32.mul (select (i32.const 3) (local.get $left) (i32.le_u (i32.const 3) (local.get $left))) (local.get $outStride)))
        (local.set $xx (i32.const 0))
        (local.set $b (local.get $bounds))
        (local.set $kRow (local.get $weights))
        (block $xDone
          (loop $xLoop
            (br_if $xDone (i32.ge_u (local.get $xx) (local.get $outWidth)))
            (local.set $p (i32.add (local.get $row) (i32.mul (i32.load (local.get $b)) (local.get $ch))))
            (local.set $t (i32.shr_u (i32.add (i32.load offset=4 (local.get $b)) (i32.const 1)) (i32.const 1)))
            (local.set $k (local.get $kRow))
            (local.set $lo0 (local.get $half))
            (local.set $hi0 (v128.const i32x4 0 0 0 0))
            (local.set $lo1 (local.get $half))
            (local.set $hi1 (v128.const i32x4 0 0 0 0))
            (local.set $lo2 (local.get $half))
            (local.set $hi2 (v128.const i32x4 0 0 0 0))
            (local.set $lo3 (local.get $half))
            (local.set $hi3 (v128.const i32x4 0 0 0 0))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.eqz (local.get $t)))
                (local.set $wl (v128.load32_splat (local.get $k)))
                (local.set $wh (v128.load32_splat offset=4 (local.get $k)))
                (local.set $px (i8x16.swizzle (v128.load64_zero (local.get $p)) (local.get $mask)))
                (local.set $lo0 (i32x4.add (local.get $lo0) (i32x4.dot_i16x8_s (local.get $px) (local.get $wl))))
                (local.set $hi0 (i32x4.add (local.get $hi0) (i32x4.dot_i16x8_s (local.get $px) (local.get $wh))))
                (local.set $px (i8x16.swizzle (v128.load64_zero (i32.add (local.get $p) (local.get $d1))) (local.get $mask)))
                (local.set $lo1 (i32x4.add (local.get $lo1) (i32x4.dot_i16x8_s (local.get $px) (local.get $wl))))
                (local.set $hi1 (i32x4.add (local.get $hi1) (i32x4.dot_i16x8_s (local.get $px) (local.get $wh))))
                (local.set $px (i8x16.swizzle (v128.load64_zero (i32.add (local.get $p) (local.get $d2))) (local.get $mask)))
                (local.set $lo2 (i32x4.add (local.get $lo2) (i32x4.dot_i16x8_s (local.get $px) (local.get $wl))))
                (local.set $hi2 (i32x4.add (local.get $hi2) (i32x4.dot_i16x8_s (local.get $px) (local.get $wh))))
                (local.set $px (i8x16.swizzle (v128.load64_zero (i32.add (local.get $p) (local.get $d3))) (local.get $mask)))
                (local.set $lo3 (i32x4.add (local.get $lo3) (i32x4.dot_i16x8_s (local.get $px) (local.get $wl))))
                (local.set $hi3 (i32x4.add (local.get $hi3) (i32x4.dot_i16x8_s (local.get $px) (local.get $wh))))
                (local.set $p (i32.add (local.get $p) (local.get $step)))
                (local.set $k (i32.add (local.get $k) (i32.const 8)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tLoop)))
            (local.set $lo0
              (i32x4.shr_s (i32x4.add (local.get $lo0) (i32x4.shl (local.get $hi0) (i32.const 11))) (local.get $precision)))
            (local.set $lo0 (i16x8.narrow_i32x4_s (local.get $lo0) (local.get $lo0)))
            (local.set $lo0 (i8x16.narrow_i16x8_u (local.get $lo0) (local.get $lo0)))
            (local.set $lo1
              (i32x4.shr_s (i32x4.add (local.get $lo1) (i32x4.shl (local.get $hi1) (i32.const 11))) (local.get $precision)))
            (local.set $lo1 (i16x8.narrow_i32x4_s (local.get $lo1) (local.get $lo1)))
            (local.set $lo1 (i8x16.narrow_i16x8_u (local.get $lo1) (local.get $lo1)))
            (local.set $lo2
              (i32x4.shr_s (i32x4.add (local.get $lo2) (i32x4.shl (local.get $hi2) (i32.const 11))) (local.get $precision)))
            (local.set $lo2 (i16x8.narrow_i32x4_s (local.get $lo2) (local.get $lo2)))
            (local.set $lo2 (i8x16.narrow_i16x8_u (local.get $lo2) (local.get $lo2)))
            (local.set $lo3
              (i32x4.shr_s (i32x4.add (local.get $lo3) (i32x4.shl (local.get $hi3) (i32.const 11))) (local.get $precision)))
            (local.set $lo3 (i16x8.narrow_i32x4_s (local.get $lo3) (local.get $lo3)))
            (local.set $lo3 (i8x16.narrow_i16x8_u (local.get $lo3) (local.get $lo3)))
            (if (i32.lt_u (local.get $xx) (local.get $wide))
              (then
                (v128.store32_lane 0 (local.get $o) (local.get $lo0))
                (v128.store32_lane 0 (i32.add (local.get $o) (local.get $e1)) (local.get $lo1))
                (v128.store32_lane 0 (i32.add (local.get $o) (local.get $e2)) (local.get $lo2))
                (v128.store32_lane 0 (i32.add (local.get $o) (local.get $e3)) (local.get $lo3))
              )
              (else
                (v128.store16_lane 0 (local.get $o) (local.get $lo0))
                (v128.store8_lane offset=2 2 (local.get $o) (local.get $lo0))
                (v128.store16_lane 0 (i32.add (local.get $o) (local.get $e1)) (local.get $lo1))
                (v128.store8_lane offset=2 2 (i32.add (local.get $o) (local.get $e1)) (local.get $lo1))
                (v128.store16_lane 0 (i32.add (local.get $o) (local.get $e2)) (local.get $lo2))
                (v128.store8_lane offset=2 2 (i32.add (local.get $o) (local.get $e2)) (local.get $lo2))
                (v128.store16_lane 0 (i32.add (local.get $o) (local.get $e3)) (local.get $lo3))
                (v128.store8_lane offset=2 2 (i32.add (local.get $o) (local.get $e3)) (local.get $lo3))
              ))
            (local.set $o (i32.add (local.get $o) (local.get $ch)))
            (local.set $b (i32.add (local.get $b) (i32.const 8)))
            (local.set $kRow (i32.add (local.get $kRow) (local.get $kStep)))
            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
            (br $xLoop)))
        ;; The group's rows are done: on to the next 4 (o already stands at the group's second row).
        (local.set $o (i32.add (local.get $o) (i32.mul (local.get $outStride) (i32.const 3))))
        (local.set $row (i32.add (local.get $row) (i32.mul (local.get $srcStride) (i32.const 4))))
        (local.set $y (i32.add (local.get $y) (i32.const 4)))
        (br $rowsLoop))))


  ;; Vertical pass, two source rows per step: their 16-byte blocks are interleaved byte by byte, widened to i16
  ;; pairs and dotted with the weight pair. The odd window's extra row is read from the caller's one-row slack.
  (func (export "verticalPairs")
    (param $src i32) (param $rowLen i32) (param $outRows i32) (param $dst i32)
    (param $bounds i32) (param $weights i32) (param $kpairs i32) (param $precision i32)
    (local $yy i32) (local $i i32) (local $base i32) (local $pairs i32) (local $t i32) (local $p i32) (local $k i32)
    (local $kRow i32) (local $o i32) (local $twoRows i32) (local $va v128) (local $vb v128) (local $lo v128)
    (local $hi v128) (local $ks v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $half v128)
    (local.set $half (i32x4.splat (i32.shl (i32.const 1) (i32.sub (local.get $precision) (i32.const 1)))))
    (local.set $twoRows (i32.shl (local.get $rowLen) (i32.const 1)))
    (block $rowsDone
      (loop $rowsLoop
        (br_if $rowsDone (i32.ge_u (local.get $yy) (local.get $outRows)))
        (local.set $base
          (i32.add (local.get $src)
            (i32.mul (i32.load (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (local.get $rowLen))))
        (local.set $pairs
          (i32.shr_u
            (i32.add (i32.load offset=4 (i32.add (local.get $bounds) (i32.shl (local.get $yy) (i32.const 3)))) (i32.const 1))
            (i32.const 1)))
        (local.set $kRow (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $yy) (local.get $kpairs)) (i32.const 2))))
        (local.set $o (i32.add (local.get $dst) (i32.mul (local.get $yy) (local.get $rowLen))))
        (local.set $i (i32.const 0))
        (block $iDone
          (loop $iLoop
            (br_if $iDone (i32.ge_u (local.get $i) (local.get $rowLen)))
            (local.set $a0 (local.get $half))
            (local.set $a1 (local.get $half))
            (local.set $a2 (local.get $half))
            (local.set $a3 (local.get $half))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $k (local.get $kRow))
            (local.set $t (local.get $pairs))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.eqz (local.get $t)))
                (local.set $va (v128.load (local.get $p)))
                (local.set $vb (v128.load (i32.add (local.get $p) (local.get $rowLen))))
                (local.set $ks (v128.load32_splat (local.get $k)))
                (local.set $lo (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $va) (local.get $vb)))
                (local.set $hi (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $va) (local.get $vb)))
                (local.set $a0 (i32x4.add (local.get $a0) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $lo)) (local.get $ks))))
                (local.set $a1 (i32x4.add (local.get $a1) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $lo)) (local.get $ks))))
                (local.set $a2 (i32x4.add (local.get $a2) (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_u (local.get $hi)) (local.get $ks))))
                (local.set $a3 (i32x4.add (local.get $a3) (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_u (local.get $hi)) (local.get $ks))))
                (local.set $p (i32.add (local.get $p) (local.get $twoRows)))
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (local.set $t (i32.sub (local.get $t) (i32.const 1)))
                (br $tLoop)))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (local.get $precision))
                  (i32x4.shr_s (local.get $a1) (local.get $precision)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (local.get $precision))
                  (i32x4.shr_s (local.get $a3) (local.get $precision)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $iLoop)))
        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
        (br $rowsLoop))))

  ;; Tensor from RGB bytes: output channel k of pixel i is the int32 (a float32's bits) at lut[ck * 256 + byte],
  ;; byte = src[3i + ck], with c0 = $c0, c1 = 1, c2 = $c2 (0 and 2 for RGB, swapped for BGR; the table of a colour
  ;; goes with its byte). Channel k of pixel i goes to $dstK + i * $step: NCHW passes three planes and step 4, NHWC
  ;; one pixel's three floats and step 12. A table lookup, no arithmetic: the values are the caller's to the bit.
  (func (export "tensor")
    (param $src i32) (param $pixels i32) (param $lut i32) (param $c0 i32) (param $c2 i32)
    (param $dst0 i32) (param $dst1 i32) (param $dst2 i32) (param $step i32)
    (local $p i32) (local $end i32) (local $lut0 i32) (local $lut2 i32)
    (local.set $lut0 (i32.add (local.get $lut) (i32.shl (local.get $c0) (i32.const 10))))
    (local.set $lut2 (i32.add (local.get $lut) (i32.shl (local.get $c2) (i32.const 10))))
    (local.set $p (local.get $src))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $pixels) (i32.const 3))))
    (block $done
      (loop $pixelLoop
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (i32.store (local.get $dst0)
          (i32.load (i32.add (local.get $lut0)
            (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $c0))) (i32.const 2)))))
        (i32.store (local.get $dst1)
          (i32.load offset=1024 (i32.add (local.get $lut)
            (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 2)))))
        (i32.store (local.get $dst2)
          (i32.load (i32.add (local.get $lut2)
            (i32.shl (i32.load8_u (i32.add (local.get $p) (local.get $c2))) (i32.const 2)))))
        (local.set $dst0 (i32.add (local.get $dst0) (local.get $step)))
        (local.set $dst1 (i32.add (local.get $dst1) (local.get $step)))
        (local.set $dst2 (i32.add (local.get $dst2) (local.get $step)))
        (local.set $p (i32.add (local.get $p) (i32.const 3)))
        (br $pixelLoop))))

  ;; Tensor from RGB bytes by arithmetic, NCHW: byte b of each pixel (b = 0, 1, 2) gives
  ;; ((byte / divisor_b) - mean_b) / std_b in float32, the three constants of byte b at $consts + 12b, into the plane
  ;; at $dstB (each float's bits exactly those of the same float32 operations done one at a time: WebAssembly rounds
  ;; every operation, and never fuses them). Sixteen pixels a step: their 48 bytes are sorted into three planes of 16.
  (func (export "tensorQuotients")
    (param $src i32) (param $pixels i32) (param $consts i32) (param $dst0 i32) (param $dst1 i32) (param $dst2 i32)
    (local $p i32) (local $end i32) (local $bulkEnd i32) (local $o i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $bytes v128) (local $wide v128)
    (local $s0 v128) (local $m0 v128) (local $d0 v128) (local $s1 v128) (local $m1 v128) (local $d1 v128) (local $s2 v128) (local $m2 v128) (local $d2 v128)
    (local.set $s0 (v128.load32_splat offset=0 (local.get $consts)))
    (local.set $m0 (v128.load32_splat offset=4 (local.get $consts)))
    (local.set $d0 (v128.load32_splat offset=8 (local.get $consts)))
    (local.set $s1 (v128.load32_splat offset=12 (local.get $consts)))
    (local.set $m1 (v128.load32_splat offset=16 (local.get $consts)))
    (local.set $d1 (v128.load32_splat offset=20 (local.get $consts)))
    (local.set $s2 (v128.load32_splat offset=24 (local.get $consts)))
    (local.set $m2 (v128.load32_splat offset=28 (local.get $consts)))
    (local.set $d2 (v128.load32_splat offset=32 (local.get $consts)))
    (local.set $p (local.get $src))
    (local.set $end (i32.add (local.get $src) (i32.mul (local.get $pixels) (i32.const 3))))
    (local.set $bulkEnd (i32.add (local.get $src) (i32.mul (i32.and (local.get $pixels) (i32.const -16)) (i32.const 3))))
    (local.set $o (i32.const 0))
    (block $bulkDone
      (loop $bulk
        (br_if $bulkDone (i32.ge_u (local.get $p) (local.get $bulkEnd)))
        (local.set $v0 (v128.load (local.get $p)))
        (local.set $v1 (v128.load offset=16 (local.get $p)))
        (local.set $v2 (v128.load offset=32 (local.get $p)))
        (local.set $bytes
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 17 20 23 26 29
            (i8x16.shuffle 0 3 6 9 12 15 18 21 24 27 30 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=0 (i32.add (local.get $dst0) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s0)) (local.get $m0))
            (local.get $d0)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=16 (i32.add (local.get $dst0) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s0)) (local.get $m0))
            (local.get $d0)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=32 (i32.add (local.get $dst0) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s0)) (local.get $m0))
            (local.get $d0)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=48 (i32.add (local.get $dst0) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s0)) (local.get $m0))
            (local.get $d0)))
        (local.set $bytes
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 18 21 24 27 30
            (i8x16.shuffle 1 4 7 10 13 16 19 22 25 28 31 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=0 (i32.add (local.get $dst1) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s1)) (local.get $m1))
            (local.get $d1)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=16 (i32.add (local.get $dst1) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s1)) (local.get $m1))
            (local.get $d1)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=32 (i32.add (local.get $dst1) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s1)) (local.get $m1))
            (local.get $d1)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=48 (i32.add (local.get $dst1) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s1)) (local.get $m1))
            (local.get $d1)))
        (local.set $bytes
          (i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 16 19 22 25 28 31
            (i8x16.shuffle 2 5 8 11 14 17 20 23 26 29 0 0 0 0 0 0 (local.get $v0) (local.get $v1))
            (local.get $v2)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=0 (i32.add (local.get $dst2) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s2)) (local.get $m2))
            (local.get $d2)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_low_i8x16_u (local.get $bytes))))
        (v128.store offset=16 (i32.add (local.get $dst2) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s2)) (local.get $m2))
            (local.get $d2)))
        (local.set $wide (i32x4.extend_low_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=32 (i32.add (local.get $dst2) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s2)) (local.get $m2))
            (local.get $d2)))
        (local.set $wide (i32x4.extend_high_i16x8_u (i16x8.extend_high_i8x16_u (local.get $bytes))))
        (v128.store offset=48 (i32.add (local.get $dst2) (local.get $o))
          (f32x4.div
            (f32x4.sub (f32x4.div (f32x4.convert_i32x4_s (local.get $wide)) (local.get $s2)) (local.get $m2))
            (local.get $d2)))
        (local.set $o (i32.add (local.get $o) (i32.const 64)))
        (local.set $p (i32.add (local.get $p) (i32.const 48)))
        (br $bulk)))
    ;; The last pixels (fewer than 16), one at a time with the same operations.
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $p) (local.get $end)))
        (f32.store (i32.add (local.get $dst0) (local.get $o))
          (f32.div
            (f32.sub
              (f32.div (f32.convert_i32_s (i32.load8_u offset=0 (local.get $p))) (f32.load offset=0 (local.get $consts)))
              (f32.load offset=4 (local.get $consts)))
            (f32.load offset=8 (local.get $consts))))
        (f32.store (i32.add (local.get $dst1) (local.get $o))
          (f32.div
            (f32.sub
              (f32.div (f32.convert_i32_s (i32.load8_u offset=1 (local.get $p))) (f32.load offset=12 (local.get $consts)))
              (f32.load offset=16 (local.get $consts)))
            (f32.load offset=20 (local.get $consts))))
        (f32.store (i32.add (local.get $dst2) (local.get $o))
          (f32.div
            (f32.sub
              (f32.div (f32.convert_i32_s (i32.load8_u offset=2 (local.get $p))) (f32.load offset=24 (local.get $consts)))
              (f32.load offset=28 (local.get $consts)))
            (f32.load offset=32 (local.get $consts))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $p (i32.add (local.get $p) (i32.const 3)))
        (br $tail))))

)
