"""Trainer image of the cdk8s-korean-llm pipeline.

Commands (``python -m korean_llm_trainer <command>`` or, for the training stages,
``torchrun -m korean_llm_trainer <command>``): ``preprocess``, ``cpt``, ``sft``, ``rlhf``,
``evaluate`` and ``export``. Every command reads its settings from the environment variables
listed in ``contract.json`` (see :mod:`korean_llm_trainer.contract`).

Importing the package needs the standard library only; torch, transformers, TRL, Unsloth,
datasets and lm-evaluation-harness are imported inside the functions that need them.
"""

__version__ = "0.1.0"

COMMANDS = ("preprocess", "cpt", "sft", "rlhf", "evaluate", "export")
"""The trainer commands, in pipeline order."""

TRAINING_COMMANDS = ("cpt", "sft", "rlhf")
"""The commands that train (launched with ``torchrun``)."""
