"""The spec's 'since': a kit test that exists only from a later lab on."""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path

from vmgrade.spec import SpecError, load

LABS = [{"lab": n, "name": f"l{n}", "student_files": []} for n in (1, 2, 3, 4)]


def spec_with(tests: list[dict]):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "labs.json"
        path.write_text(json.dumps({"labs": LABS, "tests": tests}))
        return load(path)


class Since(unittest.TestCase):
    def test_a_kit_test_joins_trees_from_its_lab_on(self) -> None:
        # Bug: lab 1-3 trees expected smp.* tests their kernels lack.
        spec = spec_with([{"name": "smp.x", "lab": 0, "since": 4},
                          {"name": "boot.y", "lab": 0}])
        self.assertEqual([t.name for t in spec.tests_upto(3, True)],
                         ["boot.y"])
        self.assertEqual([t.name for t in spec.tests_upto(4, True)],
                         ["smp.x", "boot.y"])
        self.assertEqual(spec.trimmed(4, False)["tests"][0]["since"], 4)

    def test_since_before_the_tests_own_lab_is_refused(self) -> None:
        with self.assertRaises(SpecError):
            spec_with([{"name": "hat.x", "lab": 3, "since": 2}])


if __name__ == "__main__":
    unittest.main()
