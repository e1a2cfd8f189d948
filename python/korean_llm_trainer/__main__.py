"""``python -m korean_llm_trainer <command>`` (and ``torchrun -m korean_llm_trainer <command>``)."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Mapping, Sequence

from . import COMMANDS
from .contract import parse_config
from .errors import TrainerError

USAGE = (
    "usage: python -m korean_llm_trainer {preprocess,evaluate,export}\n"
    "       torchrun [--nproc-per-node N ...] -m korean_llm_trainer {cpt,sft,rlhf}\n"
    "settings come from environment variables; see korean_llm_trainer/contract.json"
)


def run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Parse the env for the command and run it; returns the exit code."""
    if len(argv) != 1 or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 0 if list(argv) in (["-h"], ["--help"]) else 2
    command = argv[0]
    try:
        config = parse_config(command, env)
        module = importlib.import_module(f".{command}", __package__)
        return module.main(config)
    except TrainerError as err:
        print(f"korean_llm_trainer {command}: error: {err}", file=sys.stderr, flush=True)
        return err.exit_code


def main() -> None:
    """Console entry point."""
    sys.exit(run(sys.argv[1:], os.environ))


if __name__ == "__main__":
    main()
