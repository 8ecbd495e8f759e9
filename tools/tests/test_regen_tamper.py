#!/usr/bin/env python3
"""vmi-regen --check passes on the committed tree and fails when a generated
file is edited by hand, deleted, or joined by a file the registry does not
generate; a malformed registry is refused with a message."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REGEN = os.path.join(ROOT, "tools", "vmi-regen")


def copy_tree(dst):
    for d in ("include/vmi", "spec/generated", "spec/registry"):
        shutil.copytree(os.path.join(ROOT, d), os.path.join(dst, d))


def check(root, *extra):
    return subprocess.run([sys.executable, REGEN, "--check", "--root", root,
                           *extra], capture_output=True, text=True)


class RegenCheck(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        copy_tree(self.tmp)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_clean_copy_passes(self):
        r = check(self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_hand_edited_header_fails(self):
        p = os.path.join(self.tmp, "include/vmi/clock.h")
        with open(p, "a") as f:
            f.write("/* hand edit */\n")
        r = check(self.tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("include/vmi/clock.h", r.stderr)

    def test_changed_value_fails(self):
        p = os.path.join(self.tmp, "include/vmi/abi.h")
        text = open(p).read()
        self.assertIn("#define VMI_E_FAULT", text)
        text = text.replace("#define VMI_E_FAULT                     7",
                            "#define VMI_E_FAULT                     8")
        open(p, "w").write(text)
        r = check(self.tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("include/vmi/abi.h", r.stderr)

    def test_deleted_table_fails(self):
        os.remove(os.path.join(self.tmp, "spec/generated/status.adoc"))
        r = check(self.tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("spec/generated/status.adoc", r.stderr)

    def test_stray_header_fails(self):
        open(os.path.join(self.tmp, "include/vmi/extra.h"), "w").write("\n")
        r = check(self.tmp)
        self.assertEqual(r.returncode, 1)
        self.assertIn("extra.h", r.stderr)

    def test_registry_duplicate_number_refused(self):
        p = os.path.join(self.tmp, "spec/registry/vmi.toml")
        text = open(p).read()
        text = text.replace('name = "TIME_READ"\nnumber = 0x0201',
                            'name = "TIME_READ"\nnumber = 0x0200')
        open(p, "w").write(text)
        r = check(self.tmp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("duplicate number", r.stderr)

    def test_registry_layout_gap_refused(self):
        p = os.path.join(self.tmp, "spec/registry/vmi.toml")
        text = open(p).read()
        old = '{ name = "reserved0", type = "uint32_t", writer = "none", doc = "Zero." },\n  { name = "tsc_timestamp"'
        self.assertIn(old, text)
        open(p, "w").write(text.replace(old, '{ name = "tsc_timestamp"'))
        r = check(self.tmp)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not naturally aligned", r.stderr)

    def _statuses(self, old, new):
        p = os.path.join(self.tmp, "spec/registry/vmi.toml")
        text = open(p).read()
        self.assertIn(old, text)
        open(p, "w").write(text.replace(old, new, 1))
        return check(self.tmp)

    def test_statuses_out_of_order_refused(self):
        r = self._statuses('statuses = ["E_STATE", "E_INVAL", "E_VERSION"]',
                           'statuses = ["E_INVAL", "E_STATE", "E_VERSION"]')
        self.assertEqual(r.returncode, 2)
        self.assertIn("precedence order", r.stderr)

    def test_statuses_unknown_or_common_refused(self):
        r = self._statuses('statuses = ["E_STATE", "E_INVAL", "E_VERSION"]',
                           'statuses = ["E_STATE", "E_BOGUS"]')
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown status E_BOGUS", r.stderr)
        self.tearDown()
        self.setUp()
        r = self._statuses('statuses = ["E_STATE", "E_INVAL", "E_VERSION"]',
                           'statuses = ["E_NOTSUP", "E_INVAL"]')
        self.assertEqual(r.returncode, 2)
        self.assertIn("common checks", r.stderr)

    def test_missing_statuses_refused(self):
        r = self._statuses('statuses = ["E_STATE", "E_INVAL", "E_VERSION"]\n',
                           '')
        self.assertEqual(r.returncode, 2)
        self.assertIn("no statuses list", r.stderr)

    def test_regenerate_repairs(self):
        p = os.path.join(self.tmp, "include/vmi/clock.h")
        with open(p, "a") as f:
            f.write("/* hand edit */\n")
        subprocess.run([sys.executable, REGEN, "--root", self.tmp], check=True,
                       capture_output=True)
        self.assertEqual(check(self.tmp).returncode, 0)


if __name__ == "__main__":
    unittest.main()
