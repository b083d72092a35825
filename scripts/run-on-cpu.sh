#!/usr/bin/env bash
# Runs one command as if this x86-64 machine's CPU lacked AVX-512 and VNNI, at native speed: the CPUID instruction
# (what onnxruntime's MLAS dispatches its int8 kernels on) and /proc/cpuinfo (what @mtailor/core reports) both leave
# those features out, for the command and everything it starts. The instructions still run on this machine's cores:
# the kernels chosen are those of the masked CPU, their speed is this microarchitecture's.
#
# Usage: scripts/run-on-cpu.sh [--cpu PROFILE] [--quiet] -- command [args…]
#   --cpu avx2            (default) no AVX-512 of any kind, no AVX-VNNI, no AMX: an AVX2 CPU such as AMD EPYC Milan
#                         (Zen 3, family 25 model 1) or Intel Haswell … Comet Lake;
#   --cpu avx512-no-vnni  AVX-512 F/CD/BW/DQ/VL without VNNI (nor AVX-VNNI, AMX, later AVX-512 extensions): Skylake-SP.
#   --quiet               no line on stderr saying what is hidden.
# Exit code: the command's; 2 with a message starting "run-on-cpu:" when this cannot be done here.
#
# How: scripts/cpuid-mask.c, compiled once with cc into $MTAILOR_CPU_MASK_CACHE (default ~/.cache/mtailor/run-on-cpu),
# is preloaded (LD_PRELOAD, inherited by child processes). It turns on Linux's CPUID faulting (the `cpuid_fault` CPU
# flag; KVM offers it to its guests) and answers each CPUID itself without the hidden bits. /proc/cpuinfo is replaced
# by a copy without the hidden flags in a private mount namespace (needs root; without it /proc/cpuinfo still shows
# the real flags, with a warning). Not hidden: the XCR0 register (xgetbv), which dispatchers only read
# after CPUID reported the feature; statically linked programs that never load the library.
# A KVM guest with `-cpu EPYC-Milan` would be the other way; on machines whose KVM is PVM (nested, no hardware
# virtualization) it cannot boot a stock kernel.
set -euo pipefail

die() {
  echo "run-on-cpu: $*" >&2
  exit 2
}

profile=avx2 quiet=0
while [ $# -gt 0 ]; do
  case $1 in
    --cpu) profile=${2:?--cpu needs a profile}; shift 2 ;;
    --quiet) quiet=1; shift ;;
    --) shift; break ;;
    *) die "unknown option $1 (usage: scripts/run-on-cpu.sh [--cpu avx2|avx512-no-vnni] [--quiet] -- command [args…])" ;;
  esac
done
[ $# -gt 0 ] || die "no command given (usage: scripts/run-on-cpu.sh [--cpu avx2|avx512-no-vnni] -- command [args…])"
case $profile in
  # The /proc/cpuinfo flags (Linux's names) of what scripts/cpuid-mask.c clears from CPUID for each profile.
  avx2) hidden='avx512[a-z0-9_]* avx_vnni[a-z0-9_]* avx_ifma amx_[a-z0-9_]*' ;;
  avx512-no-vnni) hidden='avx512ifma avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq avx512_bf16 avx512_fp16 avx512_vp2intersect avx512_4vnniw avx512_4fmaps avx_vnni[a-z0-9_]* avx_ifma amx_[a-z0-9_]*' ;;
  *) die "unknown --cpu $profile (avx2, avx512-no-vnni)" ;;
esac

[ "$(uname -m)" = x86_64 ] || die "needs an x86-64 machine (this is $(uname -m))"
flags=" $(grep -m1 '^flags' /proc/cpuinfo | sed 's/^[^:]*: //') "
[[ $flags == *" avx2 "* ]] || die "this CPU has no AVX2: there is nothing to show as an AVX2 CPU"
[[ $profile != avx512-no-vnni || $flags == *" avx512bw "* ]] || die "this CPU has no AVX-512BW to keep"
[[ $flags == *" cpuid_fault "* ]] || die "this CPU (or hypervisor) offers no CPUID faulting (no cpuid_fault flag)"

# The preloaded library, built once per source version.
src=$(dirname "$(realpath "$0")")/cpuid-mask.c
cache=${MTAILOR_CPU_MASK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mtailor/run-on-cpu}
lib=$cache/cpuid-mask-$(sha256sum "$src" | cut -c1-16).so
if [ ! -f "$lib" ]; then
  command -v cc >/dev/null || die "no C compiler (cc): install gcc (scripts/setup.sh does)"
  mkdir -p "$cache" || die "cannot create $cache"
  cc -O2 -shared -fPIC -Wall -Werror -o "$lib.$$" "$src" 2>"$cache/build.log" ||
    die "cannot compile $src: $(head -3 "$cache/build.log")"
  mv "$lib.$$" "$lib"
fi
CPUID_MASK_REQUIRED=1 CPUID_MASK_PROFILE=$profile LD_PRELOAD=$lib /bin/true 2>/dev/null ||
  die "CPUID faulting does not work here (arch_prctl ARCH_SET_CPUID failed)"

shown=$(printf '%s\n' $flags | grep -E -x "$(echo "$hidden" | sed 's/ /|/g')" | tr '\n' ' ' || true)
export CPUID_MASK_PROFILE=$profile
export LD_PRELOAD=$lib${LD_PRELOAD:+ $LD_PRELOAD}
mask_cpuinfo='
  copy=$(mktemp) && sed -E "/^flags/ s/ ($1)\b//g" /proc/cpuinfo >"$copy" && mount --bind "$copy" /proc/cpuinfo && rm "$copy" ||
    { echo "run-on-cpu: cannot replace /proc/cpuinfo" >&2; exit 2; }
  shift
  exec "$@"'
ns=(unshare --mount --propagation private)
"${ns[@]}" mount --bind /proc/cpuinfo /proc/cpuinfo 2>/dev/null || ns=()
if [ $quiet = 0 ]; then
  where="CPUID${ns:+ and /proc/cpuinfo}"
  echo "run-on-cpu: $where of this $(grep -m1 '^model name' /proc/cpuinfo | sed 's/^[^:]*: //') without ${shown:-nothing (none present) }(--cpu $profile)" >&2
  [ ${#ns[@]} -gt 0 ] || echo "run-on-cpu: WARNING: cannot mount in a private namespace here (not root?): /proc/cpuinfo still shows every flag" >&2
fi
if [ ${#ns[@]} -gt 0 ]; then
  exec "${ns[@]}" bash -c "$mask_cpuinfo" run-on-cpu "$(echo "$hidden" | sed 's/ /|/g')" "$@"
fi
exec "$@"
