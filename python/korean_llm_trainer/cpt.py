"""``cpt``: continued pre-training on raw Korean text (``{"text": ...}`` per line).

Unsloth path: ``UnslothTrainer`` + ``UnslothTrainingArguments(embedding_learning_rate=...)``
with ``embed_tokens``/``lm_head`` among the LoRA targets. Plain path: TRL's ``SFTTrainer`` with
``embed_tokens``/``lm_head`` as PEFT ``modules_to_save`` and an AdamW whose parameter groups give
them the smaller embedding learning rate.
"""

from __future__ import annotations

import os
from typing import Any

from . import training_args as targs
from .contract import Config
from .deps import require
from .training import StageContext, run_stage


def build_trainer(ctx: StageContext) -> Any:
    """The CPT trainer for the context's backend."""
    config, plan = ctx.config, ctx.plan
    if plan.backend == "unsloth":
        unsloth = require("unsloth", "unsloth")
        args = targs.build_arguments(
            unsloth.UnslothTrainingArguments, targs.unsloth_cpt_kwargs(config, plan.checkpoints_dir, ctx.bf16, plan.dist)
        )
        return unsloth.UnslothTrainer(
            model=ctx.model, args=args, train_dataset=ctx.dataset, processing_class=ctx.tokenizer,
            callbacks=ctx.callbacks,
        )
    torch = require("torch", "torch")
    trl = require("trl", "trl")
    kwargs = targs.sft_config_kwargs(config, plan.checkpoints_dir, ctx.bf16, plan.backend, plan.dist)
    groups = targs.param_groups(
        ((n, p) for n, p in ctx.model.named_parameters() if p.requires_grad),
        config["LEARNING_RATE"], targs.embedding_learning_rate(config), config["WEIGHT_DECAY"],
    )
    optimizer = torch.optim.AdamW(groups, lr=config["LEARNING_RATE"], fused=torch.cuda.is_available())
    return trl.SFTTrainer(
        model=ctx.model, args=targs.build_arguments(trl.SFTConfig, kwargs), train_dataset=ctx.dataset,
        processing_class=ctx.tokenizer, optimizers=(optimizer, None), callbacks=ctx.callbacks,
    )


def main(config: Config) -> int:
    """The ``cpt`` command."""
    return run_stage(config, os.environ, build_trainer)
