"""The env contract: every variable of contract.json parses good values and rejects bad ones."""

from __future__ import annotations

import json
import unittest
from pathlib import PurePosixPath

from korean_llm_trainer import COMMANDS
from korean_llm_trainer.contract import Variable, contract_from_json, load_contract, parse_config, parse_value
from korean_llm_trainer.errors import ContractError
from tests.helpers import good_value, valid_env

BAD_VALUES = {
    "int": ["1.5", "abc", "1e3", ""],
    "float": ["abc", "nan", "inf", "1,5"],
    "bool": ["yes", "1", "ture"],
    "path": ["relative/path", "./x", "~/x"],
    "enum": ["not-a-choice"],
    "list": ["a,,b", ",", "a, "],
}


class ContractFileTest(unittest.TestCase):
    def test_loads_every_variable_with_a_known_type_and_command(self):
        contract = load_contract()
        self.assertGreater(len(contract.variables), 30)
        for var in contract.variables:
            self.assertTrue(var.commands, var.name)
            self.assertTrue(set(var.commands) <= set(COMMANDS), var.name)

    def test_defaults_parse_under_their_own_rules(self):
        for var in load_contract().variables:
            if var.default is not None:
                with self.subTest(var=var.name):
                    parse_value(var, var.default)

    def test_rlhf_methods_and_reward_functions_match_the_variables(self):
        contract = load_contract()
        self.assertEqual(contract.variable("RLHF_METHOD").choices, contract.rlhf_methods)
        self.assertEqual(contract.variable("GRPO_REWARD_FUNCS").choices, contract.grpo_reward_functions)
        self.assertEqual(int(contract.variable("METRICS_PORT").default), contract.metrics_port)

    def test_rejects_an_unknown_type(self):
        with self.assertRaises(ValueError):
            Variable.from_json({"name": "X", "type": "uuid", "required": False, "commands": ["cpt"]})

    def test_rejects_a_duplicate_variable(self):
        raw = json.loads(json.dumps({"metricsPort": 1, "rlhfMethods": [], "grpoRewardFunctions": [], "variables": [
            {"name": "X", "type": "string", "required": False, "commands": ["cpt"]}] * 2}))
        with self.assertRaises(ValueError):
            contract_from_json(raw)


class EveryVariableTest(unittest.TestCase):
    """Iterates contract.json so that a new variable without a parser rule fails here."""

    def test_every_variable_accepts_a_good_value_for_every_command_that_reads_it(self):
        for var in load_contract().variables:
            for command in var.commands:
                with self.subTest(var=var.name, command=command):
                    env = valid_env(command, **{var.name: good_value(var, command)})
                    config = parse_config(command, env)
                    value = config[var.name]
                    self.assertIsNotNone(value)
                    if var.type == "secret":
                        self.assertIs(value, True)
                        self.assertNotIn("dummy-secret", repr(config.summary()))

    def test_every_variable_rejects_bad_values_naming_itself_and_the_value(self):
        for var in load_contract().variables:
            bad_values = list(BAD_VALUES.get(var.type, []))
            if var.type in ("int", "float"):
                if var.min is not None:
                    bad_values.append(str(var.min if var.exclusive_min else var.min - 1))
                if var.max is not None:
                    bad_values.append(str(var.max * 2 + 1))
            if var.type == "list" and var.choices:
                bad_values.append(var.choices[0] + ",unknown_choice")
            if var.type in ("string", "secret"):
                self.assertFalse(bad_values, var.name)  # any non-empty string is valid
                continue
            self.assertTrue(bad_values, f"no bad value for {var.name} ({var.type})")
            for bad in bad_values:
                if bad == "":
                    continue  # empty means unset, covered by the required tests
                with self.subTest(var=var.name, value=bad):
                    env = valid_env(var.commands[0], **{var.name: bad})
                    with self.assertRaises(ContractError) as ctx:
                        parse_config(var.commands[0], env)
                    self.assertIn(f"'{var.name}'", str(ctx.exception))
                    self.assertIn(repr(bad), str(ctx.exception))

    def test_every_required_variable_is_reported_when_missing(self):
        for var in load_contract().variables:
            if not var.required:
                continue
            for command in var.commands:
                with self.subTest(var=var.name, command=command):
                    env = valid_env(command)
                    del env[var.name]
                    with self.assertRaises(ContractError) as ctx:
                        parse_config(command, env)
                    self.assertIn(f"'{var.name}' is required", str(ctx.exception))

    def test_every_optional_variable_falls_back_to_its_default(self):
        for var in load_contract().variables:
            if var.required:
                continue
            command = var.commands[0]
            with self.subTest(var=var.name):
                config = parse_config(command, valid_env(command))
                if var.default is None:
                    self.assertIsNone(config[var.name])
                else:
                    self.assertEqual(config[var.name], parse_value(var, var.default))


class ParsingRulesTest(unittest.TestCase):
    def test_typed_values(self):
        env = valid_env("rlhf", LEARNING_RATE="2e-5", NUM_EPOCHS="0.5", LOAD_IN_4BIT="FALSE",
                        GRPO_REWARD_FUNCS="korean_ratio, length", DATA_PATH="/data/prefs.jsonl")
        config = parse_config("rlhf", env)
        self.assertEqual(config["LEARNING_RATE"], 2e-5)
        self.assertEqual(config["NUM_EPOCHS"], 0.5)
        self.assertIs(config["LOAD_IN_4BIT"], False)
        self.assertEqual(config["GRPO_REWARD_FUNCS"], ("korean_ratio", "length"))
        self.assertEqual(config["DATA_PATH"], PurePosixPath("/data/prefs.jsonl"))
        self.assertEqual(config["MAX_SEQ_LENGTH"], 4096)
        self.assertEqual(config["RLHF_METHOD"], "dpo")

    def test_config_is_frozen(self):
        config = parse_config("sft", valid_env("sft"))
        with self.assertRaises(Exception):
            config.command = "cpt"  # type: ignore[misc]
        with self.assertRaises(TypeError):
            config.values["LEARNING_RATE"] = 1  # type: ignore[index]

    def test_reading_a_variable_the_command_does_not_read_fails(self):
        config = parse_config("preprocess", valid_env("preprocess"))
        with self.assertRaisesRegex(KeyError, "LEARNING_RATE"):
            config["LEARNING_RATE"]

    def test_stage_must_match_the_command(self):
        with self.assertRaisesRegex(ContractError, "'STAGE' is 'SFT' but the command is 'cpt'"):
            parse_config("cpt", valid_env("cpt", STAGE="SFT"))

    def test_stage_is_upper_case(self):
        with self.assertRaisesRegex(ContractError, "one of PREPROCESS"):
            parse_config("cpt", valid_env("cpt", STAGE="cpt"))

    def test_empty_optional_value_means_default(self):
        config = parse_config("cpt", valid_env("cpt", MAX_SEQ_LENGTH=""))
        self.assertEqual(config["MAX_SEQ_LENGTH"], 4096)

    def test_all_errors_are_reported_together(self):
        env = valid_env("cpt", LEARNING_RATE="0", LORA_R="0")
        with self.assertRaises(ContractError) as ctx:
            parse_config("cpt", env)
        self.assertIn("'LEARNING_RATE' must be a number > 0 and <= 1, got '0'", str(ctx.exception))
        self.assertIn("'LORA_R' must be an integer >= 1 and <= 1024, got '0'", str(ctx.exception))

    def test_secret_value_never_appears(self):
        config = parse_config("cpt", valid_env("cpt", WANDB_API_KEY="s3cr3t-token"))
        self.assertTrue(config.has_secret("WANDB_API_KEY"))
        self.assertFalse(config.has_secret("HF_TOKEN"))
        self.assertNotIn("s3cr3t-token", repr(config) + repr(config.summary()) + repr(dict(config.values)))

    def test_unknown_command(self):
        with self.assertRaisesRegex(ContractError, "unknown command 'deploy'"):
            parse_config("deploy", {})


if __name__ == "__main__":
    unittest.main()
