// Package nn is Glint's small inference runtime: dense float32 tensors in
// NHWC layout and the layers the face models need (convolution, depthwise
// convolution, fully connected layers, pooling, element-wise ops,
// reductions, resizing and the shape ops: pad, concat, slice, transpose).
//
// Layers are built once at model load, when weights are folded (batch norm,
// per-channel scale) and packed for the GEMM micro-kernel; Forward then only
// reads them, so one layer may serve several goroutines at once.
package nn
