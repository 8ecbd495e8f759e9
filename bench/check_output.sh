#!/bin/sh
# check_output.sh VMI_BENCH OUTDIR: the bench smoke test.  Runs
# `vmi-bench --quick --out OUTDIR` and checks that its output is
# well-formed (table and JSON with every field, goals stated as met or
# not, the plot written); it never checks the figures themselves.
set -eu
bench=$1
out=$2
rm -rf "$out"
"$bench" --quick --out "$out" > "$out.stdout"
test -s "$out/table.txt" || { echo "no table.txt"; exit 1; }
grep -q '^figure .*baseline.*ratio.*goal' "$out/table.txt" ||
    { echo "table.txt has no header"; exit 1; }
grep -q '^figure .*vmi-run (KVM).*QEMU (TCG)' "$out/table.txt" ||
    { echo "table.txt has no side-by-side table"; exit 1; }
python3 - "$out/results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tool"] == "vmi-bench" and d["tsc_hz"] > 0, "bad header"
rows = d["rows"]
assert len(rows) >= 5, "too few rows"
modes = {"cpl0", "cpl3", "host", "tcg", "-"}
for r in rows:
    for k in ("figure", "mode", "unit", "median", "p99", "n", "baseline",
              "baseline_median", "ratio", "goal", "measured", "note"):
        assert k in r, "row %r lacks %s" % (r.get("figure"), k)
    assert r["mode"] in modes, "row %s: mode %s" % (r["figure"], r["mode"])
    if r["measured"]:
        assert r["n"] > 0 and r["median"] >= 0, "row %s: no samples" % r["figure"]
    else:
        assert "NOT MEASURED" in r["note"], "row %s: unexplained" % r["figure"]
    if r["goal"] is not None:
        assert isinstance(r["goal"]["met"], bool), "goal without verdict"
        assert r["goal"]["op"] in ("<=", ">=", "<")
figs = {r["figure"] for r in rows}
assert "host-lib null dispatch (NOP)" in figs, "dispatch row missing"
sbs = d["side_by_side"]
assert len(sbs) == 8, "side by side: %d figures, expected 8" % len(sbs)
for x in sbs:
    for k in ("figure", "mode", "unit", "floor", "vmi_run", "vmi_run_floor",
              "qemu", "qemu_floor", "tcg_distorts"):
        assert k in x, "side-by-side %r lacks %s" % (x.get("figure"), k)
print("results.json: %d rows, %d side-by-side figures well-formed" %
      (len(rows), len(sbs)))
PY
if command -v gnuplot > /dev/null 2>&1 && grep -q '"measured": true' "$out/results.json"; then
    test -s "$out/scaling.svg" || { echo "no scaling.svg"; exit 1; }
fi
echo "bench smoke: ok"
