"""``export``: merge a LoRA adapter into its base model and write a servable model directory.

MODEL_PATH may be an adapter directory, a training stage directory (its ``adapter/``, else the
adapter of its newest valid checkpoint, so an interrupted run can still be exported), or an
already merged model (copied as is). OUTPUT_DIR receives ``config.json``, safetensors weights and
the tokenizer: what vLLM and ``from_pretrained`` load.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from .contract import Config
from .deps import dtype_kwargs, require
from .errors import TrainerError
from .layout import (
    MARKER_NAME,
    adapter_dir,
    build_marker,
    check_marker_settings,
    checkpoints_dir,
    list_checkpoints,
    is_valid_checkpoint,
    model_dir,
    read_marker,
    settings_hash,
    stage_settings,
    write_marker,
)

ADAPTER_CONFIG = "adapter_config.json"


def resolve_source(model_path: Path) -> tuple[str, Path]:
    """``("adapter", dir)`` or ``("model", dir)`` for what MODEL_PATH points at (pure lookup)."""
    model_path = Path(model_path)
    if (model_path / ADAPTER_CONFIG).is_file():
        return "adapter", model_path
    if (adapter_dir(model_path) / ADAPTER_CONFIG).is_file():
        return "adapter", adapter_dir(model_path)
    for _, checkpoint in list_checkpoints(checkpoints_dir(model_path)):
        if is_valid_checkpoint(checkpoint) and (checkpoint / ADAPTER_CONFIG).is_file():
            return "adapter", checkpoint
    if (model_path / "config.json").is_file():
        return "model", model_path
    if (model_dir(model_path) / "config.json").is_file():
        return "model", model_dir(model_path)
    raise TrainerError(
        f"'MODEL_PATH' {str(model_path)!r} holds no LoRA adapter ({ADAPTER_CONFIG}, adapter/, or a checkpoint "
        "with one) and no model (config.json)"
    )


def adapter_base_model(adapter: Path) -> str:
    """The base model recorded in ``adapter_config.json`` (``base_model_name_or_path``)."""
    try:
        base = json.loads((Path(adapter) / ADAPTER_CONFIG).read_text(encoding="utf-8")).get("base_model_name_or_path")
    except ValueError as err:
        raise TrainerError(f"{Path(adapter) / ADAPTER_CONFIG} is not valid JSON ({err})") from err
    if not base:
        raise TrainerError(f"{Path(adapter) / ADAPTER_CONFIG} names no base_model_name_or_path")
    return base


def merge_adapter(base_model: str, adapter: Path, out_dir: Path, dtype_name: str = "bfloat16") -> None:
    """Load ``base_model`` in 16 bits (dequantizing a 4-bit checkpoint), apply ``adapter``, merge, save."""
    torch = require("torch", "torch", "export")
    transformers = require("transformers", "transformers", "export")
    peft = require("peft", "peft", "export")
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}[dtype_name]
    device_map: Any = "auto" if torch.cuda.is_available() else None
    model = transformers.AutoModelForCausalLM.from_pretrained(base_model, device_map=device_map,
                                                              **dtype_kwargs(transformers, dtype))
    if getattr(model.config, "quantization_config", None) is not None:
        model = model.dequantize()  # a pre-quantized (bnb 4-bit) base: merge into real weights
        model.config.quantization_config = None
    merged = peft.PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer_source = adapter if (Path(adapter) / "tokenizer_config.json").is_file() else base_model
    transformers.AutoTokenizer.from_pretrained(str(tokenizer_source)).save_pretrained(str(out_dir))


def main(config: Config) -> int:
    """The ``export`` command."""
    out = Path(config["OUTPUT_DIR"])
    settings = stage_settings(config.values)
    marker = read_marker(out)
    if marker is not None:
        note = check_marker_settings(marker, settings, out / MARKER_NAME)
        print(f"export: {out / MARKER_NAME} exists ({note}); nothing to do", flush=True)
        return 0
    kind, source = resolve_source(Path(config["MODEL_PATH"]))
    if kind == "adapter":
        base = adapter_base_model(source)
        print(f"export: merging adapter {source} into {base} -> {out}", flush=True)
        merge_adapter(base, source, out)
    else:
        base = None
        print(f"export: {source} is already a merged model; copying it to {out}", flush=True)
        shutil.copytree(source, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MARKER_NAME))
    write_marker(out, build_marker("export", config["RUN_ID"], base, {}, model_name=config["MODEL_NAME"],
                                   source=str(source), config_hash=settings_hash(settings), settings=settings))
    return 0
