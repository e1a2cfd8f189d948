"""``sft``: supervised fine-tuning on chat data (``{"messages": [...]}`` per line).

TRL renders conversational records with the tokenizer's chat template, so the base model must
have one (instruct models and the CPT output of one do).
"""

from __future__ import annotations

import os
from typing import Any

from . import training_args as targs
from .contract import Config
from .deps import require
from .errors import TrainerError
from .training import StageContext, run_stage


def build_trainer(ctx: StageContext) -> Any:
    """``SFTTrainer(model, args=SFTConfig(...), train_dataset, processing_class=tokenizer)``."""
    if getattr(ctx.tokenizer, "chat_template", None) is None:
        raise TrainerError(
            f"the tokenizer of {ctx.plan.base_model!r} has no chat template; SFT renders "
            "'messages' with it, so start from an instruct model or one whose tokenizer defines it"
        )
    trl = require("trl", "trl")
    args = targs.build_arguments(
        trl.SFTConfig, targs.sft_config_kwargs(ctx.config, ctx.plan.checkpoints_dir, ctx.bf16, ctx.plan.backend, ctx.plan.dist)
    )
    return trl.SFTTrainer(
        model=ctx.model, args=args, train_dataset=ctx.dataset, processing_class=ctx.tokenizer,
        callbacks=ctx.callbacks,
    )


def main(config: Config) -> int:
    """The ``sft`` command."""
    return run_stage(config, os.environ, build_trainer)
