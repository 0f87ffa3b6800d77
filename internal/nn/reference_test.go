package nn

// The tests compare every fast path with the reference implementations,
// which read the unpacked weights.
func init() { keepReference = true }
