package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// flagEnv returns the environment variable of the flag name: GLINT_ and
// the name in capitals with dashes as underscores (--sdk-host is
// GLINT_SDK_HOST). Every flag of glint serve has one (flagsFromEnv).
func flagEnv(name string) string {
	return "GLINT_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// flagsFromEnv sets every flag of fs whose environment variable (flagEnv)
// is non-empty to its value, so that a platform that configures services
// by their environment can set any of them. It runs before the command
// line is parsed, which then sets the flags it names again: a flag beats
// its variable. A value the flag's type refuses (a boolean, a duration, a
// number) is an error naming the variable. The flags' help gains
// "(env NAME)" where it does not say it already.
func flagsFromEnv(fs *flag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := flagEnv(f.Name)
		if !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + name + ")"
		}
		v := getenv(name)
		if v == "" || err != nil {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%s (--%s): %s", name, strconv.Quote(v), f.Name, envWant(f.Value))
		}
	})
	return err
}

// envWant says what a flag of v's type accepts, for flagsFromEnv's error.
func envWant(v flag.Value) string {
	g, ok := v.(flag.Getter)
	if !ok {
		return "invalid value"
	}
	switch g.Get().(type) {
	case bool:
		return "want a boolean: true or false (also 1, 0, t, f, TRUE, FALSE)"
	case time.Duration:
		return "want a duration with its unit, such as 90s, 5m or 1h30m"
	case int, int64, uint, uint64:
		return "want a whole number"
	case float64:
		return "want a number"
	default:
		return "invalid value"
	}
}
