"""Contract test with the TypeScript side: parse every synthesized stage env with the trainer's parser.

``npm test`` runs jest first, which writes one JSON file per trainer container into the folder
named by ``KOREAN_LLM_ENV_DIR`` (relative to the repository root), of the form::

    {"origin": "<example/chart/path>", "command": "cpt",
     "env": {"NAME": "value", ...}, "secrets": ["WANDB_API_KEY", ...]}

Secrets are set by ``secretKeyRef`` in the manifests, so they are present by reference: the
test gives them a dummy value. Run alone (no folder or no file) the test is skipped.
"""

from __future__ import annotations

import json
import os
import tempfile
import unittest
from pathlib import Path
from typing import Any

from korean_llm_trainer import COMMANDS
from korean_llm_trainer.contract import Config, parse_config
from korean_llm_trainer.errors import ContractError

ENV_DIR_VAR = "KOREAN_LLM_ENV_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
DUMMY_SECRET = "dummy-secret-by-reference"


def env_dir_from(value: str | None) -> Path | None:
    """The env folder: absolute, or relative to the working directory, else to the repository root."""
    if not value:
        return None
    path = Path(value)
    if path.is_absolute() or path.exists():
        return path
    return REPO_ROOT / path


def env_files(directory: Path | None) -> list[Path]:
    """Every ``*.json`` under ``directory`` (sorted), or [] when there is no such folder."""
    if directory is None or not directory.is_dir():
        return []
    return sorted(directory.rglob("*.json"))


def parse_env_document(doc: Any) -> Config:
    """Parse one synthesized container env with the trainer's own parser."""
    if not isinstance(doc, dict):
        raise ContractError("the env file must hold a JSON object")
    command, env, secrets = doc.get("command"), doc.get("env"), doc.get("secrets", [])
    if command not in COMMANDS:
        raise ContractError(f"'command' must be one of {', '.join(COMMANDS)}, got {command!r}")
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ContractError("'env' must map names to string values")
    if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
        raise ContractError("'secrets' must be a list of names")
    placeholders = sorted(k for k, v in env.items() if "{{" in v)
    if placeholders:
        raise ContractError(f"unsubstituted Argo placeholders in {', '.join(placeholders)}")
    literal_secrets = sorted(set(secrets) & set(env))
    if literal_secrets:
        raise ContractError(f"secrets also given as literal values: {', '.join(literal_secrets)}")
    full_env = dict(env)
    full_env.update({name: DUMMY_SECRET for name in secrets})
    return parse_config(command, full_env)


def check_env_files(files: list[Path]) -> tuple[int, list[str]]:
    """Parse every file; return how many parsed and one message per failure."""
    failures, parsed = [], 0
    for file in files:
        doc: Any = None
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
            parse_env_document(doc)
            parsed += 1
        except (ValueError, ContractError) as err:
            origin = doc.get("origin", "?") if isinstance(doc, dict) else "?"
            failures.append(f"{file.name} ({origin}): {err}")
    return parsed, failures


class SynthesizedEnvTest(unittest.TestCase):
    """Every stage env the constructs synthesize parses with the trainer's parser."""

    def test_every_synthesized_stage_env_parses(self):
        raw = os.environ.get(ENV_DIR_VAR)
        if not raw:
            self.skipTest(f"{ENV_DIR_VAR} is not set: run through `npm test`, which synthesizes the examples first")
        files = env_files(env_dir_from(raw))
        if not files:
            self.skipTest(f"{ENV_DIR_VAR}={raw} holds no *.json file: run through `npm test`")
        parsed, failures = check_env_files(files)
        self.assertFalse(failures, "synthesized envs the trainer rejects:\n" + "\n".join(failures))
        self.assertEqual(parsed, len(files))


class EnvLoaderTest(unittest.TestCase):
    """The loader itself, on sample files."""

    def write(self, directory: Path, name: str, doc: Any) -> Path:
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc), encoding="utf-8")
        return path

    def test_parses_good_files_and_reports_bad_ones(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            self.write(root, "a-cpt.json", {
                "origin": "examples/basic/korean-llm/cpt", "command": "cpt", "secrets": ["WANDB_API_KEY", "HF_TOKEN"],
                "env": {"STAGE": "CPT", "RUN_ID": "korean-llm-abc12", "MODEL_NAME": "qwen2-5-7b",
                        "BASE_MODEL_PATH": "unsloth/Qwen2.5-7B-bnb-4bit", "DATA_PATH": "/data/corpus/corpus.jsonl",
                        "OUTPUT_DIR": "/output/runs/korean-llm-abc12/qwen2-5-7b/cpt", "LEARNING_RATE": "1e-5",
                        "NUM_EPOCHS": "2", "WANDB_PROJECT": "korean-llm-cpt"},
            })
            self.write(root, "nested/b-evaluate.json", {
                "origin": "examples/basic/korean-llm/evaluate", "command": "evaluate", "secrets": [],
                "env": {"STAGE": "EVALUATE", "RUN_ID": "korean-llm-abc12", "MODEL_NAME": "qwen2-5-7b",
                        "MODEL_PATH": "/output/runs/korean-llm-abc12/qwen2-5-7b/rlhf/model",
                        "SCORE_FILE": "/tmp/score", "EVAL_TASKS": "kobest,kmmlu,haerae"},
            })
            self.write(root, "c-bad.json", {
                "origin": "examples/bad/sft", "command": "sft", "secrets": [],
                "env": {"STAGE": "SFT", "RUN_ID": "{{workflow.name}}", "LEARNING_RATE": "fast"},
            })
            files = env_files(root)
            self.assertEqual([f.name for f in files], ["a-cpt.json", "c-bad.json", "b-evaluate.json"])
            parsed, failures = check_env_files(files)
            self.assertEqual(parsed, 2)
            self.assertEqual(len(failures), 1)
            self.assertIn("examples/bad/sft", failures[0])
            self.assertIn("RUN_ID", failures[0])

    def test_secrets_are_present_by_reference(self):
        doc = {"command": "export", "secrets": ["HF_TOKEN"],
               "env": {"STAGE": "EXPORT", "RUN_ID": "r", "MODEL_NAME": "m", "MODEL_PATH": "/output/x/sft",
                       "OUTPUT_DIR": "/output/x/export"}}
        self.assertTrue(parse_env_document(doc).has_secret("HF_TOKEN"))

    def test_literal_secret_is_rejected(self):
        doc = {"command": "export", "secrets": ["HF_TOKEN"],
               "env": {"STAGE": "EXPORT", "RUN_ID": "r", "MODEL_NAME": "m", "MODEL_PATH": "/output/x/sft",
                       "OUTPUT_DIR": "/output/x/export", "HF_TOKEN": "hf_literal"}}
        with self.assertRaisesRegex(ContractError, "literal"):
            parse_env_document(doc)

    def test_missing_folder_gives_no_files(self):
        self.assertEqual(env_files(None), [])
        self.assertEqual(env_files(Path(tempfile.gettempdir()) / "does-not-exist-korean-llm"), [])

    def test_relative_folder_resolves_against_the_repository_root(self):
        self.assertEqual(env_dir_from("no-such-dir-xyz"), REPO_ROOT / "no-such-dir-xyz")


if __name__ == "__main__":
    unittest.main()
