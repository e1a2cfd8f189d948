"""Pure builders of the keyword arguments given to TRL / Transformers / PEFT / Unsloth.

Everything here returns plain dicts from the parsed :class:`~korean_llm_trainer.contract.Config`,
so the argument names can be tested without the libraries. Current TRL API only: ``max_length``,
``dataset_text_field`` and ``packing`` live in ``SFTConfig`` (never in the ``SFTTrainer``
constructor), and trainers take ``processing_class=tokenizer``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from .contract import Config
from .errors import ContractError, DatasetError

LORA_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
EMBEDDING_MODULES = ("embed_tokens", "lm_head")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job, from torchrun's env."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1
    nnodes: int = 1

    @property
    def is_main(self) -> bool:
        """Global rank 0: the only process that writes the final model and the marker."""
        return self.rank == 0

    @property
    def is_local_main(self) -> bool:
        """Local rank 0: the process of each node that serves metrics."""
        return self.local_rank == 0

    @property
    def single_node(self) -> bool:
        """Whether every process runs on one node."""
        return self.nnodes <= 1


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    try:
        return int(raw) if raw != "" else default
    except ValueError as err:
        raise ContractError(f"'{name}' must be an integer (set by torchrun), got {raw!r}") from err


def dist_info(env: Mapping[str, str]) -> DistInfo:
    """Read torchrun's ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``/``LOCAL_WORLD_SIZE`` and the operator's
    ``PET_NNODES`` (``"2"`` or an elastic ``"1:4"``, whose upper bound counts)."""
    world = _int_env(env, "WORLD_SIZE", 1)
    local_world = _int_env(env, "LOCAL_WORLD_SIZE", world)
    pet = env.get("PET_NNODES", "")
    if pet:
        try:
            nnodes = max(int(part) for part in pet.split(":"))
        except ValueError as err:
            raise ContractError(f"'PET_NNODES' must be N or MIN:MAX, got {pet!r}") from err
    else:
        nnodes = -(-world // max(local_world, 1))
    return DistInfo(world, _int_env(env, "RANK", 0), _int_env(env, "LOCAL_RANK", 0), local_world, max(nnodes, 1))


def choose_backend(dist: DistInfo, unsloth_available: bool, command: str = "", tied_embeddings: bool = False) -> str:
    """``unsloth`` on a single node when installed; ``transformers`` (+PEFT, DDP) otherwise.

    Multi-node Unsloth is not verified upstream, so multi-node jobs take the plain path. CPT of a
    model whose input and output embeddings are tied (``tie_word_embeddings``) takes the plain path
    too: training ``embed_tokens`` and ``lm_head`` as separate trainable copies unties them, and
    PEFT's ``ensure_weight_tying`` keeps one shared copy, which Unsloth's ``get_peft_model`` does not offer.
    """
    if command == "cpt" and tied_embeddings:
        return "transformers"
    return "unsloth" if unsloth_available and dist.single_node else "transformers"


def precision_kwargs(bf16_supported: bool) -> dict[str, bool]:
    """bf16 on GPUs that support it (Ampere, Hopper), fp16 otherwise (the seed forced fp16)."""
    return {"bf16": bf16_supported, "fp16": not bf16_supported}


def report_to(config: Config) -> list[str]:
    """Integrations: W&B when WANDB_API_KEY is set, MLflow when MLFLOW_TRACKING_URI is set."""
    targets = []
    if config.has_secret("WANDB_API_KEY"):
        targets.append("wandb")
    if config.get("MLFLOW_TRACKING_URI"):
        targets.append("mlflow")
    return targets or ["none"]


def run_name(config: Config) -> str:
    """``<run>-<model>-<stage>``: the name shown in W&B / MLflow."""
    return f"{config['RUN_ID']}-{config['MODEL_NAME']}-{config.stage}"


def embedding_learning_rate(config: Config) -> float:
    """EMBEDDING_LEARNING_RATE, or LEARNING_RATE / 10 when unset."""
    return config.get("EMBEDDING_LEARNING_RATE") or config["LEARNING_RATE"] / 10


DEFAULT_DDP_TIMEOUT = 3 * 3600


@dataclass(frozen=True)
class RunSettings:
    """Distributed-run settings (contract variables DDP_TIMEOUT and DATASET_NUM_PROC): see :func:`run_settings`."""

    ddp_timeout: int = DEFAULT_DDP_TIMEOUT
    dataset_num_proc: int = 1


def run_settings(env: Mapping[str, str], cpus: int) -> RunSettings:
    """``DDP_TIMEOUT`` (seconds a collective waits, default 3 h: dataset preparation and merging run
    between collectives) and ``DATASET_NUM_PROC`` (processes that tokenize, default the usable CPUs,
    at most 32); both are contract variables, read here with the contract's defaults and bounds."""
    timeout = _int_env(env, "DDP_TIMEOUT", DEFAULT_DDP_TIMEOUT)
    procs = _int_env(env, "DATASET_NUM_PROC", 0) or min(max(cpus, 1), 32)
    if timeout < 60:
        raise ContractError(f"'DDP_TIMEOUT' must be at least 60 seconds, got {timeout}")
    if procs < 1:
        raise ContractError(f"'DATASET_NUM_PROC' must be 0 (usable CPUs) or a positive integer, got {procs}")
    return RunSettings(ddp_timeout=timeout, dataset_num_proc=procs)


def training_kwargs(config: Config, output_dir: Path, bf16_supported: bool, backend: str,
                    dist: DistInfo, run: RunSettings = RunSettings()) -> dict[str, Any]:
    """Arguments shared by every stage (``TrainingArguments`` fields)."""
    kwargs: dict[str, Any] = {
        "output_dir": str(output_dir),
        "num_train_epochs": config["NUM_EPOCHS"],
        "per_device_train_batch_size": config["PER_DEVICE_BATCH_SIZE"],
        "gradient_accumulation_steps": config["GRADIENT_ACCUMULATION_STEPS"],
        "learning_rate": config["LEARNING_RATE"],
        "warmup_ratio": config["WARMUP_RATIO"],
        "weight_decay": config["WEIGHT_DECAY"],
        "lr_scheduler_type": "cosine",
        "logging_steps": config["LOGGING_STEPS"],
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": config["SAVE_STEPS"],
        "save_total_limit": config["SAVE_TOTAL_LIMIT"],
        "seed": config["SEED"],
        "data_seed": config["SEED"],
        "report_to": report_to(config),
        "run_name": run_name(config),
        "include_num_input_tokens_seen": True,
        "optim": "adamw_8bit" if config["LOAD_IN_4BIT"] else "adamw_torch_fused",
        **precision_kwargs(bf16_supported),
    }
    if backend == "transformers":
        # Unsloth applies its own gradient checkpointing in get_peft_model.
        kwargs["gradient_checkpointing"] = True
        kwargs["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    if dist.world_size > 1:
        kwargs["ddp_find_unused_parameters"] = False
        kwargs["ddp_timeout"] = run.ddp_timeout
    return kwargs


def adapt_to_fields(kwargs: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """The shared arguments in the names the installed arguments class takes.

    Transformers 5 removed ``warmup_ratio`` (deprecated in 5.0, gone in later 5.x releases); there
    ``warmup_steps`` takes the ratio itself, a float below 1. A ratio of 1 (warm up for the whole run)
    would read as one step, so it becomes the largest float below 1.
    """
    names = set(fields)
    out = dict(kwargs)
    if "warmup_ratio" in out and "warmup_ratio" not in names and "warmup_steps" in names:
        ratio = float(out.pop("warmup_ratio"))
        out["warmup_steps"] = min(ratio, 0.999999)
    return out


def build_arguments(cls: Any, kwargs: Mapping[str, Any]) -> Any:
    """``cls(**kwargs)`` for a ``TrainingArguments`` dataclass (or TRL/Unsloth subclass), adapted to it."""
    return cls(**adapt_to_fields(kwargs, (f.name for f in dataclasses.fields(cls))))


_GENERATION_TAG_RE = re.compile(r"\{%-?\s*generation\s*-?%\}")


def template_marks_assistant(chat_template: str | None) -> bool:
    """Whether a chat template wraps assistant turns in ``{% generation %}`` (what TRL's
    ``assistant_only_loss`` needs to build its mask; Qwen2.5's and Llama 3's templates do not)."""
    return bool(chat_template) and bool(_GENERATION_TAG_RE.search(chat_template))


def sft_loss_kwargs(chat_template: str | None) -> dict[str, Any]:
    """SFT trains on the assistant's words only, never on the system and user turns.

    With a template that marks assistant turns: ``assistant_only_loss`` (every assistant turn).
    Otherwise the records become prompt-completion pairs (:func:`to_prompt_completion`: the last
    assistant turn is the completion, the turns before it the prompt) and ``completion_only_loss``
    masks the prompt; earlier assistant turns are then context, not targets.
    """
    if template_marks_assistant(chat_template):
        return {"assistant_only_loss": True}
    return {"completion_only_loss": True}


def to_prompt_completion(record: Mapping[str, Any]) -> dict[str, Any]:
    """``{"messages": [...]}`` -> ``{"prompt": [...], "completion": [last assistant turn]}``."""
    messages = list(record["messages"])
    turns = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    if not turns:
        raise DatasetError(f"an SFT record has no assistant turn (roles: {[m.get('role') for m in messages]}); "
                           "every record needs at least one")
    return {"prompt": messages[:turns[-1]], "completion": [messages[turns[-1]]]}


def packing_kwargs(config: Config, backend: str, flash_attention: bool) -> dict[str, Any]:
    """How sequences share a row, per stage and backend.

    TRL 0.24's default packing (``bfd``) turns on padding-free batching, which keeps packed
    sequences apart only under FlashAttention (or Unsloth's kernels); with SDPA they attend to each
    other. So: CPT packs ``wrapped`` (a stream of documents separated by EOS, as pre-training does;
    needs no padding-free); SFT packs ``bfd`` on Unsloth or with FlashAttention 2, and otherwise does
    not pack (conversations must not see each other).
    """
    if not config["PACKING"]:
        return {"packing": False}
    if config.command == "cpt":
        return {"packing": True, "packing_strategy": "wrapped"}
    if backend == "unsloth" or flash_attention:
        return {"packing": True, "packing_strategy": "bfd", "padding_free": True}
    return {"packing": False}


def sft_config_kwargs(config: Config, output_dir: Path, bf16_supported: bool, backend: str,
                      dist: DistInfo, run: RunSettings = RunSettings(), flash_attention: bool = False,
                      chat_template: str | None = None) -> dict[str, Any]:
    """``SFTConfig`` arguments for CPT (``text``) and SFT (chat ``messages``)."""
    kwargs = training_kwargs(config, output_dir, bf16_supported, backend, dist, run)
    kwargs["max_length"] = config["MAX_SEQ_LENGTH"]
    kwargs["dataset_num_proc"] = run.dataset_num_proc
    kwargs.update(packing_kwargs(config, backend, flash_attention))
    if config.command == "cpt":
        kwargs["dataset_text_field"] = "text"
    else:
        kwargs.update(sft_loss_kwargs(chat_template))
    return kwargs


def unsloth_cpt_kwargs(config: Config, output_dir: Path, bf16_supported: bool, dist: DistInfo,
                       run: RunSettings = RunSettings()) -> dict[str, Any]:
    """``UnslothTrainingArguments`` (an ``SFTConfig``) with the separate embedding learning rate.

    Unsloth 2026.3.8 does not keep ``embedding_learning_rate`` (see :func:`optimizer_param_groups`),
    so the cpt stage passes its own optimizer as well; the value is still given for releases that keep it.
    """
    kwargs = sft_config_kwargs(config, output_dir, bf16_supported, "unsloth", dist, run)
    kwargs["embedding_learning_rate"] = embedding_learning_rate(config)
    return kwargs


def preference_config_kwargs(config: Config, output_dir: Path, bf16_supported: bool, backend: str,
                             dist: DistInfo, run: RunSettings = RunSettings()) -> dict[str, Any]:
    """``DPOConfig`` / ``ORPOConfig`` / ``KTOConfig`` / ``GRPOConfig`` arguments for RLHF_METHOD."""
    method = config["RLHF_METHOD"]
    kwargs = training_kwargs(config, output_dir, bf16_supported, backend, dist, run)
    max_length = config["MAX_SEQ_LENGTH"]
    kwargs["beta"] = config["RLHF_BETA"]
    if method == "grpo":
        completion = config["MAX_COMPLETION_LENGTH"]
        kwargs["num_generations"] = config["GRPO_NUM_GENERATIONS"]
        kwargs["max_completion_length"] = completion
        kwargs["max_prompt_length"] = max_length - completion
        kwargs["remove_unused_columns"] = False  # reward functions receive the extra columns
        return kwargs
    kwargs["max_length"] = max_length
    kwargs["max_prompt_length"] = max_length // 2
    if method == "dpo":
        kwargs["loss_type"] = "sigmoid"
    return kwargs


def check_hyperparameters(config: Config, dist: DistInfo) -> None:
    """Combinations the contract's per-variable bounds cannot express; raise before any GPU work."""
    if config.command != "rlhf":
        return
    if config["RLHF_METHOD"] == "kto" and config["PER_DEVICE_BATCH_SIZE"] < 2:
        # TRL's KTOTrainer estimates the KL term from the other completions of the same device batch
        # and raises at construction (after the model is loaded) when the batch has one example.
        raise ContractError(
            f"'PER_DEVICE_BATCH_SIZE' must be at least 2 with RLHF_METHOD=kto (the KL term is estimated "
            f"within each device's batch), got {config['PER_DEVICE_BATCH_SIZE']}"
        )
    if config["RLHF_METHOD"] != "grpo":
        return
    generations = config["GRPO_NUM_GENERATIONS"]
    batch = config["PER_DEVICE_BATCH_SIZE"] * dist.world_size * config["GRADIENT_ACCUMULATION_STEPS"]
    if batch % generations:
        raise ContractError(
            f"'GRPO_NUM_GENERATIONS' must divide PER_DEVICE_BATCH_SIZE x processes x GRADIENT_ACCUMULATION_STEPS "
            f"({config['PER_DEVICE_BATCH_SIZE']} x {dist.world_size} x {config['GRADIENT_ACCUMULATION_STEPS']} = {batch}), "
            f"got {generations}"
        )
    if config["MAX_COMPLETION_LENGTH"] >= config["MAX_SEQ_LENGTH"]:
        raise ContractError(
            f"'MAX_COMPLETION_LENGTH' must be smaller than MAX_SEQ_LENGTH ({config['MAX_SEQ_LENGTH']}) to leave room "
            f"for the prompt, got {config['MAX_COMPLETION_LENGTH']}"
        )


def lora_kwargs(config: Config, backend: str, tied_embeddings: bool = False) -> dict[str, Any]:
    """LoRA settings: ``FastLanguageModel.get_peft_model`` (unsloth) or ``peft.LoraConfig`` (transformers).

    CPT also trains ``embed_tokens`` and ``lm_head`` (new-language text): Unsloth takes them in
    ``target_modules``; PEFT trains them fully as ``modules_to_save``. When the model ties them,
    PEFT's ``ensure_weight_tying`` (0.18) makes the two trainable copies one, so the merged model
    stays tied (without it the copies drift apart and the output layer is no longer the input one).
    """
    cpt = config.command == "cpt"
    kwargs: dict[str, Any] = {
        "r": config["LORA_R"],
        "lora_alpha": config["LORA_ALPHA"],
        "lora_dropout": config["LORA_DROPOUT"],
        "bias": "none",
    }
    if backend == "unsloth":
        kwargs["target_modules"] = list(LORA_TARGET_MODULES + (EMBEDDING_MODULES if cpt else ()))
        kwargs["use_gradient_checkpointing"] = "unsloth"
        kwargs["random_state"] = config["SEED"]
    else:
        kwargs["target_modules"] = list(LORA_TARGET_MODULES)
        kwargs["task_type"] = "CAUSAL_LM"
        if cpt:
            kwargs["modules_to_save"] = list(EMBEDDING_MODULES)
            if tied_embeddings:
                kwargs["ensure_weight_tying"] = True
    return kwargs


def is_embedding_parameter(name: str) -> bool:
    """Whether a parameter belongs to ``embed_tokens`` or ``lm_head`` (incl. PEFT's trainable copies)."""
    return any(f"{module}." in name or name.endswith(module) for module in EMBEDDING_MODULES)


def param_groups(named: Iterable[tuple[str, Any]], learning_rate: float, embedding_lr: float,
                 weight_decay: float) -> list[dict[str, Any]]:
    """Optimizer groups for plain-path CPT: embeddings at ``embedding_lr``, the rest at ``learning_rate``.

    ``named`` yields ``(name, parameter)`` of trainable parameters (``requires_grad``), in a stable
    order so a resumed optimizer state lines up with the groups. Biases and norms get no decay.
    """
    groups: dict[tuple[bool, bool], list[Any]] = {}
    for name, param in named:
        no_decay = name.endswith(".bias") or "norm" in name.lower()
        groups.setdefault((is_embedding_parameter(name), no_decay), []).append(param)
    out = []
    for (embedding, no_decay), params in sorted(groups.items()):
        out.append({
            "params": params,
            "lr": embedding_lr if embedding else learning_rate,
            "weight_decay": 0.0 if no_decay else weight_decay,
        })
    return out


def optimizer_spec(config: Config, cuda: bool) -> tuple[str, dict[str, Any]]:
    """The optimizer the cpt stage builds itself: ``(module.Class, keyword arguments)``.

    The same choice as the ``optim`` argument (8-bit AdamW from bitsandbytes with a 4-bit base,
    fused AdamW otherwise), with TrainingArguments' default betas and epsilon.
    """
    kwargs: dict[str, Any] = {"lr": config["LEARNING_RATE"], "betas": (0.9, 0.999), "eps": 1e-8}
    if config["LOAD_IN_4BIT"]:
        return "bitsandbytes.optim.AdamW8bit", kwargs
    kwargs["fused"] = cuda
    return "torch.optim.AdamW", kwargs


def optimizer_param_groups(model: Any, config: Config) -> list[dict[str, Any]]:
    """CPT's parameter groups, from the model's trainable parameters: embeddings at
    EMBEDDING_LEARNING_RATE, the rest at LEARNING_RATE.

    Both backends use them. Unsloth 2026.3.8's ``UnslothTrainingArguments.__init__`` assigns
    ``embedding_learning_rate`` to a local instead of the instance (fixed in 2026.3.11), so
    ``UnslothTrainer`` silently trains embeddings at the full rate; an optimizer passed to the
    trainer (``optimizers=(optimizer, None)``) does not depend on that.
    """
    return param_groups(
        ((n, p) for n, p in model.named_parameters() if p.requires_grad),
        config["LEARNING_RATE"], embedding_learning_rate(config), config["WEIGHT_DECAY"],
    )


def model_load_kwargs(config: Config, backend: str, bf16_supported: bool, dist: DistInfo,
                      flash_attention: bool = False) -> dict[str, Any]:
    """Arguments of ``FastLanguageModel.from_pretrained`` (unsloth) or ``AutoModelForCausalLM.from_pretrained``.

    The dtype and the quantization config are given as names (``"bfloat16"``, ``"nf4"``) and turned
    into torch objects by the caller. In DDP each process puts its copy on its own GPU.
    """
    dtype = "bfloat16" if bf16_supported else "float16"
    if backend == "unsloth":
        kwargs: dict[str, Any] = {
            "model_name": config["BASE_MODEL_PATH"],
            "max_seq_length": config["MAX_SEQ_LENGTH"],
            "dtype": dtype,
            "load_in_4bit": config["LOAD_IN_4BIT"],
        }
        if dist.world_size > 1:
            kwargs["device_map"] = {"": dist.local_rank}
        return kwargs
    kwargs = {
        "pretrained_model_name_or_path": config["BASE_MODEL_PATH"],
        "torch_dtype": dtype,
        "device_map": {"": dist.local_rank},
        "attn_implementation": "flash_attention_2" if flash_attention else "sdpa",
    }
    if config["LOAD_IN_4BIT"]:
        kwargs["quantization"] = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4",
                                  "bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": dtype}
    return kwargs


def resume_kwargs(resume_from: Path | None) -> dict[str, Any]:
    """``trainer.train(**resume_kwargs(...))``: the checkpoint path, or nothing for a fresh start."""
    return {"resume_from_checkpoint": str(resume_from)} if resume_from is not None else {}


def describe(kwargs: Mapping[str, Any], hidden: Sequence[str] = ()) -> str:
    """One line for the job log."""
    return ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items()) if k not in hidden)
