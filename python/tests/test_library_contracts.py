"""The builders against the pinned libraries' argument names (tests/fixtures/library_contracts.json).

The training libraries are not installed here, so the fixture stands in for them: fake classes
made from it reject any keyword their real counterpart does not take at the pinned release, and
Unsloth 2026.3.8's UnslothTrainingArguments drops ``embedding_learning_rate`` as the real one does.
"""

import contextlib
import dataclasses
import io
import importlib
import json
import sys
import types
import unittest
from pathlib import Path
from typing import Any
from unittest import mock

from korean_llm_trainer import training_args as targs
from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.training import StageContext, TrainingPlan
from korean_llm_trainer.training_args import DistInfo, RunSettings
from tests.helpers import valid_env

CONTRACTS = json.loads((Path(__file__).resolve().parent / "fixtures" / "library_contracts.json").read_text())
OUT = Path("/output/runs/r/m/cpt/checkpoints")
ONE = DistInfo()
MULTI = DistInfo(8, 0, 0, 4, 2)


def class_fields(name: str) -> set[str]:
    entry = CONTRACTS["classes"][name]
    fields = set(entry["fields"])
    if "base" in entry:
        fields |= class_fields(entry["base"])
    return fields


def removed(name: str) -> set[str]:
    entry = CONTRACTS["classes"].get(name) or CONTRACTS["functions"][name]
    out = set(entry.get("removed", []))
    if "base" in entry:
        out |= removed(entry["base"])
    return out


def params(name: str) -> set[str]:
    return set(CONTRACTS["functions"][name]["params"])


def fake_dataclass(name: str, post_init=None):
    """A dataclass with the fixture's fields (all defaulting to None); ``cls(**bad)`` raises TypeError."""
    namespace = {"__post_init__": post_init} if post_init else {}
    return dataclasses.make_dataclass(name, [(f, Any, None) for f in sorted(class_fields(name))], namespace=namespace)


class Recorder:
    """Records calls; rejects keywords outside the fixture's parameters."""

    def __init__(self, name: str):
        self.name, self.calls = name, []

    def __call__(self, *args, **kwargs):
        unknown = set(kwargs) - params(self.name)
        if unknown:
            raise TypeError(f"{self.name}() got unexpected keyword arguments {sorted(unknown)}")
        self.calls.append(kwargs)
        return types.SimpleNamespace(kwargs=kwargs, optimizer=self._optimizer(kwargs))

    def _optimizer(self, kwargs):
        optimizer = (kwargs.get("optimizers") or (None, None))[0]
        if optimizer is not None or "args" not in kwargs:
            return optimizer
        # What Trainer.create_optimizer builds when given none; UnslothTrainer adds an embedding group
        # only when args.embedding_learning_rate is set, which 2026.3.8 never does.
        model, args = kwargs["model"], kwargs["args"]
        return FakeOptimizer([{"params": [p for _, p in model.named_parameters() if p.requires_grad],
                               "lr": args.learning_rate}])


class FakeOptimizer:
    def __init__(self, param_groups, **kwargs):
        self.param_groups, self.defaults = param_groups, kwargs


class FakeParam:
    def __init__(self, name, requires_grad=True):
        self.name, self.requires_grad = name, requires_grad


class FakeModel:
    NAMES = ("base_model.model.model.embed_tokens.modules_to_save.default.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight",
             "base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight",
             "base_model.model.lm_head.modules_to_save.default.weight")

    def __init__(self):
        self.params = [FakeParam(n) for n in self.NAMES]
        self.params.append(FakeParam("base_model.model.model.embed_tokens.original_module.weight", False))

    def named_parameters(self):
        return [(p.name, p) for p in self.params]

    def modules(self):
        return []


def fake_libraries():
    """sys.modules entries for torch, bitsandbytes, trl, unsloth and peft, made from the fixture."""
    def drop_embedding_lr(self):  # unsloth 2026.3.8: assigned to a local in __init__
        self.embedding_learning_rate = None

    trl = types.ModuleType("trl")
    for config in ("SFTConfig", "DPOConfig", "ORPOConfig", "KTOConfig", "GRPOConfig"):
        setattr(trl, config, fake_dataclass(config))
    for trainer in ("SFTTrainer", "DPOTrainer", "ORPOTrainer", "KTOTrainer", "GRPOTrainer"):
        setattr(trl, trainer, Recorder(trainer))
    unsloth = types.ModuleType("unsloth")
    unsloth.UnslothTrainingArguments = fake_dataclass("UnslothTrainingArguments", drop_embedding_lr)
    unsloth.UnslothTrainer = Recorder("UnslothTrainer")
    unsloth.FastLanguageModel = types.SimpleNamespace(from_pretrained=Recorder("FastLanguageModel.from_pretrained"),
                                                      get_peft_model=Recorder("FastLanguageModel.get_peft_model"))
    torch = types.ModuleType("torch")
    torch_optim = types.ModuleType("torch.optim")
    torch_optim.AdamW = FakeOptimizer
    torch.optim = torch_optim
    torch.cuda = types.SimpleNamespace(is_available=lambda: False)
    torch.nn = types.SimpleNamespace(Embedding=type("Embedding", (), {}))
    bnb = types.ModuleType("bitsandbytes")
    bnb_optim = types.ModuleType("bitsandbytes.optim")
    bnb_optim.AdamW8bit = FakeOptimizer
    bnb_optim.GlobalOptimManager = types.SimpleNamespace(get_instance=lambda: mock.Mock())
    bnb.optim = bnb_optim
    peft = types.ModuleType("peft")
    peft.LoraConfig = fake_dataclass("LoraConfig")
    return {"trl": trl, "unsloth": unsloth, "torch": torch, "bitsandbytes": bnb, "bitsandbytes.optim": bnb_optim,
            "peft": peft, "torch.optim": torch_optim}


def config(command, **env):
    return parse_config(command, valid_env(command, LEARNING_RATE="1e-4", EMBEDDING_LEARNING_RATE="1e-5", **env))


def plan(command, backend, dist=ONE, tied=False):
    return TrainingPlan(command=command, kind=command, stage_dir=Path("/output/runs/r/m") / command,
                        checkpoints_dir=OUT, resume_from=None, backend=backend, dist=dist, base_model="org/model",
                        data_files=(), records_checked=1, run=RunSettings(), tied_embeddings=tied)


class ArgumentNamesTest(unittest.TestCase):
    def assert_fits(self, kwargs, cls):
        self.assertEqual(set(kwargs) - class_fields(cls), set(), f"not fields of {cls} at the pinned release")
        self.assertEqual(set(kwargs) & removed(cls), set())

    def test_sft_and_cpt_configs(self):
        for command in ("sft", "cpt"):
            for backend in ("unsloth", "transformers"):
                for dist in (ONE, MULTI):
                    for flash in (False, True):
                        for template in (None, "{% generation %}{{ m }}{% endgeneration %}"):
                            with self.subTest(command=command, backend=backend, world=dist.world_size, flash=flash):
                                self.assert_fits(targs.sft_config_kwargs(config(command), OUT, True, backend, dist,
                                                                         RunSettings(), flash, template), "SFTConfig")
        self.assert_fits(targs.unsloth_cpt_kwargs(config("cpt"), OUT, True, ONE), "UnslothTrainingArguments")

    def test_preference_configs(self):
        names = {"dpo": "DPOConfig", "orpo": "ORPOConfig", "kto": "KTOConfig", "grpo": "GRPOConfig"}
        for method, cls in names.items():
            for dist in (ONE, MULTI):
                with self.subTest(method=method, world=dist.world_size):
                    self.assert_fits(targs.preference_config_kwargs(config("rlhf", RLHF_METHOD=method), OUT, True,
                                                                    "transformers", dist), cls)

    def test_lora_and_loading(self):
        for command in ("cpt", "sft"):
            for tied in (False, True):
                with self.subTest(command=command, tied=tied):
                    self.assert_fits(targs.lora_kwargs(config(command), "transformers", tied), "LoraConfig")
                    unsloth = targs.lora_kwargs(config(command), "unsloth", tied)
                    self.assertEqual(set(unsloth) - params("FastLanguageModel.get_peft_model"), set())
                    self.assertEqual(set(unsloth) & removed("FastLanguageModel.get_peft_model"), set())
        for dist in (ONE, MULTI):
            load = targs.model_load_kwargs(config("sft"), "unsloth", True, dist)
            self.assertEqual(set(load) - params("FastLanguageModel.from_pretrained"), set())

    def test_the_fixture_catches_the_names_that_were_removed(self):
        with self.assertRaises(TypeError):
            fake_dataclass("SFTConfig")(max_seq_length=4096)
        with self.assertRaises(TypeError):
            Recorder("SFTTrainer")(model=None, tokenizer=None)
        self.assertIn("warmup_ratio", class_fields("SFTConfig"))


class BuildTrainerTest(unittest.TestCase):
    """Each stage's build_trainer with the fake libraries: every keyword exists at the pinned release."""

    def context(self, command, backend, **env):
        cfg = config(command, **env)
        tokenizer = types.SimpleNamespace(chat_template="{{ messages }}")
        dataset = mock.Mock()
        dataset.map.return_value = dataset
        return StageContext(cfg, plan(command, backend), FakeModel(), tokenizer, dataset, True, [])

    def build(self, module, ctx):
        with mock.patch.dict(sys.modules, fake_libraries()), contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(f"korean_llm_trainer.{module}").build_trainer(ctx)

    def embedding_rates(self, optimizer):
        rates = {}
        for group in optimizer.param_groups:
            for param in group["params"]:
                rates[param.name.split(".modules_to_save")[0].split(".")[-1] if "modules_to_save" in param.name
                      else "lora"] = group["lr"]
        return rates

    def test_cpt_trains_embeddings_at_the_embedding_rate_on_both_backends(self):
        for backend in ("unsloth", "transformers"):
            for four_bit in ("true", "false"):
                with self.subTest(backend=backend, four_bit=four_bit):
                    trainer = self.build("cpt", self.context("cpt", backend, LOAD_IN_4BIT=four_bit))
                    rates = self.embedding_rates(trainer.optimizer)
                    self.assertEqual(rates, {"embed_tokens": 1e-5, "lm_head": 1e-5, "lora": 1e-4})
                    frozen = [p for g in trainer.optimizer.param_groups for p in g["params"] if not p.requires_grad]
                    self.assertEqual(frozen, [])

    def test_unsloth_2026_3_8_would_have_dropped_the_embedding_rate(self):
        with mock.patch.dict(sys.modules, fake_libraries()):
            unsloth = sys.modules["unsloth"]
            args = targs.build_arguments(unsloth.UnslothTrainingArguments,
                                         targs.unsloth_cpt_kwargs(config("cpt"), OUT, True, ONE))
            self.assertIsNone(args.embedding_learning_rate)
            without_ours = unsloth.UnslothTrainer(model=FakeModel(), args=args)
        self.assertEqual({g["lr"] for g in without_ours.optimizer.param_groups}, {1e-4})

    def test_sft_and_rlhf_build_with_the_pinned_names(self):
        for backend in ("unsloth", "transformers"):
            with self.subTest(stage="sft", backend=backend):
                trainer = self.build("sft", self.context("sft", backend))
                self.assertIn("processing_class", trainer.kwargs)
                self.assertTrue(trainer.kwargs["args"].completion_only_loss)  # template without generation tags
            for method in ("dpo", "orpo", "kto", "grpo"):
                with self.subTest(stage="rlhf", method=method, backend=backend):
                    trainer = self.build("rlhf", self.context("rlhf", backend, RLHF_METHOD=method))
                    self.assertEqual(trainer.kwargs["args"].beta, 0.1)


class RealTorchOptimizerTest(unittest.TestCase):
    """The parameter groups in a real torch optimizer (python3-torch; skipped where torch is absent)."""

    def test_adamw_groups(self):
        try:
            import torch
        except ImportError:
            self.skipTest("torch is not installed (optional: Debian's python3-torch); the fake-library tests cover the groups")

        class Tiny(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed_tokens = torch.nn.Embedding(10, 4)
                self.q_proj = torch.nn.Linear(4, 4)
                self.norm = torch.nn.LayerNorm(4)
                self.lm_head = torch.nn.Linear(4, 10, bias=False)

        model = Tiny()
        model.q_proj.weight.requires_grad_(False)
        optimizer = torch.optim.AdamW(targs.optimizer_param_groups(model, config("cpt")), lr=1e-4)
        by_name = {n: g["lr"] for n, p in model.named_parameters() for g in optimizer.param_groups
                   if any(p is q for q in g["params"])}
        self.assertEqual(by_name, {"embed_tokens.weight": 1e-5, "q_proj.bias": 1e-4, "norm.weight": 1e-4,
                                   "norm.bias": 1e-4, "lm_head.weight": 1e-5})
        loss = model.lm_head(model.norm(model.q_proj(model.embed_tokens(torch.tensor([1, 2]))))).sum()
        loss.backward()
        optimizer.step()  # the groups are a valid optimizer configuration


if __name__ == "__main__":
    unittest.main()
