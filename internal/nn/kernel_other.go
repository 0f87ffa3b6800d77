//go:build !amd64 || purego

package nn

// kernels is the set of kernels the layers use: in this build, the
// portable one.
var kernels = &goKernels

// kernelImpls lists the kernel sets this build can run.
func kernelImpls() []*kernelImpl { return []*kernelImpl{&goKernels} }
