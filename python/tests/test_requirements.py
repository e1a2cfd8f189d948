"""The image's dependency files: pins that exist, constraints for the transitive set, fixtures in step."""

import json
import re
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_PIN_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+-]*)")


def canonical(name: str) -> str:
    """PEP 503 name normalisation (``unsloth_zoo`` and ``Unsloth-Zoo`` are one project)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """``name -> version`` of every requirement line; raise on a line that is not ``name==version``."""
    pins: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("--"):
            continue
        match = _PIN_RE.fullmatch(line)
        if not match:
            raise AssertionError(f"{path.name}:{lineno}: {raw!r} is not pinned as name==version")
        name = canonical(match.group(1))
        if name in pins:
            raise AssertionError(f"{path.name}:{lineno}: {name} is pinned twice")
        pins[name] = match.group(2)
    return pins


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


class RequirementsTest(unittest.TestCase):
    def setUp(self):
        self.requirements = read_pins(ROOT / "requirements.txt")
        self.constraints = read_pins(ROOT / "constraints.txt")
        self.releases = json.loads((FIXTURES / "releases.json").read_text(encoding="utf-8"))
        self.contracts = json.loads((FIXTURES / "library_contracts.json").read_text(encoding="utf-8"))

    def test_every_pin_is_a_release_that_exists(self):
        for name, facts in self.releases["packages"].items():
            with self.subTest(package=name):
                pinned = self.requirements.get(name) or self.constraints.get(name)
                self.assertIsNotNone(pinned, f"{name} is not pinned")
                self.assertLessEqual(version_tuple(pinned), version_tuple(facts["newest"]),
                                     f"{name}=={pinned} is newer than its newest release {facts['newest']}")
                if "released" in facts:
                    self.assertIn(pinned, facts["released"])

    def test_kss_is_a_release_that_exists(self):
        self.assertEqual(self.requirements["kss"], "6.0.6")

    def test_the_constraints_pin_the_transitive_set_and_do_not_override_requirements(self):
        for name in ("torchao", "huggingface-hub", "tokenizers", "triton", "fsspec", "pyarrow"):
            self.assertIn(name, self.constraints)
        self.assertEqual(set(self.requirements) & set(self.constraints), set())

    def test_the_dockerfile_installs_with_the_constraints(self):
        dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
        self.assertIn("COPY requirements.txt constraints.txt", dockerfile)
        self.assertRegex(dockerfile, r"pip install -r requirements\.txt -c constraints\.txt")
        self.assertIn("pip check", dockerfile)

    def test_the_library_fixtures_were_taken_from_the_pinned_releases(self):
        for library, version in self.contracts["versions"].items():
            with self.subTest(library=library):
                self.assertEqual(self.requirements[canonical(library)], version,
                                 f"requirements.txt pins {library}=={self.requirements.get(canonical(library))} "
                                 f"but tests/fixtures/library_contracts.json describes {version}; refresh the fixtures")

    def test_the_window_comment_names_the_unsloth_embedding_fix(self):
        text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
        self.assertIn("2026.3.11", text)
        self.assertNotIn("kss==6.1", text)


if __name__ == "__main__":
    unittest.main()
