/* CPU features for the kernel dispatcher (dlfers._kernels.select_variant).
 *
 * dlfers_cpu_features() returns a bit mask of DLFERS_CPU_* flags, read with cpuid and,
 * for the AVX register state, xgetbv: AVX2 code may run only where the CPU has AVX2
 * (leaf 7 EBX bit 5) and FMA (leaf 1 ECX bit 12) and the operating system saves the YMM
 * registers on a context switch (leaf 1 ECX bit 27 OSXSAVE, then XCR0 bits 1 and 2).
 * On other architectures it returns 0.  This file is compiled with baseline flags only.
 */
#ifndef DLFERS_CPUID_H
#define DLFERS_CPUID_H

#define DLFERS_CPU_X86 1
#define DLFERS_CPU_AVX 2
#define DLFERS_CPU_FMA 4
#define DLFERS_CPU_AVX2 8
#define DLFERS_CPU_OS_YMM 16

#if defined(__x86_64__) || defined(_M_X64) || defined(_M_AMD64) || defined(__i386__) || defined(_M_IX86)
#if defined(_MSC_VER)
#include <intrin.h>
static void dlfers_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    int v[4];
    __cpuidex(v, (int)leaf, (int)sub);
    r[0] = (unsigned)v[0]; r[1] = (unsigned)v[1]; r[2] = (unsigned)v[2]; r[3] = (unsigned)v[3];
}
static unsigned long long dlfers_xcr0(void) { return (unsigned long long)_xgetbv(0); }
#else
#include <cpuid.h>
static void dlfers_cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
static unsigned long long dlfers_xcr0(void) {
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));  /* only after OSXSAVE is seen */
    return ((unsigned long long)hi << 32) | lo;
}
#endif

static int dlfers_cpu_features(void) {
    unsigned r[4];
    int out = DLFERS_CPU_X86;
    dlfers_cpuid(0, 0, r);
    unsigned max_leaf = r[0];
    if (max_leaf < 1) return out;
    dlfers_cpuid(1, 0, r);
    if (r[2] & (1u << 28)) out |= DLFERS_CPU_AVX;
    if (r[2] & (1u << 12)) out |= DLFERS_CPU_FMA;
    if ((r[2] & (1u << 27)) && (dlfers_xcr0() & 6u) == 6u) out |= DLFERS_CPU_OS_YMM;  /* OSXSAVE, XMM|YMM */
    if (max_leaf >= 7) {
        dlfers_cpuid(7, 0, r);
        if (r[1] & (1u << 5)) out |= DLFERS_CPU_AVX2;
    }
    return out;
}
#else
static int dlfers_cpu_features(void) { return 0; }
#endif

#endif /* DLFERS_CPUID_H */
