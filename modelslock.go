// Package glint holds what the build takes from the repository's top level
// for the packages under it: the lock of the model packages.
package glint

import _ "embed"

// ModelsLock is scripts/models.lock, the model packages scripts/models.sh
// installs: one line per package, "package@version integrity dir files…",
// lines starting with # being comments. Each installed package leaves its
// integrity in models/<dir>/.integrity, which is how models.sh, and
// glint version, tell that it is the one locked.
//
//go:embed scripts/models.lock
var ModelsLock string
