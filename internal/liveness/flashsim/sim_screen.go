package flashsim

import (
	"math"
	"math/rand/v2"
	"time"
)

// moire is what filming a screen adds to the replayed picture: the
// screen's pixel grid beating against the sensor's as a fine interference
// pattern, coloured because the screen's red, green and blue subpixels sit
// side by side, slowly drifting as the two grids shift against each
// other; and the screen's refresh, not locked to the camera's exposure,
// as horizontal bands rolling through the picture. Both multiply the
// replayed light.
type moire struct {
	gratings [2]grating
	// chroma is the phase step between the colour channels' fringes.
	chroma float64
	// Refresh bands: amplitude, vertical period (output pixels), roll
	// rate (periods per second) and phase.
	bandAmp, bandPeriod, bandRate, bandPhase float64
	buf                                      []float32
}

// grating is one sinusoidal fringe pattern.
type grating struct {
	fx, fy float64 // cycles per output pixel
	amp    float64
	phase  float64 // radians
	rate   float64 // drift, cycles per second
}

// drawMoire draws a filmed screen's pattern. Ranges: the fringes' total
// amplitude 3–15 % (a few per cent when the screen is slightly out of
// focus, up to about 15 % in focus), split between two gratings of period
// 3–12 output pixels (the window's scale, about 24 pixels between the
// eyes) in any direction, each drifting 0.1–1 period per second; the
// channels' fringes offset by up to a third of a period; refresh bands of
// 1–5 %, 40–200 pixels apart, rolling at 0.3–3 periods per second either
// way (the beat between a 60 Hz screen and a 15–30 fps camera's exposure).
func drawMoire(r *rand.Rand) *moire {
	u := func(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
	sign := func() float64 {
		if r.IntN(2) == 0 {
			return -1
		}
		return 1
	}
	m := &moire{}
	total := u(0.03, 0.15)
	share := u(0.5, 1)
	for i := range m.gratings {
		g := &m.gratings[i]
		f := 1 / u(3, 12)
		a := u(0, math.Pi)
		g.fx, g.fy = f*math.Cos(a), f*math.Sin(a)
		g.phase = u(0, 2*math.Pi)
		g.rate = sign() * u(0.1, 1)
		if i == 0 {
			g.amp = total * share
		} else {
			g.amp = total * (1 - share)
		}
	}
	m.chroma = u(0, 2*math.Pi/3)
	m.bandAmp = u(0.01, 0.05)
	m.bandPeriod = u(40, 200)
	m.bandRate = sign() * u(0.3, 3)
	m.bandPhase = u(0, 2*math.Pi)
	return m
}

// pattern returns the multiplier of every output pixel and channel at
// time t into the sequence (develop's pat). The slice is reused.
func (m *moire) pattern(t time.Duration) []float32 {
	if m.buf == nil {
		m.buf = make([]float32, 3*FrameSide*FrameSide)
	}
	sec := t.Seconds()
	// cos(αx + βy + φ) = cos αx·cos(βy + φ) − sin αx·sin(βy + φ): the
	// x part is shared by every row.
	var cx, sx [2][FrameSide]float64
	for j, g := range m.gratings {
		for x := 0; x < FrameSide; x++ {
			a := 2 * math.Pi * g.fx * float64(x)
			cx[j][x], sx[j][x] = math.Cos(a), math.Sin(a)
		}
	}
	for y := 0; y < FrameSide; y++ {
		band := 1 + m.bandAmp*math.Sin(2*math.Pi*(float64(y)/m.bandPeriod-m.bandRate*sec)+m.bandPhase)
		var cy, sy [2][3]float64
		for j, g := range m.gratings {
			for k := 0; k < 3; k++ {
				b := 2*math.Pi*(g.fy*float64(y)+g.rate*sec) + g.phase + float64(k)*m.chroma
				cy[j][k], sy[j][k] = math.Cos(b), math.Sin(b)
			}
		}
		row := m.buf[3*y*FrameSide:]
		for x := 0; x < FrameSide; x++ {
			for k := 0; k < 3; k++ {
				v := 1.0
				for j, g := range m.gratings {
					v += g.amp * (cx[j][x]*cy[j][k] - sx[j][x]*sy[j][k])
				}
				row[3*x+k] = float32(v * band)
			}
		}
	}
	return m.buf
}
