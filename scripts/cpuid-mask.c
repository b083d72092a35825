/*
 * LD_PRELOAD library for scripts/run-on-cpu.sh: makes the CPUID instruction of this process (and of every thread and
 * child that inherits LD_PRELOAD) report fewer features than the CPU has, so that code dispatching on CPUID
 * (onnxruntime's MLAS kernels) takes the path it takes on a CPU without them, at native speed.
 *
 * How: Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID 0, on CPUs and hypervisors that offer it: the `cpuid_fault`
 * flag) turns every CPUID into SIGSEGV. The handler runs the real CPUID with faulting briefly off, clears the bits of
 * the chosen profile, writes the registers back and steps over the instruction. The handler stays installed: the
 * library's sigaction() keeps what the program installs for SIGSEGV (Node's and V8's WebAssembly trap handler, for
 * instance) and reports it back, and every SIGSEGV that is not a CPUID goes to that handler (or the default action).
 *
 * CPUID_MASK_PROFILE selects what is hidden:
 *   avx2           AVX-512 (all of it, VNNI included), AVX-VNNI and AMX: an AVX2 CPU such as AMD EPYC Milan (Zen 3)
 *                  or Intel Haswell to Comet Lake;
 *   avx512-no-vnni AVX512_VNNI, AVX-VNNI, AMX and the AVX-512 extensions after Skylake-SP: Intel Skylake-SP.
 * The library does nothing when the variable is unset.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

struct mask {
  uint32_t leaf, subleaf;
  uint32_t eax, ebx, ecx, edx; /* bits to clear */
};

#define BIT(n) (1u << (n))
/* Leaf 7 subleaf 0 EBX: avx512f 16, dq 17, ifma 21, pf 26, er 27, cd 28, bw 30, vl 31. */
#define L7_EBX_AVX512 (BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31))
/* Leaf 7 subleaf 0 ECX: vbmi 1, vbmi2 6, vnni 11, bitalg 12, vpopcntdq 14. */
#define L7_ECX_AVX512 (BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
/* Leaf 7 subleaf 0 EDX: 4vnniw 2, 4fmaps 3, vp2intersect 8, amx_bf16 22, avx512_fp16 23, amx_tile 24, amx_int8 25. */
#define L7_EDX_AVX512 (BIT(2) | BIT(3) | BIT(8) | BIT(23))
#define L7_EDX_AMX (BIT(22) | BIT(24) | BIT(25))
/* Leaf 7 subleaf 1 EAX: avx_vnni 4, avx512_bf16 5, amx_fp16 21, avx_ifma 23; EDX: avx_vnni_int8 4, avx_vnni_int16 10. */
#define L71_EAX_VNNI (BIT(4) | BIT(23))
#define L71_EAX_AVX512 (BIT(5))
#define L71_EAX_AMX (BIT(21))
#define L71_EDX_VNNI (BIT(4) | BIT(10))

static const struct mask avx2[] = {
  {7, 0, 0, L7_EBX_AVX512, L7_ECX_AVX512, L7_EDX_AVX512 | L7_EDX_AMX},
  {7, 1, L71_EAX_VNNI | L71_EAX_AVX512 | L71_EAX_AMX, 0, 0, L71_EDX_VNNI},
};
static const struct mask avx512_no_vnni[] = {
  {7, 0, 0, BIT(21), L7_ECX_AVX512, L7_EDX_AVX512 | L7_EDX_AMX},
  {7, 1, L71_EAX_VNNI | L71_EAX_AVX512 | L71_EAX_AMX, 0, 0, L71_EDX_VNNI},
};

static const struct mask *profile;
static size_t profile_len;
static struct sigaction program; /* what the program installed for SIGSEGV, or what was there before */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);

static long cpuid_faulting(int on) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void on_segv(int sig, siginfo_t *info, void *context) {
  ucontext_t *uc = context;
  greg_t *regs = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
    uint32_t leaf = (uint32_t)regs[REG_RAX], subleaf = (uint32_t)regs[REG_RCX];
    uint32_t a, b, c, d;
    cpuid_faulting(0);
    __cpuid_count(leaf, subleaf, a, b, c, d);
    cpuid_faulting(1);
    for (size_t i = 0; i < profile_len; i++)
      if (profile[i].leaf == leaf && profile[i].subleaf == subleaf) {
        a &= ~profile[i].eax;
        b &= ~profile[i].ebx;
        c &= ~profile[i].ecx;
        d &= ~profile[i].edx;
      }
    regs[REG_RAX] = a;
    regs[REG_RBX] = b;
    regs[REG_RCX] = c;
    regs[REG_RDX] = d;
    regs[REG_RIP] += 2;
    return;
  }
  if (program.sa_flags & SA_SIGINFO && program.sa_sigaction) {
    program.sa_sigaction(sig, info, context);
  } else if (!(program.sa_flags & SA_SIGINFO) && program.sa_handler != SIG_DFL && program.sa_handler != SIG_IGN) {
    program.sa_handler(sig);
  } else {
    /* The fault happens again on return, now with the default action (a core dump), as without this library. */
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &fallback, NULL);
  }
}

int sigaction(int sig, const struct sigaction *action, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || !profile) return real_sigaction(sig, action, old);
  if (old) *old = program;
  if (action) program = *action;
  return 0;
}

__attribute__((constructor)) static void install(void) {
  const char *name = getenv("CPUID_MASK_PROFILE");
  if (!name || !*name) return;
  if (!strcmp(name, "avx2")) {
    profile = avx2;
    profile_len = sizeof avx2 / sizeof *avx2;
  } else if (!strcmp(name, "avx512-no-vnni")) {
    profile = avx512_no_vnni;
    profile_len = sizeof avx512_no_vnni / sizeof *avx512_no_vnni;
  } else {
    fprintf(stderr, "cpuid-mask: unknown CPUID_MASK_PROFILE %s (avx2, avx512-no-vnni)\n", name);
    _exit(2);
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  real_sigaction = (int (*)(int, const struct sigaction *, struct sigaction *))dlsym(RTLD_NEXT, "sigaction");
  if (!real_sigaction || real_sigaction(SIGSEGV, &action, &program) != 0) {
    fprintf(stderr, "cpuid-mask: cannot install the SIGSEGV handler\n");
    _exit(2);
  }
  if (cpuid_faulting(1) != 0) {
    /* A process whose CPUID is emulated anyway (a program under qemu-user, which has its own -cpu) runs unmasked,
     * saying so; scripts/run-on-cpu.sh requires faulting (CPUID_MASK_REQUIRED) for the command it starts. */
    real_sigaction(SIGSEGV, &program, NULL);
    profile = NULL;
    if (getenv("CPUID_MASK_REQUIRED")) {
      fprintf(stderr, "cpuid-mask: this kernel or CPU offers no CPUID faulting (arch_prctl ARCH_SET_CPUID)\n");
      _exit(2);
    }
    fprintf(stderr, "cpuid-mask: no CPUID faulting in this process: its CPUID is not masked\n");
  }
}
