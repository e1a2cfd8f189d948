"""Checkpoint discovery, resume selection and the completion marker."""

import io
import json
import struct
import tempfile
import zipfile
import unittest
from datetime import datetime, timezone
from pathlib import Path

from korean_llm_trainer.errors import TrainerError
from korean_llm_trainer.layout import (
    MARKER_NAME, build_marker, checkpoint_problems, is_valid_checkpoint, latest_valid_checkpoint, list_checkpoints, read_marker, write_marker,
)


def safetensors_bytes(tensors: dict[str, int] | None = None) -> bytes:
    """A file in the safetensors layout: u64 header length, JSON header, then the tensors' bytes
    (``tensors`` maps a name to its size in bytes; F32 rows)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, size in (tensors or {"lora_A.weight": 32, "lora_B.weight": 32}).items():
        header[name] = {"dtype": "F32", "shape": [size // 4], "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\1" * offset


def torch_zip_bytes() -> bytes:
    """A file in torch.save's zip layout (data.pkl plus a storage)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("archive/data/0", b"\0" * 256)
    return buffer.getvalue()


def make_checkpoint(root: Path, step: int, state=True, weights="adapter_model.safetensors", state_text=None,
                    optimizer=True) -> Path:
    path = root / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if state:
        (path / "trainer_state.json").write_text(state_text or json.dumps({"global_step": step}))
    if weights:
        (path / weights).write_bytes(safetensors_bytes() if weights.endswith(".safetensors") else torch_zip_bytes())
    if optimizer:
        (path / "optimizer.pt").write_bytes(torch_zip_bytes())
        (path / "scheduler.pt").write_bytes(torch_zip_bytes())
        (path / "rng_state_0.pth").write_bytes(torch_zip_bytes())
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
        (path / "model-00001-of-00002.safetensors").write_bytes(safetensors_bytes())
        self.assertFalse(is_valid_checkpoint(path))
        (path / "model-00002-of-00002.safetensors").write_bytes(safetensors_bytes())
        self.assertTrue(is_valid_checkpoint(path))

    def test_torn_weights_fall_back_to_the_previous_checkpoint(self):
        make_checkpoint(self.root, 500)
        torn = make_checkpoint(self.root, 1000)
        full = safetensors_bytes({"embed_tokens.weight": 4096})
        (torn / "adapter_model.safetensors").write_bytes(full[: len(full) - 100])  # the tail never reached the disk
        skipped = []
        self.assertEqual(latest_valid_checkpoint(self.root, skipped), self.root / "checkpoint-500")
        self.assertEqual(skipped[0][0], torn)
        self.assertRegex(skipped[0][1][0], r"adapter_model.safetensors: \d+ bytes, the header describes \d+")

    def test_a_torn_optimizer_or_rng_state_is_not_resumed_from(self):
        make_checkpoint(self.root, 500)
        for step, name in ((1000, "optimizer.pt"), (1500, "rng_state_0.pth"), (2000, "scheduler.pt")):
            bad = make_checkpoint(self.root, step)
            data = torch_zip_bytes()
            (bad / name).write_bytes(data[: len(data) // 2])  # no central directory: zip's last record
            self.assertIn(f"{name}: not a complete torch archive", " ".join(checkpoint_problems(bad)))
        self.assertEqual(latest_valid_checkpoint(self.root), self.root / "checkpoint-500")

    def test_garbage_and_oversized_headers_are_torn(self):
        path = make_checkpoint(self.root, 7)
        weights = path / "adapter_model.safetensors"
        weights.write_bytes(b"\0" * 16)
        self.assertRegex(" ".join(checkpoint_problems(path)), "header")
        weights.write_bytes(struct.pack("<Q", 1 << 40) + b"{}")
        self.assertRegex(" ".join(checkpoint_problems(path)), "does not fit")
        weights.write_bytes(safetensors_bytes())
        self.assertEqual(checkpoint_problems(path), [])

    def test_pytorch_bin_weights_are_checked_as_archives(self):
        path = make_checkpoint(self.root, 3, weights="pytorch_model.bin")
        self.assertTrue(is_valid_checkpoint(path))
        (path / "pytorch_model.bin").write_bytes(b"PK\x03\x04 torn")
        self.assertFalse(is_valid_checkpoint(path))

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
