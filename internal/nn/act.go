package nn

import "math"

// ActKind names an activation fused into a layer's output.
type ActKind uint8

// The activations a layer can apply after its bias.
const (
	ActNone ActKind = iota
	ActRelu
	ActRelu6
	ActLeaky // x if x > 0, else Alpha·x
	ActPrelu // x if x > 0, else Alphas[c]·x (per output channel)
	ActSigmoid
	ActTanh
)

// Activation is the element-wise function applied after a layer's bias.
type Activation struct {
	Kind   ActKind
	Alpha  float32   // ActLeaky
	Alphas []float32 // ActPrelu, one per output channel
}

// Apply applies a to row, a run of values whose channel index starts at c0
// and advances by one per element modulo the channel count nc.
func (a Activation) Apply(row []float32, c0, nc int) {
	switch a.Kind {
	case ActNone:
	case ActRelu:
		for i, v := range row {
			if v < 0 {
				row[i] = 0
			}
		}
	case ActRelu6:
		for i, v := range row {
			row[i] = min(max(v, 0), 6)
		}
	case ActLeaky:
		for i, v := range row {
			if v < 0 {
				row[i] = v * a.Alpha
			}
		}
	case ActPrelu:
		c := c0
		for i, v := range row {
			if v < 0 {
				row[i] = v * a.Alphas[c]
			}
			if c++; c == nc {
				c = 0
			}
		}
	case ActSigmoid:
		for i, v := range row {
			row[i] = Sigmoid(v)
		}
	case ActTanh:
		for i, v := range row {
			row[i] = float32(math.Tanh(float64(v)))
		}
	}
}

// Sigmoid is the logistic function, computed in float64 so that large
// negative inputs do not overflow.
func Sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }
