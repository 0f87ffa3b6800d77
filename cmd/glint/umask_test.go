//go:build unix

package main

import "syscall"

// The tests run under umask 077, as a service holding biometric data
// should. Glint refuses a data directory that group or others may enter
// (privateDir), and t.TempDir makes its directories 0777 less the umask:
// under the usual 022 every test that serves from a t.TempDir would be
// refused. Tests of the refusal set the modes they need explicitly, and
// withUmask changes the umask for one test.
func init() { syscall.Umask(0o077) }
