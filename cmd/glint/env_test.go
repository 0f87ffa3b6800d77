package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

var errFlagsSeen = errors.New("flags seen")

// serveFlags runs glint serve with env and args up to its parsed flags,
// and returns them.
func serveFlags(t *testing.T, env map[string]string, args ...string) (*flag.FlagSet, error) {
	t.Helper()
	var got *flag.FlagSet
	c := &serveCommand{
		Main:    &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }},
		onFlags: func(fs *flag.FlagSet) error { got = fs; return errFlagsSeen },
	}
	err := c.Run(context.Background(), args)
	if errors.Is(err, errFlagsSeen) {
		err = nil
	}
	return got, err
}

// envValue is a value of f's type that differs from its default.
func envValue(f *flag.Flag) string {
	switch f.Value.(flag.Getter).Get().(type) {
	case bool:
		if f.DefValue == "true" {
			return "false"
		}
		return "true"
	case time.Duration:
		return "7m0s"
	case int, int64, uint, uint64, float64:
		return "7"
	default:
		return "from-env-" + f.Name
	}
}

// Every flag of glint serve, present and future, can be set from its
// GLINT_* variable, says so in its help, and is documented with it in the
// README's configuration table; a flag beats its variable.
func TestServeEnvEveryFlag(t *testing.T) {
	t.Parallel()
	fs, err := serveFlags(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { env[flagEnv(f.Name)] = envValue(f) })
	if len(env) < 17 {
		t.Fatalf("serve has %d flags, want at least 17", len(env))
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}

	fromEnv, err := serveFlags(t, env)
	if err != nil {
		t.Fatal(err)
	}
	fromEnv.VisitAll(func(f *flag.Flag) {
		name := flagEnv(f.Name)
		if got, want := f.Value.String(), env[name]; got != want {
			t.Errorf("--%s from %s=%s is %q", f.Name, name, want, got)
		}
		if !strings.Contains(f.Usage, "(env "+name+")") {
			t.Errorf("--%s: help %q does not name %s", f.Name, f.Usage, name)
		}
		if !strings.Contains(string(readme), "| `"+name+"`") {
			t.Errorf("README's configuration table lacks %s (--%s)", name, f.Name)
		}
	})

	// The command line wins: give every flag the default and its
	// variable something else.
	var args []string
	defaults := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		args = append(args, "--"+f.Name+"="+f.DefValue)
		defaults[f.Name] = f.DefValue
	})
	fromArgs, err := serveFlags(t, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	fromArgs.VisitAll(func(f *flag.Flag) {
		if got, want := f.Value.String(), defaults[f.Name]; got != want {
			t.Errorf("--%s=%s beside %s=%s: got %q", f.Name, want, flagEnv(f.Name), env[flagEnv(f.Name)], got)
		}
	})
}

// A variable whose value its flag's type refuses stops serve with an error
// naming the variable and what it wants, before anything is opened.
func TestServeEnvParseErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, value, want string
	}{
		{"GLINT_INSECURE_HTTP", "yes", "want a boolean"},
		{"GLINT_PUBLIC_METRICS", "on", "want a boolean"},
		{"GLINT_ADDRESS_ATTEMPT_INTERVAL", "60", "want a duration"},
		{"GLINT_ADDRESS_ATTEMPTS", "ten", "want a whole number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			_, _, err := run(t, map[string]string{"GLINT_DATA": dir, tt.name: tt.value}, "serve")
			if err == nil || !strings.Contains(err.Error(), tt.name+`="`+tt.value+`"`) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%s=%s: %v, want an error naming it and saying %q", tt.name, tt.value, err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the data directory was used: %v", entries)
			}
		})
	}
	// A valid value passes on to the flag's own checks.
	if _, _, err := run(t, map[string]string{"GLINT_ADDRESS_ATTEMPTS": "0"}, "serve"); !errors.Is(err, errUsage) {
		t.Errorf("GLINT_ADDRESS_ATTEMPTS=0: %v, want the usage error of --address-attempts", err)
	}
}

func TestFlagEnv(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"listen": "GLINT_LISTEN", "sdk-host": "GLINT_SDK_HOST", "address-attempt-interval": "GLINT_ADDRESS_ATTEMPT_INTERVAL",
		"pepper-file": "GLINT_PEPPER_FILE",
	} {
		if got := flagEnv(name); got != want {
			t.Errorf("flagEnv(%q) = %s, want %s", name, got, want)
		}
	}
}
