//go:build amd64 && !purego

#include "textflag.h"

DATA six<>+0(SB)/4, $0x40c00000 // 6.0
GLOBL six<>(SB), RODATA|NOPTR, $4

// The 6×16 GEMM micro-kernels: twelve YMM accumulators, C[i][0:8] in
// Y(2i) and C[i][8:16] in Y(2i+1). Each k step loads one 16-wide row of
// the packed B panel into B_LO/B_HI and broadcasts the six A values of
// that column in turn: 12 FMAs per step. Zen 3 issues two FMAs a cycle
// with a 4-cycle latency, so twelve independent chains keep both units
// busy. The two kernels differ only in how they find A[i][p].

#define K_CNT  CX  // k steps left
#define B_PTR  DI  // &B[p][0] in the packed panel, 64 bytes per step

#define B_LO  Y12
#define B_HI  Y13
#define A_BC  Y14 // broadcast A[i][p]
#define T0    Y15

// acc(2i, 2i+1) += A_BC · (B_LO, B_HI) after broadcasting A[i][p] from src.
#define ROW(src, lo, hi) \
	VBROADCASTSS src, A_BC; \
	VFMADD231PS  B_LO, A_BC, lo; \
	VFMADD231PS  B_HI, A_BC, hi

#define ZERO12 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// Strided A: A[i][p] at A_ROW0 + i·RSA, advancing by CSA per step.
#define A_ROW0  SI  // &A[0][p]: rows 0..2 at +0, +RSA, +2·RSA
#define A_ROW3  R10 // &A[3][p]: rows 3..5 likewise
#define RSA     R8  // A row stride, bytes
#define CSA     R9  // A column (k) stride, bytes

// One k step with B at offsets (lo, hi), then advance A by one column.
#define KSTEP(lo, hi) \
	VMOVUPS lo(B_PTR), B_LO; \
	VMOVUPS hi(B_PTR), B_HI; \
	ROW((A_ROW0), Y0, Y1); \
	ROW((A_ROW0)(RSA*1), Y2, Y3); \
	ROW((A_ROW0)(RSA*2), Y4, Y5); \
	ROW((A_ROW3), Y6, Y7); \
	ROW((A_ROW3)(RSA*1), Y8, Y9); \
	ROW((A_ROW3)(RSA*2), Y10, Y11); \
	ADDQ    CSA, A_ROW0; \
	ADDQ    CSA, A_ROW3

// func kernelAVX2(k int, a []float32, rsa, csa int, b, c []float32, ldc int, bias, alpha []float32, flags int)
TEXT ·kernelAVX2(SB), NOSPLIT, $0-160
	MOVQ k+0(FP), K_CNT
	MOVQ a_base+8(FP), A_ROW0
	MOVQ rsa+32(FP), RSA
	SHLQ $2, RSA
	MOVQ csa+40(FP), CSA
	SHLQ $2, CSA
	MOVQ b_base+48(FP), B_PTR
	LEAQ (A_ROW0)(RSA*2), A_ROW3
	ADDQ RSA, A_ROW3             // A_ROW3 = A_ROW0 + 3·RSA
	ZERO12

	CMPQ K_CNT, $4
	JLT  tail

loop4:
	// Four k steps per branch: the loop overhead hides behind 48 FMAs.
	KSTEP(0, 32)
	KSTEP(64, 96)
	KSTEP(128, 160)
	KSTEP(192, 224)
	ADDQ $256, B_PTR
	SUBQ $4, K_CNT
	CMPQ K_CNT, $4
	JGE  loop4

tail:
	TESTQ K_CNT, K_CNT
	JLE   done

loop1:
	KSTEP(0, 32)
	ADDQ $64, B_PTR
	DECQ K_CNT
	JNZ  loop1

done:
	MOVQ c_base+72(FP), DX
	MOVQ ldc+96(FP), R12
	MOVQ bias_base+104(FP), BX
	MOVQ alpha_base+128(FP), R13
	MOVQ flags+152(FP), AX
	CALL kernelStore<>(SB)
	VZEROUPPER                   // no dirty upper halves for SSE code
	RET

// Indirect A: A[i][p] = x[rows[i]+offs[p]]: six row bases, one loaded
// offset per step.
#define OFF_PTR SI  // &offs[p]
#define OFF     AX  // offs[p], in floats
#define X_ROW0  R8  // &x[rows[0]]
#define X_ROW1  R9
#define X_ROW2  R10
#define X_ROW3  R11
#define X_ROW4  R12
#define X_ROW5  R13

#define KSTEP_IND(o, lo, hi) \
	MOVQ    o(OFF_PTR), OFF; \
	VMOVUPS lo(B_PTR), B_LO; \
	VMOVUPS hi(B_PTR), B_HI; \
	ROW((X_ROW0)(OFF*4), Y0, Y1); \
	ROW((X_ROW1)(OFF*4), Y2, Y3); \
	ROW((X_ROW2)(OFF*4), Y4, Y5); \
	ROW((X_ROW3)(OFF*4), Y6, Y7); \
	ROW((X_ROW4)(OFF*4), Y8, Y9); \
	ROW((X_ROW5)(OFF*4), Y10, Y11)

// func kernelIndirectAVX2(k int, x []float32, rows *[mr]int, offs []int, b, c []float32, ldc int, bias, alpha []float32, flags int)
TEXT ·kernelIndirectAVX2(SB), NOSPLIT, $0-176
	MOVQ k+0(FP), K_CNT
	MOVQ x_base+8(FP), DX
	MOVQ rows+32(FP), BX
	MOVQ 0(BX), X_ROW0
	LEAQ (DX)(X_ROW0*4), X_ROW0  // X_ROW0 = &x[rows[0]]
	MOVQ 8(BX), X_ROW1
	LEAQ (DX)(X_ROW1*4), X_ROW1
	MOVQ 16(BX), X_ROW2
	LEAQ (DX)(X_ROW2*4), X_ROW2
	MOVQ 24(BX), X_ROW3
	LEAQ (DX)(X_ROW3*4), X_ROW3
	MOVQ 32(BX), X_ROW4
	LEAQ (DX)(X_ROW4*4), X_ROW4
	MOVQ 40(BX), X_ROW5
	LEAQ (DX)(X_ROW5*4), X_ROW5
	MOVQ offs_base+40(FP), OFF_PTR
	MOVQ b_base+64(FP), B_PTR
	ZERO12

	CMPQ K_CNT, $4
	JLT  tail

loop4:
	KSTEP_IND(0, 0, 32)
	KSTEP_IND(8, 64, 96)
	KSTEP_IND(16, 128, 160)
	KSTEP_IND(24, 192, 224)
	ADDQ $32, OFF_PTR
	ADDQ $256, B_PTR
	SUBQ $4, K_CNT
	CMPQ K_CNT, $4
	JGE  loop4

tail:
	TESTQ K_CNT, K_CNT
	JLE   done

loop1:
	KSTEP_IND(0, 0, 32)
	ADDQ $8, OFF_PTR
	ADDQ $64, B_PTR
	DECQ K_CNT
	JNZ  loop1

done:
	MOVQ c_base+88(FP), DX
	MOVQ ldc+112(FP), R12
	MOVQ bias_base+120(FP), BX
	MOVQ alpha_base+144(FP), R13
	MOVQ flags+168(FP), AX
	CALL kernelStore<>(SB)
	VZEROUPPER
	RET

// The shared write-back of a 6×16 tile.
#define C_ROW0  DX  // &C[0][0]: rows 0..2 at +0, +LDC, +2·LDC
#define C_ROW3  R11 // &C[3][0]
#define LDC     R12 // C row stride: floats on entry, then bytes
#define BIAS    BX
#define ALPHA   R13
#define FLAGS   AX

// x = op(k, x) for all twelve accumulators. With k as the first source,
// VMAXPS/VMINPS return x when x is NaN, as the Go twin does.
#define ALL12(op, k) \
	op Y0, k, Y0; \
	op Y1, k, Y1; \
	op Y2, k, Y2; \
	op Y3, k, Y3; \
	op Y4, k, Y4; \
	op Y5, k, Y5; \
	op Y6, k, Y6; \
	op Y7, k, Y7; \
	op Y8, k, Y8; \
	op Y9, k, Y9; \
	op Y10, k, Y10; \
	op Y11, k, Y11

// x = max(x, 0) + alpha·min(x, 0), zero holding 0 and T0 scratch.
#define LEAKY(x, alpha, zero) \
	VMINPS      x, zero, T0; \
	VMAXPS      x, zero, x; \
	VFMADD231PS alpha, T0, x

// kernelStore<> finishes a tile: Y0..Y11 hold A·B; C_ROW0, LDC, BIAS,
// ALPHA and FLAGS are as the kernels' c, ldc, bias, alpha and flags.
// It clobbers C_ROW3 and Y12..Y15.
TEXT kernelStore<>(SB), NOSPLIT, $0
	SHLQ $2, LDC
	LEAQ (C_ROW0)(LDC*2), C_ROW3
	ADDQ LDC, C_ROW3             // C_ROW3 = C_ROW0 + 3·LDC

	TESTQ $1, FLAGS              // kAccumulate
	JZ    addbias

	// A later K block: C += acc.
	VADDPS (C_ROW0), Y0, Y0
	VADDPS 32(C_ROW0), Y1, Y1
	VADDPS (C_ROW0)(LDC*1), Y2, Y2
	VADDPS 32(C_ROW0)(LDC*1), Y3, Y3
	VADDPS (C_ROW0)(LDC*2), Y4, Y4
	VADDPS 32(C_ROW0)(LDC*2), Y5, Y5
	VADDPS (C_ROW3), Y6, Y6
	VADDPS 32(C_ROW3), Y7, Y7
	VADDPS (C_ROW3)(LDC*1), Y8, Y8
	VADDPS 32(C_ROW3)(LDC*1), Y9, Y9
	VADDPS (C_ROW3)(LDC*2), Y10, Y10
	VADDPS 32(C_ROW3)(LDC*2), Y11, Y11
	JMP    activate

addbias:
	// The first K block: C = bias + acc.
	VMOVUPS (BIAS), B_LO
	VMOVUPS 32(BIAS), B_HI
	VADDPS  B_LO, Y0, Y0
	VADDPS  B_HI, Y1, Y1
	VADDPS  B_LO, Y2, Y2
	VADDPS  B_HI, Y3, Y3
	VADDPS  B_LO, Y4, Y4
	VADDPS  B_HI, Y5, Y5
	VADDPS  B_LO, Y6, Y6
	VADDPS  B_HI, Y7, Y7
	VADDPS  B_LO, Y8, Y8
	VADDPS  B_HI, Y9, Y9
	VADDPS  B_LO, Y10, Y10
	VADDPS  B_HI, Y11, Y11

activate:
	SHRQ $1, FLAGS               // activation code, see kAct*
	ANDQ $3, FLAGS
	JZ   store
	VXORPS A_BC, A_BC, A_BC      // A_BC = 0
	CMPQ FLAGS, $2
	JLT  relu
	JEQ  relu6

	// kActAlpha: leaky ReLU and PReLU, one slope per column.
	VMOVUPS (ALPHA), B_LO
	VMOVUPS 32(ALPHA), B_HI
	LEAKY(Y0, B_LO, A_BC)
	LEAKY(Y1, B_HI, A_BC)
	LEAKY(Y2, B_LO, A_BC)
	LEAKY(Y3, B_HI, A_BC)
	LEAKY(Y4, B_LO, A_BC)
	LEAKY(Y5, B_HI, A_BC)
	LEAKY(Y6, B_LO, A_BC)
	LEAKY(Y7, B_HI, A_BC)
	LEAKY(Y8, B_LO, A_BC)
	LEAKY(Y9, B_HI, A_BC)
	LEAKY(Y10, B_LO, A_BC)
	LEAKY(Y11, B_HI, A_BC)
	JMP store

relu6:
	ALL12(VMAXPS, A_BC)          // x = max(0, x)
	VBROADCASTSS six<>(SB), B_LO
	ALL12(VMINPS, B_LO)          // x = min(6, x)
	JMP          store

relu:
	ALL12(VMAXPS, A_BC)

store:
	VMOVUPS Y0, (C_ROW0)
	VMOVUPS Y1, 32(C_ROW0)
	VMOVUPS Y2, (C_ROW0)(LDC*1)
	VMOVUPS Y3, 32(C_ROW0)(LDC*1)
	VMOVUPS Y4, (C_ROW0)(LDC*2)
	VMOVUPS Y5, 32(C_ROW0)(LDC*2)
	VMOVUPS Y6, (C_ROW3)
	VMOVUPS Y7, 32(C_ROW3)
	VMOVUPS Y8, (C_ROW3)(LDC*1)
	VMOVUPS Y9, 32(C_ROW3)(LDC*1)
	VMOVUPS Y10, (C_ROW3)(LDC*2)
	VMOVUPS Y11, 32(C_ROW3)(LDC*2)
	RET
