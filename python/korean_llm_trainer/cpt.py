"""``cpt``: continued pre-training on raw Korean text (``{"text": ...}`` per line).

Unsloth path: ``UnslothTrainer`` + ``UnslothTrainingArguments`` with ``embed_tokens``/``lm_head``
among the LoRA targets. Plain path: TRL's ``SFTTrainer`` with ``embed_tokens``/``lm_head`` as PEFT
``modules_to_save``. On both, the stage builds the optimizer itself, with parameter groups that
give the embeddings EMBEDDING_LEARNING_RATE (Unsloth 2026.3.8 drops that setting; see
:func:`korean_llm_trainer.training_args.optimizer_param_groups`).
"""

from __future__ import annotations

import os
from typing import Any

from . import training_args as targs
from .contract import Config
from .deps import require
from .training import StageContext, run_stage


def build_optimizer(model: Any, config: Config) -> Any:
    """The AdamW (8-bit with a 4-bit base) over :func:`targs.optimizer_param_groups`."""
    torch = require("torch", "torch")
    name, kwargs = targs.optimizer_spec(config, bool(torch.cuda.is_available()))
    module_name, class_name = name.rsplit(".", 1)
    optimizer_cls = getattr(require(module_name, module_name.split(".")[0], "cpt's optimizer"), class_name)
    if module_name.startswith("bitsandbytes"):
        # As Transformers does for optim="adamw_8bit": embeddings keep 32-bit optimizer state.
        manager = require("bitsandbytes.optim", "bitsandbytes").GlobalOptimManager.get_instance()
        for module in model.modules():
            if isinstance(module, torch.nn.Embedding):
                manager.register_module_override(module, "weight", {"optim_bits": 32})
    return optimizer_cls(targs.optimizer_param_groups(model, config), **kwargs)


def build_trainer(ctx: StageContext) -> Any:
    """The CPT trainer for the context's backend, with the stage's own optimizer."""
    config, plan = ctx.config, ctx.plan
    optimizer = build_optimizer(ctx.model, config)
    if plan.backend == "unsloth":
        unsloth = require("unsloth", "unsloth")
        args = targs.build_arguments(
            unsloth.UnslothTrainingArguments,
            targs.unsloth_cpt_kwargs(config, plan.checkpoints_dir, ctx.bf16, plan.dist, plan.run),
        )
        return unsloth.UnslothTrainer(
            model=ctx.model, args=args, train_dataset=ctx.dataset, processing_class=ctx.tokenizer,
            optimizers=(optimizer, None), callbacks=ctx.callbacks,
        )
    trl = require("trl", "trl")
    kwargs = targs.sft_config_kwargs(config, plan.checkpoints_dir, ctx.bf16, plan.backend, plan.dist, plan.run,
                                     ctx.flash_attention)
    return trl.SFTTrainer(
        model=ctx.model, args=targs.build_arguments(trl.SFTConfig, kwargs), train_dataset=ctx.dataset,
        processing_class=ctx.tokenizer, optimizers=(optimizer, None), callbacks=ctx.callbacks,
    )


def main(config: Config) -> int:
    """The ``cpt`` command."""
    return run_stage(config, os.environ, build_trainer)
