#!/usr/bin/env bash
# bench-peer.sh: Glint's face pipeline against the reference implementation
# (@vladmandic/face-api 1.7.15 on tfjs 4.22.0, wasm backend, 1 thread), same
# machine, same run, interleaved (Glint, face-api, Glint, face-api, ...), so
# that other load on the machine falls on both sides alike.
#
# Documents how the peer figures were obtained; no test needs it.
#
# ASSUMES the peers folder is prepared in /tmp/peers (or $PEERS) as:
#     cp -r /work/shared/peers /tmp/peers && cd /tmp/peers && npm ci
# and Node.js 20 and Go on PATH. The six photos are models/face-api/sample1..6.jpg
# (byte-identical to face-api's demo/sample1..6.jpg; checked below).
#
# usage: scripts/bench-peer.sh   (env, defaults: ROUNDS=3 FACE_COUNT=5 TOKEN_N=30 FA_RUNS=7 FA_WARMUP=2
#                                 PEERS=/tmp/peers OUT=a new /tmp/bench-peer.XXXXXX REV=HEAD)
#
# Glint is measured at commit REV, extracted with `git archive` into $OUT/src (models/ and
# ../shared linked), so that uncommitted work in the tree does not enter the figures;
# REV=worktree measures the working tree as it is.
#
# Each round runs, in this order:
#   A  Glint  internal/face benchmarks, -cpu 1 (GOMAXPROCS=1), -benchtime 10x, -count $FACE_COUNT;
#      then decode alone (imaging.Decode + face.FromImage, as BenchmarkPipeline does it), 10
#      iterations x $FACE_COUNT per photo, by a small program added with `go build -overlay`
#   B  face-api faceapi-bench.js --backend wasm --threads 1 (7 timed runs, 2 warm-up, per stage and
#      image; its "re-time when the machine is busy" retry is switched off with --maxothers 99 so
#      that neither side waits for a quiet machine)
#   C  Glint  get_token over HTTP (cmd/glint BenchmarkGetTokenRealEngine), -benchtime $TOKEN_N x,
#      -cpu 1,2 (Glint only: face-api has no such service)
# Medians: per image (or network) the median over rounds of each round's median (face-api) or of
# each round's median over -count (Glint, whose figure per count is the mean of 10 iterations);
# then the median over the six images. Ratio = face-api / Glint (> 1: Glint is faster).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS=${PEERS:-/tmp/peers}
ROUNDS=${ROUNDS:-3}
FACE_COUNT=${FACE_COUNT:-5}
TOKEN_N=${TOKEN_N:-30}
FA_RUNS=${FA_RUNS:-7}
FA_WARMUP=${FA_WARMUP:-2}
REV=${REV:-HEAD}
OUT=${OUT:-$(mktemp -d /tmp/bench-peer.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
export GOMAXPROCS=1

SAMPLES=()
for n in 1 2 3 4 5 6; do SAMPLES+=("$ROOT/models/face-api/sample$n.jpg"); done

[ -d "$PEERS/node_modules/@vladmandic/face-api" ] || {
	echo "face-api not installed in $PEERS: cp -r /work/shared/peers $PEERS && (cd $PEERS && npm ci)" >&2
	exit 1
}
for n in 1 2 3 4 5 6; do
	cmp -s "$ROOT/models/face-api/sample$n.jpg" "$PEERS/node_modules/@vladmandic/face-api/demo/sample$n.jpg" ||
		{ echo "sample$n.jpg differs from face-api's demo photo" >&2; exit 1; }
done

echo "output: $OUT"
if [ "$REV" = worktree ]; then
	SRC=$ROOT
	DESC="working tree at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' + uncommitted changes')"
else
	SRC=$OUT/src
	rm -rf "$SRC" && mkdir -p "$SRC"
	git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
	ln -s "$ROOT/models" "$SRC/models"
	[ -e "$OUT/shared" ] || ln -s "$(cd "$ROOT/.." && pwd)/shared" "$OUT/shared" # golden outputs: <repo>/../shared
	DESC="commit $(git -C "$ROOT" rev-parse --short "$REV") ($(git -C "$ROOT" log -1 --format=%s "$REV" | cut -c1-70))"
fi
{
	echo "date: $(date -u +%FT%TZ)"
	echo "glint: $DESC; $(grep -ho 'DefaultDetectMaxSide = [0-9]*' "$SRC"/internal/face/*.go | head -1)"
	echo "go: $(go version)"
	echo "node: $(node --version)"
	echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
} | tee "$OUT/env.txt"

# Glint's decode alone, as BenchmarkPipeline does it; added to the build with -overlay (no file
# is written into the source tree). Prints lines in the format of go test -bench.
mkdir -p "$OUT/decode"
cat >"$OUT/decode/main.go" <<'EOF'
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/glint-id/glint/internal/face"
	"github.com/glint-id/glint/internal/imaging"
)

func main() {
	dir, count := os.Args[1], 1
	if len(os.Args) > 2 {
		count, _ = strconv.Atoi(os.Args[2])
	}
	const iters = 10
	for n := 1; n <= 6; n++ {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("sample%d.jpg", n)))
		if err != nil {
			panic(err)
		}
		run := func() {
			im, _, err := imaging.Decode(data, 0)
			if err != nil {
				panic(err)
			}
			_ = face.FromImage(im)
		}
		run() // warm-up, as testing's first run with b.N = 1
		for c := 0; c < count; c++ {
			t0 := time.Now()
			for i := 0; i < iters; i++ {
				run()
			}
			ns := float64(time.Since(t0).Nanoseconds()) / iters
			fmt.Printf("BenchmarkDecode/sample%d \t%d\t%.0f ns/op\t%.4g ms/op\n", n, iters, ns, ns/1e6)
		}
	}
}
EOF
printf '{"Replace":{"%s":"%s"}}\n' "$SRC/cmd/benchpeer-decode/main.go" "$OUT/decode/main.go" >"$OUT/decode/overlay.json"

# Binaries are built once, so that compiling is not part of any round.
(cd "$SRC" && go test -c -o "$OUT/face.test" ./internal/face && go test -c -o "$OUT/glint.test" ./cmd/glint &&
	go build -overlay "$OUT/decode/overlay.json" -o "$OUT/decode.bin" ./cmd/benchpeer-decode)

busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }

# step NAME DIR CMD...: runs CMD in DIR with stdout to $OUT/NAME.txt, and appends to steps.tsv
# the wall time, the cores the step used itself, the cores everything else used meanwhile
# (from /proc/stat) and the load average before and after.
step() {
	local name=$1 dir=$2
	shift 2
	local la0 b0 b1 tck
	la0=$(cut -d' ' -f1-3 /proc/loadavg)
	b0=$(busy_ticks)
	(cd "$dir" && /usr/bin/time -f '%e %U %S' -o "$OUT/$name.time" "$@") >"$OUT/$name.txt" 2>"$OUT/$name.err" ||
		{ echo "$name failed:" >&2; tail -20 "$OUT/$name.err" "$OUT/$name.txt" >&2; exit 1; }
	b1=$(busy_ticks)
	tck=$(getconf CLK_TCK)
	read -r wall user sys <"$OUT/$name.time"
	awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v d="$((b1 - b0))" -v t="$tck" \
		-v la0="$la0" -v la1="$(cut -d' ' -f1-3 /proc/loadavg)" \
		'BEGIN { printf "%s\t%.1f\t%.2f\t%.2f\t%s\t%s\n", n, w, (u+s)/w, (d/t-u-s)/w, la0, la1 }' |
		tee -a "$OUT/steps.tsv"
}

printf 'step\twall_s\tself_cores\tothers_cores\tloadavg_before\tloadavg_after\n' | tee "$OUT/steps.tsv"
for r in $(seq 1 "$ROUNDS"); do
	step "glint-face-r$r" "$SRC/internal/face" "$OUT/face.test" -test.run '^$' \
		-test.bench 'Pipeline|SSD|ResNetEmbed|Landmarks68|DetectMaxSide' \
		-test.cpu 1 -test.benchtime 10x -test.count "$FACE_COUNT"
	step "glint-decode-r$r" "$SRC" "$OUT/decode.bin" "$ROOT/models/face-api" "$FACE_COUNT"
	step "faceapi-r$r" "$PEERS" node faceapi-bench.js --backend wasm --threads 1 --maxothers 99 \
		--runs "$FA_RUNS" --warmup "$FA_WARMUP" --out "$OUT/faceapi-r$r.json" "${SAMPLES[@]}"
	step "glint-token-r$r" "$SRC/cmd/glint" "$OUT/glint.test" -test.run '^$' \
		-test.bench GetTokenRealEngine -test.cpu 1,2 -test.benchtime "${TOKEN_N}x" -test.count 1
done

cat >"$OUT/summarize.js" <<'JSEOF'
// Tables from the step outputs of bench-peer.sh.
const fs = require('fs');
const path = require('path');
const [out, rounds] = [process.argv[2], Number(process.argv[3])];
const med = (a) => { const s = a.filter((x) => x != null && !Number.isNaN(x)).sort((x, y) => x - y); const m = s.length >> 1; return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f = (x) => (Number.isNaN(x) || x == null ? '–' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const ratio = (a, g) => (Number.isNaN(a) || Number.isNaN(g) ? '–' : `${(a / g).toFixed(2)}×`);
const R = [...Array(rounds).keys()].map((i) => i + 1);

// Go: name -> round -> [values] for each metric
function goBench(file) {
  const m = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim().split(/\s+/);
    if (!/^Benchmark/.test(t[0] || '') || t.length < 4) continue;
    const name = t[0].replace(/^Benchmark/, '');
    for (let i = 2; i + 1 < t.length; i += 2) ((m[name] ??= {})[t[i + 1]] ??= []).push(Number(t[i]));
  }
  return m;
}
const gf = R.map((r) => ({ ...goBench(path.join(out, `glint-face-r${r}.txt`)), ...goBench(path.join(out, `glint-decode-r${r}.txt`)) }));
const gt = R.map((r) => goBench(path.join(out, `glint-token-r${r}.txt`)));
const fa = R.map((r) => JSON.parse(fs.readFileSync(path.join(out, `faceapi-r${r}.json`), 'utf8')));
const images = [1, 2, 3, 4, 5, 6].map((n) => `sample${n}.jpg`);

// per round: Glint's median over -count; face-api's median over its 7 runs
const g = (name, unit = 'ms/op') => R.map((_, i) => med(gf[i][name]?.[unit] ?? []));
const a = (stage, image = null) => R.map((_, i) => fa[i].stages.find((s) => s.stage === stage && s.image === image)?.median ?? NaN);
const faces = (image) => fa[0].stages.find((s) => s.stage === 'detect ssd' && s.image === image)?.faces;
// per round, per image: a function of the round index
const perImg = (fn) => images.map((img, k) => R.map((_, i) => fn(img, k, i)));
const overImages = (pi) => ({ perRound: R.map((_, i) => med(pi.map((v) => v[i]))), value: med(pi.map((v) => med(v))) });
const rounds_ = (v) => v.map(f).join(' / ');

const rows = [];
const row = (stage, gl, fx, note = '') => rows.push([stage, f(med(gl)), f(med(fx)), ratio(med(fx), med(gl)), rounds_(gl), rounds_(fx), note]);
const rowV = (stage, gl, fx, note = '') => rows.push([stage, f(gl.value), f(fx.value), ratio(fx.value, gl.value), rounds_(gl.perRound), rounds_(fx.perRound), note]);

const fx1 = (st) => a(st, 'sample1.jpg');
row('net ssd 512 (forward, ready input)', g('SSD/forward'), a('net ssd 512'));
row('net landmark68 112 (forward)', g('Landmarks68/forward'), a('net landmark68 112'));
row('net recognition 150 (forward)', g('ResNetEmbed/forward'), a('net recognition 150'));
row('detect ssd, sample1 full 1920 px (resize, net, NMS)', g('SSD/detect'), fx1('detect ssd'));
row('landmarks68 1 face, sample1 (crop + net)', g('Landmarks68/predict'), fx1('landmarks68 1 face'));
row('descriptor 1 face, sample1 (align + crop + net)', g('ResNetEmbed/embed'), fx1('descriptor 1 face'));
const n1 = faces('sample1.jpg');
const detLm = R.map((_, i) => fx1('detect ssd')[i] + n1 * fx1('landmarks68 1 face')[i]);
for (const side of ['-1', '1024', '640']) {
  row(`Engine.Detect sample1 (SSD + landmarks every face + quality), DetectMaxSide ${side} vs detect ssd + ${n1}×landmarks68`,
    g(`DetectMaxSide/side${side}`), detLm, side === '-1' ? 'no downscale' : '');
}
const gDecI = perImg((img, k, i) => g(`Decode/sample${k + 1}`)[i]);
const faDecI = perImg((img, k, i) => a('decode', img)[i]);
rowV('decode JPEG → RGB (Go image/jpeg + FromImage | jpeg-js + tensor)', overImages(gDecI), overImages(faDecI), 'median over 6 images');

// pipelines, per image
const gPipe = perImg((img, k, i) => g(`Pipeline/sample${k + 1}`)[i]);
const st = (name, img, i) => a(name, img)[i];
const faA = perImg((img, k, i) => st('decode', img, i) + st('detect ssd', img, i) + st('landmarks68 1 face', img, i) + st('descriptor 1 face', img, i));
const faB = perImg((img, k, i) => st('decode', img, i) + st('detect ssd', img, i) + faces(img) * st('landmarks68 1 face', img, i) + st('descriptor 1 face', img, i));
const faP = perImg((img, k, i) => st('pipeline', img, i));
rowV('(a) pipeline vs decode + detect ssd + landmarks68 1 face + descriptor 1 face', overImages(gPipe), overImages(faA), 'median over 6 images');
rowV('(a\') pipeline vs decode + detect ssd + landmarks68 EVERY face + descriptor 1 face', overImages(gPipe), overImages(faB), 'like for like: Glint marks every face');
rowV('pipeline vs face-api pipeline (landmarks + descriptor EVERY face)', overImages(gPipe), overImages(faP), 'face-api does more work');

const table = (head, body) => {
  const w = head.map((h, j) => Math.max(h.length, ...body.map((r) => String(r[j]).length)));
  const line = (r) => `| ${r.map((c, j) => (j === 0 ? String(c).padEnd(w[j]) : String(c).padStart(w[j]))).join(' | ')} |`;
  return [line(head), `|${w.map((x, j) => (j === 0 ? '-'.repeat(x + 2) : `${'-'.repeat(x + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
};
console.log(`\n## Glint vs face-api ${fa[0].version} (tfjs ${fa[0].tfjs}, ${fa[0].backend}, simd ${fa[0].simd}, ${fa[0].threads} thread), GOMAXPROCS=1, ${rounds} interleaved rounds\n`);
console.log(table(['stage', 'Glint ms', 'face-api ms', 'face-api/Glint', 'Glint per round', 'face-api per round', 'note'], rows));

const prow = images.map((img, k) => {
  const gv = med(gPipe[k]);
  return [img, faces(img), f(gv), f(med(faA[k])), ratio(med(faA[k]), gv), f(med(faB[k])), ratio(med(faB[k]), gv), f(med(faP[k])), ratio(med(faP[k]), gv)];
});
console.log('\n### Pipeline per image (ms; medians over rounds)\n');
console.log(table(['image', 'faces (face-api SSD)', 'Glint pipeline', 'fa: dec+det+lm1+desc1', 'ratio', 'fa: dec+det+lm×faces+desc1', 'ratio', 'fa: pipeline (all faces)', 'ratio'], prow));

const trow = [1, 2].map((c) => {
  const sfx = c === 1 ? '' : `-${c}`;
  const p50 = R.map((_, i) => med(gt[i][`GetTokenRealEngine${sfx}`]?.['p50-ms'] ?? []));
  const p95 = R.map((_, i) => med(gt[i][`GetTokenRealEngine${sfx}`]?.['p95-ms'] ?? []));
  return [`get_token, 2.07 MP single-face JPEG, GOMAXPROCS=${c}`, f(med(p50)), f(med(p95)), rounds_(p50), rounds_(p95)];
});
console.log('\n### Glint get_token over HTTP (loopback; p50/p95 of each round, median over rounds)\n');
console.log(table(['case', 'p50 ms', 'p95 ms', 'p50 per round', 'p95 per round'], trow));

console.log('\n### Conditions per step (cores used by everything else while the step ran)\n');
const steps = fs.readFileSync(path.join(out, 'steps.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
console.log(table(steps[0], steps.slice(1)));
const others = fa.flatMap((r) => r.stages.map((s) => s.othersCores));
console.log(`\nglint: ${fs.readFileSync(path.join(out, 'env.txt'), 'utf8').match(/^glint: (.*)$/m)[1]}`);
console.log(`face-api othersCores per stage: median ${f(med(others))}, max ${f(Math.max(...others))}; loadavg start/end per round: ${fa.map((r) => `${r.loadavgStart} → ${r.loadavgEnd}`).join('; ')}`);
JSEOF
node "$OUT/summarize.js" "$OUT" "$ROUNDS" | tee "$OUT/summary.md"
