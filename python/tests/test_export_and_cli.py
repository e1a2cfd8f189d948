"""Export source resolution, and the command line: dispatch, exit codes, clear failures."""

import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from korean_llm_trainer.__main__ import run
from korean_llm_trainer.deps import require
from korean_llm_trainer.errors import MissingDependencyError, TrainerError
from korean_llm_trainer.export import adapter_base_model, resolve_source
from tests.helpers import valid_env
from tests.test_layout import make_checkpoint


class ExportSourceTest(unittest.TestCase):
    def test_resolution_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            stage = Path(tmp)
            with self.assertRaisesRegex(TrainerError, "holds no LoRA adapter"):
                resolve_source(stage)
            (stage / "model").mkdir()
            (stage / "model" / "config.json").write_text("{}")
            self.assertEqual(resolve_source(stage), ("model", stage / "model"))
            ckpt = make_checkpoint(stage / "checkpoints", 300)
            (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base"}))
            self.assertEqual(resolve_source(stage), ("adapter", ckpt))
            (stage / "adapter").mkdir()
            (stage / "adapter" / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base"}))
            self.assertEqual(resolve_source(stage), ("adapter", stage / "adapter"))
            self.assertEqual(resolve_source(stage / "adapter"), ("adapter", stage / "adapter"))
            self.assertEqual(adapter_base_model(stage / "adapter"), "org/base")

    def test_adapter_without_base(self):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "adapter_config.json").write_text("{}")
            with self.assertRaisesRegex(TrainerError, "base_model_name_or_path"):
                adapter_base_model(Path(tmp))


class CliTest(unittest.TestCase):
    def run_cli(self, argv, env):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = run(argv, env)
        return code, err.getvalue()

    def test_usage(self):
        self.assertEqual(self.run_cli([], {})[0], 2)
        self.assertEqual(self.run_cli(["deploy"], {})[0], 2)
        self.assertEqual(self.run_cli(["--help"], {})[0], 0)

    def test_stage_mismatch_is_a_clear_error(self):
        code, err = self.run_cli(["sft"], valid_env("sft", STAGE="CPT"))
        self.assertEqual(code, 2)
        self.assertIn("'STAGE' is 'CPT' but the command is 'sft'", err)

    def test_missing_dataset_fails_before_any_gpu_work(self):
        env = valid_env("cpt", DATA_PATH="/nonexistent/corpus.jsonl", OUTPUT_DIR=tempfile.mkdtemp(),
                        BASE_MODEL_PATH="org/model", LEARNING_RATE="1e-5")
        code, err = self.run_cli(["cpt"], env)
        self.assertEqual(code, 2)
        self.assertIn("dataset path /nonexistent/corpus.jsonl does not exist", err)

    def test_missing_heavy_library_names_the_package_and_the_image(self):
        with self.assertRaises(MissingDependencyError) as ctx:
            require("korean_llm_trainer_no_such_module", "no-such-package", "a test")
        message = str(ctx.exception)
        self.assertIn("'no-such-package' is not installed (needed for a test)", message)
        self.assertIn("python/Dockerfile", message)
        self.assertEqual(ctx.exception.exit_code, 3)

    def test_export_without_torch_says_which_package(self):
        from korean_llm_trainer.deps import is_available
        if is_available("torch"):
            self.skipTest("torch is installed here")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "org/base"}))
            env = valid_env("export", MODEL_PATH=tmp, OUTPUT_DIR=str(Path(tmp) / "out"))
            code, err = self.run_cli(["export"], env)
        self.assertEqual(code, 3)
        self.assertIn("'torch' is not installed", err)


if __name__ == "__main__":
    unittest.main()
