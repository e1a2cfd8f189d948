"""Checkpoint discovery, resume selection and the completion marker."""

import json
import tempfile
import unittest
from datetime import datetime, timezone
from pathlib import Path

from korean_llm_trainer.errors import TrainerError
from korean_llm_trainer.layout import (
    MARKER_NAME, build_marker, is_valid_checkpoint, latest_valid_checkpoint, list_checkpoints, read_marker, write_marker,
)


def make_checkpoint(root: Path, step: int, state=True, weights="adapter_model.safetensors", state_text=None) -> Path:
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if state:
        (path / "trainer_state.json").write_text(state_text or json.dumps({"global_step": step}))
    if weights:
        (path / weights).write_bytes(b"\0" * 16)
    return path


class CheckpointTest(unittest.TestCase):
    def setUp(self):
        self.root = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.root))

    def test_newest_valid_checkpoint_wins(self):
        make_checkpoint(self.root, 500)
        make_checkpoint(self.root, 1000)
        make_checkpoint(self.root, 50)
        self.assertEqual(latest_valid_checkpoint(self.root), self.root / "checkpoint-1000")
        self.assertEqual([s for s, _ in list_checkpoints(self.root)], [1000, 500, 50])  # numeric, not lexical

    def test_partially_written_checkpoints_are_skipped(self):
        make_checkpoint(self.root, 500)
        make_checkpoint(self.root, 1000, state=False)  # killed before trainer_state.json
        make_checkpoint(self.root, 1500, weights=None)  # no weights
        make_checkpoint(self.root, 2000, state_text='{"global_st')  # truncated state
        empty = make_checkpoint(self.root, 2500, weights=None)
        (empty / "adapter_model.safetensors").write_bytes(b"")  # zero-byte weights
        self.assertEqual(latest_valid_checkpoint(self.root), self.root / "checkpoint-500")

    def test_sharded_weights_need_every_shard(self):
        path = make_checkpoint(self.root, 10, weights=None)
        index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
        (path / "model.safetensors.index.json").write_text(json.dumps(index))
        (path / "model-00001-of-00002.safetensors").write_bytes(b"x")
        self.assertFalse(is_valid_checkpoint(path))
        (path / "model-00002-of-00002.safetensors").write_bytes(b"x")
        self.assertTrue(is_valid_checkpoint(path))

    def test_other_directories_are_ignored(self):
        make_checkpoint(self.root, 5)
        (self.root / "tmp-checkpoint-9").mkdir()
        (self.root / "runs").mkdir()
        self.assertEqual([s for s, _ in list_checkpoints(self.root)], [5])

    def test_no_checkpoint_directory(self):
        self.assertIsNone(latest_valid_checkpoint(self.root / "missing"))
        self.assertIsNone(latest_valid_checkpoint(self.root))


class MarkerTest(unittest.TestCase):
    def test_round_trip(self):
        with tempfile.TemporaryDirectory() as tmp:
            self.assertIsNone(read_marker(Path(tmp)))
            now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
            marker = build_marker("sft", "run-1", "/output/runs/run-1/m/cpt/model", {"train_loss": 1.5}, now=now)
            write_marker(Path(tmp), marker)
            read = read_marker(Path(tmp))
            self.assertEqual(read["finished_at"], "2026-01-02T03:04:05Z")
            self.assertEqual(read["stage"], "sft")
            self.assertEqual(read["run_id"], "run-1")
            self.assertEqual(read["base_model"], "/output/runs/run-1/m/cpt/model")
            self.assertEqual(read["metrics"], {"train_loss": 1.5})
            self.assertEqual([p.name for p in Path(tmp).iterdir()], [MARKER_NAME])  # no temp file left

    def test_a_corrupt_marker_is_an_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / MARKER_NAME).write_text("{")
            with self.assertRaisesRegex(TrainerError, "not valid JSON"):
                read_marker(Path(tmp))


if __name__ == "__main__":
    unittest.main()
