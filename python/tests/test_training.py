"""The shared training run: preflight checks, resume selection and idempotent re-runs (no torch)."""

import contextlib
import io
import json
import tempfile
import unittest
from pathlib import Path

from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.errors import ContractError, DatasetError, TrainerError
from korean_llm_trainer.layout import MARKER_NAME
from korean_llm_trainer.training import (
    SingleProcess, agree_on_resume, check_base_model, finish_stage, plan_training, run_stage,
)
from tests.helpers import write_jsonl
from tests.test_layout import make_checkpoint
from tests.helpers import valid_env


class TrainingRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))
        self.data = write_jsonl(self.tmp / "data" / "sft.jsonl", [
            {"messages": [{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "안녕하세요."}]}])
        self.stage_dir = self.tmp / "runs" / "run-1" / "qwen" / "sft"
        self.calls = []

    def config(self, **env):
        base = {"RUN_ID": "run-1", "MODEL_NAME": "qwen", "BASE_MODEL_PATH": "unsloth/Qwen2.5-7B-bnb-4bit",
                "DATA_PATH": str(self.data), "OUTPUT_DIR": str(self.stage_dir), "LEARNING_RATE": "2e-5"}
        base.update(env)
        return parse_config("sft", valid_env("sft", **base))

    def fake_train(self, config, plan, build_trainer):
        self.calls.append(plan)
        return {"train_loss": 1.23, "train_runtime": 10.0, "epoch": 1.0, "note": "text"}

    def run_quietly(self, config, env=None):
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = run_stage(config, env or {}, lambda ctx: None, train=self.fake_train)
        return code, out.getvalue()

    def test_first_run_trains_and_writes_the_marker_second_run_skips(self):
        code, _ = self.run_quietly(self.config())
        self.assertEqual(code, 0)
        self.assertEqual(len(self.calls), 1)
        marker = json.loads((self.stage_dir / MARKER_NAME).read_text())
        self.assertEqual(marker["stage"], "sft")
        self.assertEqual(marker["run_id"], "run-1")
        self.assertEqual(marker["base_model"], "unsloth/Qwen2.5-7B-bnb-4bit")
        self.assertEqual(marker["metrics"], {"train_loss": 1.23, "train_runtime": 10.0, "epoch": 1.0})
        self.assertTrue(marker["finished_at"].endswith("Z"))
        code, out = self.run_quietly(self.config())
        self.assertEqual(code, 0)
        self.assertEqual(len(self.calls), 1)
        self.assertIn("nothing to do", out)

    def test_only_rank_zero_writes_the_marker(self):
        self.run_quietly(self.config(), {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
        self.assertEqual(len(self.calls), 1)
        self.assertFalse((self.stage_dir / MARKER_NAME).exists())

    def test_resumes_from_the_newest_valid_checkpoint(self):
        make_checkpoint(self.stage_dir / "checkpoints", 500)
        make_checkpoint(self.stage_dir / "checkpoints", 1000, state=False)
        self.run_quietly(self.config())
        self.assertEqual(self.calls[0].resume_from, self.stage_dir / "checkpoints" / "checkpoint-500")

    def test_plan_picks_the_backend_from_the_node_count(self):
        single = plan_training(self.config(), {"WORLD_SIZE": "4", "LOCAL_WORLD_SIZE": "4"}, unsloth_available=True)
        multi = plan_training(self.config(), {"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4", "PET_NNODES": "2"},
                              unsloth_available=True)
        self.assertEqual((single.backend, multi.backend), ("unsloth", "transformers"))
        self.assertEqual(single.kind, "sft")
        self.assertIsNone(single.resume_from)

    def test_fails_before_training_on_a_bad_dataset(self):
        write_jsonl(self.data, [{"text": "CPT text in an SFT stage"}])
        with self.assertRaisesRegex(DatasetError, "missing|messages"):
            self.run_quietly(self.config())
        self.assertEqual(self.calls, [])

    def test_fails_before_training_on_an_empty_dataset(self):
        self.data.write_text("")
        with self.assertRaisesRegex(DatasetError, "empty"):
            self.run_quietly(self.config())

    def test_fails_before_training_on_a_missing_base_model_path(self):
        with self.assertRaisesRegex(TrainerError, "does not exist"):
            self.run_quietly(self.config(BASE_MODEL_PATH=str(self.tmp / "runs/run-1/qwen/cpt/model")))
        self.assertEqual(self.calls, [])

    def test_fails_before_training_on_a_bad_hyperparameter_combination(self):
        env = dict(RLHF_METHOD="grpo", GRADIENT_ACCUMULATION_STEPS="3", PER_DEVICE_BATCH_SIZE="1")
        prefs = write_jsonl(self.tmp / "data" / "prompts.jsonl", [{"prompt": "질문"}])
        config = parse_config("rlhf", valid_env("rlhf", DATA_PATH=str(prefs), OUTPUT_DIR=str(self.stage_dir),
                                                BASE_MODEL_PATH="org/model", **env))
        with self.assertRaises(ContractError):
            self.run_quietly(config)
        self.assertEqual(self.calls, [])


class BaseModelTest(unittest.TestCase):
    def test_hub_ids_and_local_paths(self):
        check_base_model("unsloth/Qwen2.5-7B-bnb-4bit")
        check_base_model("gpt2")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "config.json").write_text("{}")
            check_base_model(tmp)
            with self.assertRaisesRegex(TrainerError, "holds no config.json"):
                check_base_model(str(Path(tmp) / ".."))
        for bad in ("org/name/extra", "has space/x", ""):
            with self.subTest(bad=bad), self.assertRaises(TrainerError):
                check_base_model(bad)


if __name__ == "__main__":
    unittest.main()


class FakeCollective:
    """Stands in for the process group: rank 0's broadcast value and a log of calls."""

    def __init__(self, log, rank0_value=None):
        self.log, self.rank0_value = log, rank0_value

    def broadcast(self, value):
        self.log.append(("broadcast", value))
        return self.rank0_value if self.rank0_value is not None else value

    def barrier(self, name):
        self.log.append(("barrier", name))


class MultiNodeTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))
        self.data = write_jsonl(self.tmp / "sft.jsonl", [
            {"messages": [{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "안녕하세요."}]}])

    def config(self, **env):
        base = {"RUN_ID": "run-1", "MODEL_NAME": "qwen", "BASE_MODEL_PATH": "org/model", "DATA_PATH": str(self.data),
                "OUTPUT_DIR": str(self.tmp / "sft"), "LEARNING_RATE": "2e-5"}
        base.update(env)
        return parse_config("sft", valid_env("sft", **base))

    def test_rank_zero_merges_between_barriers_after_every_rank_saved_and_freed(self):
        for rank, expected in ((0, ["save", "release", ("barrier", "adapter saved"), "merge", ("barrier", "model merged")]),
                               (1, ["save", "release", ("barrier", "adapter saved"), ("barrier", "model merged")])):
            log = []
            plan = plan_training(self.config(), {"WORLD_SIZE": "8", "RANK": str(rank), "LOCAL_WORLD_SIZE": "4",
                                                 "PET_NNODES": "2"}, unsloth_available=False)
            finish_stage(plan, FakeCollective(log), lambda: log.append("save"), lambda: log.append("release"),
                         lambda: log.append("merge"))
            self.assertEqual(log, expected)

    def test_every_rank_resumes_from_rank_zeros_choice(self):
        env = {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"}
        make_checkpoint(self.tmp / "sft" / "checkpoints", 100)
        plan = plan_training(self.config(), env, unsloth_available=False)
        self.assertEqual(plan.resume_from.name, "checkpoint-100")  # what rank 1 sees on its own
        rank0_choice = str(self.tmp / "sft" / "checkpoints" / "checkpoint-200")
        log = []
        agreed = agree_on_resume(plan, FakeCollective(log, rank0_choice))
        self.assertEqual(agreed.resume_from, Path(rank0_choice))
        self.assertEqual(log, [("broadcast", None)])  # a non-zero rank sends nothing of its own
        main = plan_training(self.config(), {}, unsloth_available=False)
        self.assertEqual(agree_on_resume(main, SingleProcess()).resume_from, main.resume_from)

    def test_the_dataset_cache_is_on_the_run_volume_and_timeouts_are_long(self):
        plan = plan_training(self.config(), {"WORLD_SIZE": "2"}, unsloth_available=False, cpus=16)
        self.assertEqual(plan.cache_dir, self.tmp / "sft" / "cache" / "datasets")
        self.assertEqual(plan.run.ddp_timeout, 3 * 3600)
        self.assertEqual(plan.run.dataset_num_proc, 8)  # 16 CPUs shared by 2 local processes
        custom = plan_training(self.config(), {"DDP_TIMEOUT": "7200", "DATASET_NUM_PROC": "4"}, unsloth_available=False)
        self.assertEqual((custom.run.ddp_timeout, custom.run.dataset_num_proc), (7200, 4))
        with self.assertRaisesRegex(ContractError, "'DDP_TIMEOUT' must be at least 60 seconds, got 5"):
            plan_training(self.config(), {"DDP_TIMEOUT": "5"}, unsloth_available=False)

    def test_cpt_of_a_tied_model_takes_the_peft_path(self):
        model = self.tmp / "base"
        model.mkdir()
        (model / "config.json").write_text(json.dumps({"tie_word_embeddings": True}))
        text = write_jsonl(self.tmp / "cpt.jsonl", [{"text": "한국어 문장입니다."}])
        cfg = parse_config("cpt", valid_env("cpt", BASE_MODEL_PATH=str(model), DATA_PATH=str(text),
                                            OUTPUT_DIR=str(self.tmp / "cpt")))
        plan = plan_training(cfg, {}, unsloth_available=True)
        self.assertEqual((plan.backend, plan.tied_embeddings), ("transformers", True))
        (model / "config.json").write_text(json.dumps({"tie_word_embeddings": False}))
        self.assertEqual(plan_training(cfg, {}, unsloth_available=True).backend, "unsloth")


class MarkerSettingsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp())
        self.addCleanup(lambda: __import__("shutil").rmtree(self.tmp))
        self.data = write_jsonl(self.tmp / "sft.jsonl", [
            {"messages": [{"role": "user", "content": "안녕?"}, {"role": "assistant", "content": "안녕하세요."}]}])
        self.calls = []

    def run_with(self, **env):
        base = {"RUN_ID": "run-1", "MODEL_NAME": "qwen", "BASE_MODEL_PATH": "org/model", "DATA_PATH": str(self.data),
                "OUTPUT_DIR": str(self.tmp / "sft"), "LEARNING_RATE": "2e-5"}
        base.update(env)
        with contextlib.redirect_stdout(io.StringIO()) as out:
            run_stage(parse_config("sft", valid_env("sft", **base)), {}, lambda ctx: None,
                      train=lambda c, p, b: self.calls.append(p) or {"train_loss": 1.0})
        return out.getvalue()

    def test_a_rerun_with_other_settings_is_an_error_not_a_silent_skip(self):
        self.run_with()
        marker = json.loads((self.tmp / "sft" / MARKER_NAME).read_text())
        self.assertEqual(marker["settings"]["LEARNING_RATE"], "2e-05")
        self.assertEqual(len(marker["config_hash"]), 16)
        self.assertIn("settings unchanged", self.run_with())
        self.assertIn("nothing to do", self.run_with(LOGGING_STEPS="50", WANDB_API_KEY="k"))  # operational only
        with self.assertRaisesRegex(TrainerError, "LEARNING_RATE: '2e-05' -> '0.0001'.*new RUN_ID"):
            self.run_with(LEARNING_RATE="1e-4")
        self.assertEqual(len(self.calls), 1)

    def test_a_marker_without_a_hash_is_still_honoured(self):
        stage = self.tmp / "sft"
        stage.mkdir()
        (stage / MARKER_NAME).write_text(json.dumps({"stage": "sft", "finished_at": "2026-01-01T00:00:00Z"}))
        self.assertIn("records no settings hash", self.run_with())
        self.assertEqual(self.calls, [])
