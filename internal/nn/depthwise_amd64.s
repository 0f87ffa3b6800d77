//go:build amd64 && !purego

#include "textflag.h"

DATA dwsix<>+0(SB)/4, $0x40c00000 // 6.0
GLOBL dwsix<>(SB), RODATA|NOPTR, $4

// The depthwise row kernel. Pixels go in groups of six, channels in blocks
// of 16 (twelve accumulators, Y(2i) and Y(2i+1) for pixel i) with a last
// block of 8 (Y0..Y5); each tap loads its filter vectors once and takes
// the input operand of every FMA straight from memory. Leftover pixels go
// one at a time with blocks of 32 channels in four accumulators, so that
// even a lone pixel has four independent FMA chains, then blocks of 8.
// Channel blocks are the inner loop: the lines of a group's windows stay in
// L1 from one block to the next.

#define PIX    BX  // pixels left
#define IN     SI  // &in[q·istep]: anchor of the current pixel (group)
#define OUT    DI  // &out[q·ostep]
#define IS     R8  // istep, bytes
#define OS     R9  // ostep, bytes
#define CH     CX  // channel offset of the block, bytes
#define OFFS   R10 // &offs[t]
#define FOFFS  R11 // &foffs[t]
#define TAPS   R12 // taps left
#define FBASE  R13 // &f[CH/4]
#define P0     AX  // input (then output) address for pixel 0 of a group
#define P3     DX  // same for pixel 3; scratch

#define ZERO  Y14
#define T0    Y15

// x = max(x, 0) + k·min(x, 0); with ZERO as the first source, NaN stays.
#define LEAKY(x, k) \
	VMINPS      x, ZERO, T0; \
	VMAXPS      x, ZERO, x; \
	VFMADD231PS k, T0, x

// Start a block: acc registers get the bias (the reference adds taps to
// the bias, in tap order), OFFS/FOFFS/TAPS/FBASE point at the tap lists.
#define TAPS_START \
	MOVQ  offs_base+48(FP), OFFS; \
	MOVQ  foffs_base+72(FP), FOFFS; \
	MOVQ  offs_len+56(FP), TAPS; \
	MOVQ  f_base+96(FP), FBASE; \
	ADDQ  CH, FBASE

#define TAPS_NEXT \
	ADDQ $8, OFFS; \
	ADDQ $8, FOFFS; \
	DECQ TAPS

// P0 = &in[anchor+offs[t]+ch]; P3 = P0 + 3·IS.
#define TAP_ADDR \
	MOVQ (OFFS), P0; \
	LEAQ (IN)(P0*4), P0; \
	ADDQ CH, P0; \
	LEAQ (P0)(IS*2), P3; \
	ADDQ IS, P3

// Channels left in bytes minus need; jumps to skip if fewer.
#define NEED(need, skip) \
	MOVQ nc+8(FP), P0; \
	SHLQ $2, P0; \
	SUBQ CH, P0; \
	CMPQ P0, $need; \
	JLT  skip

// func dwRowAVX2(n, nc int, in []float32, istep int, offs, foffs []int, f, out []float32, ostep int, bias, alpha []float32, flags int)
TEXT ·dwRowAVX2(SB), NOSPLIT, $0-208
	MOVQ n+0(FP), PIX
	MOVQ in_base+16(FP), IN
	MOVQ istep+40(FP), IS
	SHLQ $2, IS
	MOVQ out_base+120(FP), OUT
	MOVQ ostep+144(FP), OS
	SHLQ $2, OS

group:
	CMPQ PIX, $6
	JLT  single
	XORQ CH, CH

g16:
	NEED(64, g8)
	MOVQ    bias_base+152(FP), P0
	VMOVUPS (P0)(CH*1), Y0
	VMOVUPS 32(P0)(CH*1), Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y1, Y3
	VMOVAPS Y0, Y4
	VMOVAPS Y1, Y5
	VMOVAPS Y0, Y6
	VMOVAPS Y1, Y7
	VMOVAPS Y0, Y8
	VMOVAPS Y1, Y9
	VMOVAPS Y0, Y10
	VMOVAPS Y1, Y11
	TAPS_START
	TESTQ TAPS, TAPS
	JZ    g16_act

g16_tap:
	MOVQ    (FOFFS), P3
	VMOVUPS (FBASE)(P3*4), Y12     // filter, channels 0..7 of the block
	VMOVUPS 32(FBASE)(P3*4), Y13   // and 8..15
	TAP_ADDR
	VFMADD231PS (P0), Y12, Y0
	VFMADD231PS 32(P0), Y13, Y1
	VFMADD231PS (P0)(IS*1), Y12, Y2
	VFMADD231PS 32(P0)(IS*1), Y13, Y3
	VFMADD231PS (P0)(IS*2), Y12, Y4
	VFMADD231PS 32(P0)(IS*2), Y13, Y5
	VFMADD231PS (P3), Y12, Y6
	VFMADD231PS 32(P3), Y13, Y7
	VFMADD231PS (P3)(IS*1), Y12, Y8
	VFMADD231PS 32(P3)(IS*1), Y13, Y9
	VFMADD231PS (P3)(IS*2), Y12, Y10
	VFMADD231PS 32(P3)(IS*2), Y13, Y11
	TAPS_NEXT
	JNZ g16_tap

g16_act:
	MOVQ flags+200(FP), P0
	SHRQ $1, P0                  // activation code, see kAct*
	ANDQ $3, P0
	JZ   g16_store
	VXORPS ZERO, ZERO, ZERO
	CMPQ P0, $2
	JLT  g16_relu
	JEQ  g16_relu6
	MOVQ alpha_base+176(FP), P0
	VMOVUPS 0(P0)(CH*1), Y12
	VMOVUPS 32(P0)(CH*1), Y13
	LEAKY(Y0, Y12)
	LEAKY(Y1, Y13)
	LEAKY(Y2, Y12)
	LEAKY(Y3, Y13)
	LEAKY(Y4, Y12)
	LEAKY(Y5, Y13)
	LEAKY(Y6, Y12)
	LEAKY(Y7, Y13)
	LEAKY(Y8, Y12)
	LEAKY(Y9, Y13)
	LEAKY(Y10, Y12)
	LEAKY(Y11, Y13)
	JMP  g16_store

g16_relu6:
	VBROADCASTSS dwsix<>(SB), T0
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3
	VMAXPS Y4, ZERO, Y4
	VMAXPS Y5, ZERO, Y5
	VMAXPS Y6, ZERO, Y6
	VMAXPS Y7, ZERO, Y7
	VMAXPS Y8, ZERO, Y8
	VMAXPS Y9, ZERO, Y9
	VMAXPS Y10, ZERO, Y10
	VMAXPS Y11, ZERO, Y11
	VMINPS Y0, T0, Y0
	VMINPS Y1, T0, Y1
	VMINPS Y2, T0, Y2
	VMINPS Y3, T0, Y3
	VMINPS Y4, T0, Y4
	VMINPS Y5, T0, Y5
	VMINPS Y6, T0, Y6
	VMINPS Y7, T0, Y7
	VMINPS Y8, T0, Y8
	VMINPS Y9, T0, Y9
	VMINPS Y10, T0, Y10
	VMINPS Y11, T0, Y11
	JMP  g16_store

g16_relu:
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3
	VMAXPS Y4, ZERO, Y4
	VMAXPS Y5, ZERO, Y5
	VMAXPS Y6, ZERO, Y6
	VMAXPS Y7, ZERO, Y7
	VMAXPS Y8, ZERO, Y8
	VMAXPS Y9, ZERO, Y9
	VMAXPS Y10, ZERO, Y10
	VMAXPS Y11, ZERO, Y11

g16_store:
	LEAQ (OUT)(CH*1), P0
	LEAQ (P0)(OS*2), P3
	ADDQ OS, P3
	VMOVUPS Y0, (P0)
	VMOVUPS Y1, 32(P0)
	VMOVUPS Y2, (P0)(OS*1)
	VMOVUPS Y3, 32(P0)(OS*1)
	VMOVUPS Y4, (P0)(OS*2)
	VMOVUPS Y5, 32(P0)(OS*2)
	VMOVUPS Y6, (P3)
	VMOVUPS Y7, 32(P3)
	VMOVUPS Y8, (P3)(OS*1)
	VMOVUPS Y9, 32(P3)(OS*1)
	VMOVUPS Y10, (P3)(OS*2)
	VMOVUPS Y11, 32(P3)(OS*2)
	ADDQ $64, CH
	JMP  g16

g8:
	NEED(32, gnext)
	MOVQ    bias_base+152(FP), P0
	VMOVUPS (P0)(CH*1), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	VMOVAPS Y0, Y4
	VMOVAPS Y0, Y5
	TAPS_START
	TESTQ TAPS, TAPS
	JZ    g8_act

g8_tap:
	MOVQ    (FOFFS), P3
	VMOVUPS (FBASE)(P3*4), Y12
	TAP_ADDR
	VFMADD231PS (P0), Y12, Y0
	VFMADD231PS (P0)(IS*1), Y12, Y1
	VFMADD231PS (P0)(IS*2), Y12, Y2
	VFMADD231PS (P3), Y12, Y3
	VFMADD231PS (P3)(IS*1), Y12, Y4
	VFMADD231PS (P3)(IS*2), Y12, Y5
	TAPS_NEXT
	JNZ g8_tap

g8_act:
	MOVQ flags+200(FP), P0
	SHRQ $1, P0                  // activation code, see kAct*
	ANDQ $3, P0
	JZ   g8_store
	VXORPS ZERO, ZERO, ZERO
	CMPQ P0, $2
	JLT  g8_relu
	JEQ  g8_relu6
	MOVQ alpha_base+176(FP), P0
	VMOVUPS 0(P0)(CH*1), Y12
	LEAKY(Y0, Y12)
	LEAKY(Y1, Y12)
	LEAKY(Y2, Y12)
	LEAKY(Y3, Y12)
	LEAKY(Y4, Y12)
	LEAKY(Y5, Y12)
	JMP  g8_store

g8_relu6:
	VBROADCASTSS dwsix<>(SB), T0
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3
	VMAXPS Y4, ZERO, Y4
	VMAXPS Y5, ZERO, Y5
	VMINPS Y0, T0, Y0
	VMINPS Y1, T0, Y1
	VMINPS Y2, T0, Y2
	VMINPS Y3, T0, Y3
	VMINPS Y4, T0, Y4
	VMINPS Y5, T0, Y5
	JMP  g8_store

g8_relu:
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3
	VMAXPS Y4, ZERO, Y4
	VMAXPS Y5, ZERO, Y5

g8_store:
	LEAQ (OUT)(CH*1), P0
	LEAQ (P0)(OS*2), P3
	ADDQ OS, P3
	VMOVUPS Y0, (P0)
	VMOVUPS Y1, (P0)(OS*1)
	VMOVUPS Y2, (P0)(OS*2)
	VMOVUPS Y3, (P3)
	VMOVUPS Y4, (P3)(OS*1)
	VMOVUPS Y5, (P3)(OS*2)
	ADDQ $32, CH
	JMP  g8

gnext:
	LEAQ (IS)(IS*2), P0
	LEAQ (IN)(P0*2), IN            // IN += 6·IS
	LEAQ (OS)(OS*2), P0
	LEAQ (OUT)(P0*2), OUT          // OUT += 6·OS
	SUBQ $6, PIX
	JMP  group

single:
	TESTQ PIX, PIX
	JLE   done
	XORQ  CH, CH

s32:
	NEED(128, s8)
	MOVQ    bias_base+152(FP), P0
	VMOVUPS (P0)(CH*1), Y0
	VMOVUPS 32(P0)(CH*1), Y1
	VMOVUPS 64(P0)(CH*1), Y2
	VMOVUPS 96(P0)(CH*1), Y3
	TAPS_START
	TESTQ TAPS, TAPS
	JZ    s32_act

s32_tap:
	MOVQ        (FOFFS), P3
	LEAQ        (FBASE)(P3*4), P3  // P3 = &f[foffs[t]+ch]
	MOVQ        (OFFS), P0
	LEAQ        (IN)(P0*4), P0
	ADDQ        CH, P0             // P0 = &in[anchor+offs[t]+ch]
	VMOVUPS     (P0), Y4
	VMOVUPS     32(P0), Y5
	VMOVUPS     64(P0), Y6
	VMOVUPS     96(P0), Y7
	VFMADD231PS (P3), Y4, Y0
	VFMADD231PS 32(P3), Y5, Y1
	VFMADD231PS 64(P3), Y6, Y2
	VFMADD231PS 96(P3), Y7, Y3
	TAPS_NEXT
	JNZ s32_tap

s32_act:
	MOVQ flags+200(FP), P0
	SHRQ $1, P0                  // activation code, see kAct*
	ANDQ $3, P0
	JZ   s32_store
	VXORPS ZERO, ZERO, ZERO
	CMPQ P0, $2
	JLT  s32_relu
	JEQ  s32_relu6
	MOVQ alpha_base+176(FP), P0
	VMOVUPS 0(P0)(CH*1), Y8
	VMOVUPS 32(P0)(CH*1), Y9
	VMOVUPS 64(P0)(CH*1), Y10
	VMOVUPS 96(P0)(CH*1), Y11
	LEAKY(Y0, Y8)
	LEAKY(Y1, Y9)
	LEAKY(Y2, Y10)
	LEAKY(Y3, Y11)
	JMP  s32_store

s32_relu6:
	VBROADCASTSS dwsix<>(SB), T0
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3
	VMINPS Y0, T0, Y0
	VMINPS Y1, T0, Y1
	VMINPS Y2, T0, Y2
	VMINPS Y3, T0, Y3
	JMP  s32_store

s32_relu:
	VMAXPS Y0, ZERO, Y0
	VMAXPS Y1, ZERO, Y1
	VMAXPS Y2, ZERO, Y2
	VMAXPS Y3, ZERO, Y3

s32_store:
	VMOVUPS Y0, (OUT)(CH*1)
	VMOVUPS Y1, 32(OUT)(CH*1)
	VMOVUPS Y2, 64(OUT)(CH*1)
	VMOVUPS Y3, 96(OUT)(CH*1)
	ADDQ    $128, CH
	JMP     s32

s8:
	NEED(32, snext)
	MOVQ    bias_base+152(FP), P0
	VMOVUPS (P0)(CH*1), Y0
	TAPS_START
	TESTQ TAPS, TAPS
	JZ    s8_act

s8_tap:
	MOVQ        (FOFFS), P3
	VMOVUPS     (FBASE)(P3*4), Y12
	MOVQ        (OFFS), P0
	LEAQ        (IN)(P0*4), P0
	VFMADD231PS (P0)(CH*1), Y12, Y0
	TAPS_NEXT
	JNZ s8_tap

s8_act:
	MOVQ flags+200(FP), P0
	SHRQ $1, P0                  // activation code, see kAct*
	ANDQ $3, P0
	JZ   s8_store
	VXORPS ZERO, ZERO, ZERO
	CMPQ P0, $2
	JLT  s8_relu
	JEQ  s8_relu6
	MOVQ alpha_base+176(FP), P0
	VMOVUPS 0(P0)(CH*1), Y12
	LEAKY(Y0, Y12)
	JMP  s8_store

s8_relu6:
	VBROADCASTSS dwsix<>(SB), T0
	VMAXPS Y0, ZERO, Y0
	VMINPS Y0, T0, Y0
	JMP  s8_store

s8_relu:
	VMAXPS Y0, ZERO, Y0

s8_store:
	VMOVUPS Y0, (OUT)(CH*1)
	ADDQ    $32, CH
	JMP     s8

snext:
	ADDQ IS, IN
	ADDQ OS, OUT
	DECQ PIX
	JMP  single

done:
	VZEROUPPER
	RET
