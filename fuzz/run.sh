#!/usr/bin/env bash
# fuzz/run.sh TARGET replay: runs every input saved in crashes/TARGET/ once and tells which
# still crash (exit 1 if any does).
#
# fuzz/run.sh TARGET SECONDS: builds TARGET with cargo afl (stable toolchain) and fuzzes it
# for SECONDS from its committed seed corpus (corpus/TARGET). Prints AFL's figures
# (executions, corpus size, edges found). Exits 1 when AFL saved a crash or a hang; the
# inputs are copied to crashes/TARGET/ to be committed with a fix or reported.
# Installs cargo-afl (and AFL++'s runtime) when missing.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: fuzz/run.sh TARGET SECONDS}"
seconds="${2:?usage: fuzz/run.sh TARGET SECONDS}"
if [ ! -d "corpus/$target" ]; then
    echo "unknown target $target; one of: $(ls corpus | tr '\n' ' ')" >&2
    exit 2
fi
if ! cargo afl --version >/dev/null 2>&1; then
    cargo install cargo-afl --locked
fi
# Builds AFL++ and its runtime for this rustc unless already built (then it refuses).
cargo afl config --build >/dev/null 2>&1 || true
AFL_QUIET=1 cargo afl build --release --bin "$target"

mkdir -p out
if [ "$seconds" = replay ]; then
    failed=0
    for input in "crashes/$target"/*; do
        [ -e "$input" ] || continue
        if "target/release/$target" <"$input" >/dev/null 2>&1; then
            echo "fixed:   $input"
        else
            echo "crashes: $input"; failed=1
        fi
    done
    exit "$failed"
fi

out="out/$target"
rm -rf "$out"
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_AUTORESUME=0 AFL_NO_AFFINITY=1
# -V stops after SECONDS; -t: one input may take up to 2 s (the http target runs hyper twice).
cargo afl fuzz -i "corpus/$target" -o "$out" -V "$seconds" -t 2000 "target/release/$target" \
    >"$out.log" 2>&1 || { tail -n 30 "$out.log"; exit 1; }

stats="$out/default/fuzzer_stats"
field() { sed -n "s/^$1 *: //p" "$stats"; }
echo "fuzz $target: $(field execs_done) executions in $(field run_time) s," \
    "$(field corpus_count) inputs in the corpus, edges $(field edges_found) of $(field total_edges)" \
    "($(field bitmap_cvg)), crashes $(field saved_crashes), hangs $(field saved_hangs)"
found=0
for kind in crashes hangs; do
    for input in "$out/default/$kind"/id:*; do
        [ -e "$input" ] || continue
        mkdir -p "crashes/$target"
        cp "$input" "crashes/$target/$kind-$(basename "$input" | cut -d, -f1 | tr : _)"
        found=1
    done
done
if [ "$found" = 1 ]; then
    echo "fuzz $target: inputs that crash or hang are in fuzz/crashes/$target/"
    exit 1
fi
