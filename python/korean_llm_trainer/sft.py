"""``sft``: supervised fine-tuning on chat data (``{"messages": [...]}`` per line).

TRL renders conversational records with the tokenizer's chat template, so the base model must
have one (instruct models and the CPT output of one do). The loss covers the assistant's words
only (:func:`korean_llm_trainer.training_args.sft_loss_kwargs`): TRL's ``assistant_only_loss``
when the template marks assistant turns with ``{% generation %}``, otherwise the records become
prompt-completion pairs (the last assistant turn is the completion) and ``completion_only_loss``
masks the prompt. Packing: see :func:`korean_llm_trainer.training_args.packing_kwargs`.
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
    template = ctx.tokenizer.chat_template
    kwargs = targs.sft_config_kwargs(ctx.config, ctx.plan.checkpoints_dir, ctx.bf16, ctx.plan.backend, ctx.plan.dist,
                                     ctx.plan.run, ctx.flash_attention, template)
    dataset = ctx.dataset
    if kwargs.get("completion_only_loss"):
        dataset = dataset.map(targs.to_prompt_completion, remove_columns=["messages"],
                              num_proc=ctx.plan.run.dataset_num_proc)
    if not kwargs["packing"] and ctx.config["PACKING"]:
        print("sft: PACKING=true but packed conversations would attend to each other here (no FlashAttention 2, "
              "not Unsloth); training unpacked", flush=True)
    return trl.SFTTrainer(
        model=ctx.model, args=targs.build_arguments(trl.SFTConfig, kwargs), train_dataset=dataset,
        processing_class=ctx.tokenizer, callbacks=ctx.callbacks,
    )


def main(config: Config) -> int:
    """The ``sft`` command."""
    return run_stage(config, os.environ, build_trainer)
