#!/usr/bin/env python3
"""Proves that tools/vmi-clauses has teeth: small spec trees with one defect
each must be rejected with a message naming the defect, and a good tree must
pass and produce the expected requirements.json."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.environ.get("VMI_CLAUSES") or os.path.join(
    HERE, "..", "..", "tools", "vmi-clauses")

REGISTRY = textwrap.dedent("""\
    [spec]
    name = "OpenVMI"
    version_major = 1
    version_minor = 0

    [[status]]
    name = "OK"
    value = 0

    [[status]]
    name = "E_INVAL"
    value = 5

    [[status]]
    name = "E_OLD"
    value = 99
    retired = "1.0"

    [[feature]]
    name = "CLOCK"
    bit = 0

    [[hypercall]]
    name = "NOP"
    number = 0

    [[struct]]
    name = "vmi_thing"
    size = 8
    """)

INDEX = textwrap.dedent("""\
    = Test spec
    :revnumber: 1.0

    include::chapter.adoc[]
    """)

# A chapter that names every registry item in some clause.
GOOD = textwrap.dedent("""\
    [#intro]
    == Intro

    Informative text uses must and may in lower case; `MUST` in code is fine.

    [#VMI-GEN-001.clause,target=host,profile=core]
    *VMI-GEN-001* The host MUST return `VMI_OK` for `VMI_HC_NOP`.

    [#VMI-GEN-002.clause,target=guest,profile=core]
    *VMI-GEN-002* The guest MUST NOT set reserved fields of
    `struct vmi_thing` to non-zero values.

    [#VMI-CLK-001.clause,target=host,profile=core,since=1.0]
    *VMI-CLK-001* If `VMI_F_CLOCK` was not granted, the host MAY return
    `VMI_E_INVAL` (see <<VMI-GEN-001,VMI-GEN-001>> and <<intro,the intro>>).
    """)

RETIRED_EMPTY = "# Retired clause identifiers.\n"

_TMPDIRS = []


def tearDownModule():
    for d in _TMPDIRS:
        shutil.rmtree(d, ignore_errors=True)


def make_tmp(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMPDIRS.append(d)
    return d


def run_tool(files, registry=REGISTRY, retired=RETIRED_EMPTY, extra=()):
    """Writes a spec tree and runs the tool; returns (rc, stdout+stderr, dir)."""
    tmp = make_tmp("vmi-clauses-test-")
    spec = os.path.join(tmp, "spec")
    os.makedirs(spec)
    all_files = {"index.adoc": INDEX}
    all_files.update(files)
    for name, text in all_files.items():
        with open(os.path.join(spec, name), "w", encoding="utf-8") as f:
            f.write(text)
    reg = os.path.join(tmp, "vmi.toml")
    with open(reg, "w", encoding="utf-8") as f:
        f.write(registry)
    ret = os.path.join(spec, "retired-clauses.txt")
    with open(ret, "w", encoding="utf-8") as f:
        f.write(retired)
    cmd = [sys.executable, TOOL, "--spec-dir", spec, "--registry", reg,
           "--retired", ret, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr, tmp


class CheckerRejects(unittest.TestCase):
    def assertRejected(self, files, needle, **kw):
        rc, out, _ = run_tool(files, **kw)
        self.assertEqual(rc, 1, f"expected rejection, got rc={rc}:\n{out}")
        self.assertIn(needle, out)

    def test_good_input_passes_and_writes_requirements(self):
        tmp = make_tmp("vmi-clauses-json-")
        out_json = os.path.join(tmp, "requirements.json")
        rc, out, _ = run_tool({"chapter.adoc": GOOD},
                              extra=("--json", out_json))
        self.assertEqual(rc, 0, out)
        with open(out_json, encoding="utf-8") as f:
            doc = json.load(f)
        self.assertEqual(doc["spec"], "OpenVMI")
        self.assertEqual(doc["version"], "1.0")
        by_id = {c["id"]: c for c in doc["clauses"]}
        self.assertEqual(sorted(by_id),
                         ["VMI-CLK-001", "VMI-GEN-001", "VMI-GEN-002"])
        self.assertEqual(by_id["VMI-GEN-001"]["level"], "MUST")
        self.assertEqual(by_id["VMI-GEN-002"]["level"], "MUST NOT")
        self.assertEqual(by_id["VMI-CLK-001"]["level"], "MAY")
        self.assertEqual(by_id["VMI-GEN-002"]["target"], "guest")
        self.assertEqual(by_id["VMI-CLK-001"]["area"], "CLK")
        self.assertEqual(by_id["VMI-CLK-001"]["profile"], "core")
        self.assertEqual(by_id["VMI-CLK-001"]["since"], "1.0")
        self.assertEqual(by_id["VMI-GEN-001"]["section"], "Intro")
        self.assertEqual(by_id["VMI-GEN-001"]["text"],
                         "The host MUST return VMI_OK for VMI_HC_NOP.")
        self.assertEqual(doc["retired"], [])

    def test_list_filter_selects_host_must(self):
        rc, out, _ = run_tool({"chapter.adoc": GOOD},
                              extra=("--list", "host-must"))
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.split(), ["VMI-GEN-001"])

    def test_duplicate_id_is_rejected(self):
        dup = GOOD + textwrap.dedent("""\

            [#VMI-GEN-001.clause,target=host,profile=core]
            *VMI-GEN-001* The host MUST do another thing.
            """)
        self.assertRejected({"chapter.adoc": dup}, "duplicate clause ID")

    def test_duplicate_id_across_files_is_rejected(self):
        other = textwrap.dedent("""\
            [#VMI-GEN-002.clause,target=host,profile=core]
            *VMI-GEN-002* The host MUST do a thing.
            """)
        self.assertRejected({"chapter.adoc": GOOD, "other.adoc": other},
                            "duplicate clause ID")

    def test_malformed_id_is_rejected(self):
        bad = GOOD + textwrap.dedent("""\

            [#VMI-CLK-12.clause,target=host,profile=core]
            *VMI-CLK-12* The host MUST do a thing.
            """)
        self.assertRejected({"chapter.adoc": bad}, "malformed clause ID")

    def test_unknown_area_is_rejected(self):
        bad = GOOD + textwrap.dedent("""\

            [#VMI-ZZZ-001.clause,target=host,profile=core]
            *VMI-ZZZ-001* The host MUST do a thing.
            """)
        self.assertRejected({"chapter.adoc": bad}, "unknown area 'ZZZ'")

    def test_retired_id_is_rejected(self):
        retired = RETIRED_EMPTY + "VMI-GEN-002 1.0 # replaced by VMI-GEN-003\n"
        self.assertRejected({"chapter.adoc": GOOD}, "is retired",
                            retired=retired)

    def test_retired_entry_without_reason_is_rejected(self):
        retired = RETIRED_EMPTY + "VMI-GEN-009 1.0\n"
        self.assertRejected({"chapter.adoc": GOOD}, "reason", retired=retired)

    def test_clause_without_keyword_is_rejected(self):
        bad = GOOD + textwrap.dedent("""\

            [#VMI-GEN-003.clause,target=host,profile=core]
            *VMI-GEN-003* The host returns zero.
            """)
        self.assertRejected({"chapter.adoc": bad}, "no RFC 2119 keyword")

    def test_clause_with_conflicting_keywords_is_rejected(self):
        bad = GOOD + textwrap.dedent("""\

            [#VMI-GEN-003.clause,target=host,profile=core]
            *VMI-GEN-003* The host MUST return zero and MAY log it.
            """)
        self.assertRejected({"chapter.adoc": bad}, "RFC 2119 keywords")

    def test_keyword_outside_clause_is_rejected(self):
        bad = GOOD + "\nA stray sentence says the guest SHOULD do it.\n"
        self.assertRejected({"chapter.adoc": bad}, "outside a clause")

    def test_bad_target_is_rejected(self):
        bad = GOOD.replace("target=guest", "target=hypervisor")
        self.assertRejected({"chapter.adoc": bad}, "target 'hypervisor'")

    def test_bad_profile_is_rejected(self):
        bad = GOOD.replace("since=1.0", "since=1.0").replace(
            "VMI-CLK-001.clause,target=host,profile=core",
            "VMI-CLK-001.clause,target=host,profile=gold")
        self.assertRejected({"chapter.adoc": bad}, "profile 'gold'")

    def test_bold_id_differing_from_anchor_is_rejected(self):
        bad = GOOD.replace("*VMI-GEN-002*", "*VMI-GEN-022*")
        self.assertRejected({"chapter.adoc": bad}, "differs from the anchor")

    def test_dangling_cross_reference_is_rejected(self):
        bad = GOOD + "\nSee <<VMI-GEN-077,VMI-GEN-077>>.\n"
        self.assertRejected({"chapter.adoc": bad}, "has no target")

    def test_section_xref_without_text_in_clause_is_rejected(self):
        bad = GOOD.replace("<<intro,the intro>>", "<<intro>>")
        self.assertRejected({"chapter.adoc": bad}, "needs a text")

    def test_generated_table_not_included_is_rejected(self):
        rc, out, tmp = run_tool({"chapter.adoc": GOOD})
        self.assertEqual(rc, 0, out)
        gen = os.path.join(tmp, "spec", "generated")
        os.makedirs(gen)
        with open(os.path.join(gen, "hc-nop.adoc"), "w") as f:
            f.write("|===\n|x\n|===\n")
        r = subprocess.run(
            [sys.executable, TOOL, "--check",
             "--spec-dir", os.path.join(tmp, "spec"),
             "--registry", os.path.join(tmp, "vmi.toml")],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("generated/hc-nop.adoc", r.stderr)

    def test_registry_hypercall_without_clause_is_rejected(self):
        reg = REGISTRY + '\n[[hypercall]]\nname = "FROB"\nnumber = 1\n'
        self.assertRejected({"chapter.adoc": GOOD}, "VMI_HC_FROB",
                            registry=reg)

    def test_registry_struct_without_clause_is_rejected(self):
        reg = REGISTRY + '\n[[struct]]\nname = "vmi_other"\nsize = 8\n'
        self.assertRejected({"chapter.adoc": GOOD}, "struct vmi_other",
                            registry=reg)

    def test_registry_feature_and_status_without_clause_are_rejected(self):
        reg = REGISTRY + ('\n[[feature]]\nname = "TIMER"\nbit = 2\n'
                          '\n[[status]]\nname = "E_BUSY"\nvalue = 10\n')
        rc, out, _ = run_tool({"chapter.adoc": GOOD}, registry=reg)
        self.assertEqual(rc, 1, out)
        self.assertIn("VMI_F_TIMER", out)
        self.assertIn("VMI_E_BUSY", out)

    def test_retired_registry_item_needs_no_clause(self):
        # E_OLD is retired in REGISTRY and named nowhere: the good tree passes.
        rc, out, _ = run_tool({"chapter.adoc": GOOD})
        self.assertEqual(rc, 0, out)
        self.assertNotIn("VMI_E_OLD", out)

    def test_version_mismatch_with_registry_is_rejected(self):
        reg = REGISTRY.replace("version_minor = 0", "version_minor = 1")
        self.assertRejected({"chapter.adoc": GOOD}, ":revnumber:",
                            registry=reg)


if __name__ == "__main__":
    unittest.main(verbosity=2)
