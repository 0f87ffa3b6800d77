package flashsim

import "math"

// ClopperPearson returns the exact two-sided confidence interval, at
// confidence level conf (0.95 for 95 %), of a proportion observed as k
// successes in n trials: the Clopper–Pearson interval, whose bounds are
// the proportions under which k or more (for the lower bound), k or fewer
// (for the upper) successes have probability (1 − conf)/2. It never
// undercovers, which matters for error rates measured at or near zero:
// 0 of 500 still allows up to 0.74 %. n ≤ 0 gives [0, 1].
func ClopperPearson(k, n int, conf float64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	k = max(0, min(k, n))
	alpha := (1 - conf) / 2
	lo, hi = 0, 1
	// P(X ≥ k | p) = I_p(k, n−k+1) and P(X ≤ k | p) = 1 − I_p(k+1, n−k).
	if k > 0 {
		lo = betaIncInv(float64(k), float64(n-k+1), alpha)
	}
	if k < n {
		hi = betaIncInv(float64(k+1), float64(n-k), 1-alpha)
	}
	return lo, hi
}

// betaInc is the regularized incomplete beta function I_x(a, b), for
// a, b > 0 and x in [0, 1]: the probability that a Beta(a, b) variable is
// at most x.
func betaInc(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	lbeta := func(a, b float64) float64 {
		la, _ := math.Lgamma(a)
		lb, _ := math.Lgamma(b)
		lab, _ := math.Lgamma(a + b)
		return la + lb - lab
	}
	// x^a (1−x)^b / B(a, b), the factor in front of the fraction.
	front := math.Exp(a*math.Log(x) + b*math.Log1p(-x) - lbeta(a, b))
	// The continued fraction converges fast below the mean of the
	// distribution; above it, I_x(a, b) = 1 − I_{1−x}(b, a) is used.
	if x < (a+1)/(a+b+2) {
		return front * betaFraction(a, b, x) / a
	}
	return 1 - front*betaFraction(b, a, 1-x)/b
}

// betaFraction evaluates the continued fraction of the incomplete beta
// function,
//
//	1 / (1 + d₁/(1 + d₂/(1 + …))),
//	d₂ₘ₊₁ = −(a+m)(a+b+m)·x / ((a+2m)(a+2m+1)),
//	d₂ₘ   = m(b−m)·x / ((a+2m−1)(a+2m)),
//
// by the modified Lentz method: the convergents are built up as running
// products, with tiny values standing in for zeros.
func betaFraction(a, b, x float64) float64 {
	const (
		tiny    = 1e-300
		eps     = 1e-15
		maxIter = 10000
	)
	guard := func(v float64) float64 {
		if math.Abs(v) < tiny {
			return tiny
		}
		return v
	}
	c := 1.0
	d := 1 / guard(1-(a+b)*x/(a+1))
	f := d
	for m := 1; m <= maxIter; m++ {
		fm := float64(m)
		// Even term.
		num := fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm))
		d = 1 / guard(1+num*d)
		c = guard(1 + num/c)
		f *= d * c
		// Odd term.
		num = -(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1))
		d = 1 / guard(1+num*d)
		c = guard(1 + num/c)
		step := d * c
		f *= step
		if math.Abs(step-1) < eps {
			break
		}
	}
	return f
}

// betaIncInv returns the x in [0, 1] with I_x(a, b) = p, by bisection:
// I_x is increasing in x, and 200 halvings take the bracket below any
// float64's spacing.
func betaIncInv(a, b, p float64) float64 {
	lo, hi := 0.0, 1.0
	for i := 0; i < 200 && hi-lo > 1e-16; i++ {
		mid := (lo + hi) / 2
		if betaInc(a, b, mid) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
