"""``rlhf``: preference tuning with TRL (RLHF_METHOD ``dpo``, ``orpo``, ``kto`` or ``grpo``).

DPO is the default for the seed's "RLHF" stage: no reward model, no generation. The policy is
the LoRA-wrapped model; with PEFT, TRL uses the adapter-disabled base as the reference model,
so no second copy is loaded. GRPO scores sampled completions with the built-in reward functions
named in GRPO_REWARD_FUNCS (see :mod:`korean_llm_trainer.rewards`).
"""

from __future__ import annotations

import os
from typing import Any

from . import training_args as targs
from .contract import Config
from .deps import require
from .rewards import trl_reward_function
from .training import StageContext, run_stage

TRAINERS = {"dpo": ("DPOTrainer", "DPOConfig"), "orpo": ("ORPOTrainer", "ORPOConfig"),
            "kto": ("KTOTrainer", "KTOConfig"), "grpo": ("GRPOTrainer", "GRPOConfig")}


def _trl_classes(method: str) -> tuple[Any, Any]:
    """The trainer and config classes (ORPO lives in ``trl.experimental`` in TRL releases after 0.24)."""
    trl = require("trl", "trl")
    trainer_name, config_name = TRAINERS[method]
    if hasattr(trl, trainer_name):
        return getattr(trl, trainer_name), getattr(trl, config_name)
    module = require(f"trl.experimental.{method}", "trl")
    return getattr(module, trainer_name), getattr(module, config_name)


def build_trainer(ctx: StageContext) -> Any:
    """The TRL trainer for RLHF_METHOD, with ``processing_class=tokenizer``."""
    method = ctx.config["RLHF_METHOD"]
    trainer_cls, config_cls = _trl_classes(method)
    args = targs.build_arguments(
        config_cls, targs.preference_config_kwargs(ctx.config, ctx.plan.checkpoints_dir, ctx.bf16, ctx.plan.backend, ctx.plan.dist,
                                       ctx.plan.run)
    )
    kwargs: dict[str, Any] = {"model": ctx.model, "args": args, "train_dataset": ctx.dataset,
                              "processing_class": ctx.tokenizer, "callbacks": ctx.callbacks}
    if method == "grpo":
        kwargs["reward_funcs"] = [trl_reward_function(name) for name in ctx.config["GRPO_REWARD_FUNCS"]]
    return trainer_cls(**kwargs)


def main(config: Config) -> int:
    """The ``rlhf`` command."""
    return run_stage(config, os.environ, build_trainer)
