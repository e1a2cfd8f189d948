"""The judge runner and its HTTP client, against a fake OpenAI-compatible server on 127.0.0.1."""

import json
import sys
import tempfile
import threading
import types
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from korean_llm_trainer import evaluate, judge
from korean_llm_trainer.contract import parse_config
from korean_llm_trainer.errors import ContractError
from tests.helpers import valid_env
from tests.test_gate import FakeHarness


class FakeServer:
    """Answers /health and /v1/chat/completions; the judge rates by a rule, the candidate echoes."""

    def __init__(self):
        self.requests = []
        self.fail_next = []  # HTTP codes to answer before succeeding
        self.judge_reply = lambda conversation: "좋은 답변입니다. [[8]]" if "한국어" in conversation else "Rating: [[3]]"
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200 if self.path == "/health" else 404)
                self.end_headers()

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if server.fail_next:
                    code = server.fail_next.pop(0)
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b'{"error": "nope"}')
                    return
                if body["model"] == "judge-model":
                    content = server.judge_reply(body["messages"][-1]["content"])
                else:
                    content = f"한국어 답변: {body['messages'][-1]['content']}"
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


PROMPTS = [
    {"id": "r1", "category": "reasoning", "turns": ["철수는 사과 3개를 가지고 있다. 2개를 먹으면?", "그럼 영희에게 하나를 주면?"],
     "references": ["1개", "0개"]},
    {"id": "w1", "category": "writing", "prompt": "봄에 대한 짧은 시를 써 주세요."},
]


def write_prompts(directory, prompts=PROMPTS):
    path = Path(directory) / "prompts.jsonl"
    path.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in prompts) + "\n", encoding="utf-8")
    return path


class PromptsTest(unittest.TestCase):
    def test_load(self):
        with tempfile.TemporaryDirectory() as tmp:
            prompts = judge.load_prompts(write_prompts(tmp))
        self.assertEqual([p.id for p in prompts], ["r1", "w1"])
        self.assertEqual(len(prompts[0].turns), 2)
        self.assertEqual(prompts[1].turns, ("봄에 대한 짧은 시를 써 주세요.",))
        self.assertEqual(prompts[0].references, ("1개", "0개"))

    def test_fails_on_bad_lines_naming_them(self):
        cases = [("{not json", ":1: not JSON"), ('{"turns": []}', ":1: needs 'turns'"), ('{"turns": ["a"], "references": "x"}', "'references' must be"),
                 ('{"id": 1, "prompt": "a"}\n{"id": 1, "prompt": "b"}', ":2: id '1' appears twice"), ("", "holds no prompt")]
        for text, message in cases:
            with self.subTest(text=text), tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "p.jsonl"
                path.write_text(text)
                with self.assertRaisesRegex(judge.JudgeError, message):
                    judge.load_prompts(path)
        with self.assertRaisesRegex(judge.JudgeError, "is not a file"):
            judge.load_prompts(Path("/nonexistent/prompts.jsonl"))

    def test_parse_rating(self):
        self.assertEqual(judge.parse_rating("설명... [[7]]"), 7.0)
        self.assertEqual(judge.parse_rating("[[2]] at first, then [[ 10 ]]"), 10.0)
        self.assertEqual(judge.parse_rating("[[8.0]]"), 8.0)
        for text in ("no rating", "[[0]]", "[[11]]", "[7]", ""):
            self.assertIsNone(judge.parse_rating(text), text)


class ClientTest(unittest.TestCase):
    def test_chat_sends_the_key_and_reads_the_first_choice(self):
        with FakeServer() as server:
            client = judge.ChatClient(server.url + "/v1", api_key="sk-test")
            self.assertEqual(client.chat("cand", [{"role": "user", "content": "안녕"}]), "한국어 답변: 안녕")
        self.assertEqual(server.requests[0]["path"], "/v1/chat/completions")
        self.assertEqual(server.requests[0]["auth"], "Bearer sk-test")
        self.assertEqual(server.requests[0]["body"]["temperature"], 0.0)

    def test_server_errors_are_retried_client_errors_are_not(self):
        waits = []
        with FakeServer() as server:
            server.fail_next = [503, 429]
            client = judge.ChatClient(server.url + "/v1", retries=3, backoff=1.0, sleep=waits.append)
            self.assertTrue(client.chat("cand", [{"role": "user", "content": "x"}]).startswith("한국어"))
            self.assertEqual(waits, [1.0, 2.0])
            server.fail_next = [401]
            with self.assertRaisesRegex(judge.JudgeError, "HTTP 401"):
                client.chat("cand", [{"role": "user", "content": "x"}])
            server.fail_next = [500, 500]
            with self.assertRaisesRegex(judge.JudgeError, r"no answer after 2 attempts \(HTTP 500\)"):
                judge.ChatClient(server.url + "/v1", retries=1, sleep=waits.append).chat("c", [])

    def test_unreachable_and_bad_urls(self):
        with FakeServer() as server:
            url = server.url
        with self.assertRaisesRegex(judge.JudgeError, "no answer after 1 attempts"):
            judge.ChatClient(url + "/v1", retries=0, timeout=2).chat("c", [])
        with self.assertRaisesRegex(judge.JudgeError, "endpoint must be an http"):
            judge.ChatClient("api.example.com")


class RunJudgeTest(unittest.TestCase):
    def test_every_turn_is_answered_with_its_history_and_rated(self):
        with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
            prompts = judge.load_prompts(write_prompts(tmp))
            client = judge.ChatClient(server.url + "/v1")
            result = judge.run_judge(prompts, client, "candidate", client, "judge-model")
        self.assertEqual(len(result.ratings), 3)
        self.assertAlmostEqual(result.score, 0.8)
        self.assertEqual(result.categories, {"reasoning": 0.8, "writing": 0.8})
        candidate_calls = [r["body"] for r in server.requests if r["body"]["model"] == "candidate"]
        # the second turn carries the first turn and its answer
        self.assertEqual([m["role"] for m in candidate_calls[1]["messages"]], ["user", "assistant", "user"])
        judge_calls = [r["body"] for r in server.requests if r["body"]["model"] == "judge-model"]
        self.assertIn("<reference answer>\n0개", judge_calls[1]["messages"][1]["content"])
        self.assertNotIn("<reference answer>", judge_calls[2]["messages"][1]["content"])

    def test_a_judge_without_ratings_cannot_pass_a_model(self):
        with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
            server.judge_reply = lambda conversation: "I think it is fine."
            client = judge.ChatClient(server.url + "/v1")
            result = judge.run_judge(judge.load_prompts(write_prompts(tmp)), client, "c", client, "judge-model")
        self.assertEqual((result.score, result.unparsed), (0.1, 3))
        self.assertEqual(sum(1 for r in server.requests if r["body"]["model"] == "judge-model"), 6)  # asked twice each


class VllmTest(unittest.TestCase):
    def test_command(self):
        self.assertEqual(judge.vllm_command("/m", 8000, "candidate", 0.45),
                         ["vllm", "serve", "/m", "--host", "127.0.0.1", "--port", "8000", "--served-model-name", "candidate",
                          "--gpu-memory-utilization", "0.45"])

    def test_wait_healthy(self):
        with FakeServer() as server:
            judge.wait_healthy(server.url, timeout=5)
            url = server.url
        now = [0.0]
        waits = []

        def sleep(s):
            waits.append(s)
            now[0] += s

        with self.assertRaisesRegex(judge.JudgeError, "did not answer within 12s"):
            judge.wait_healthy(url, timeout=12, interval=5, sleep=sleep, clock=lambda: now[0])
        self.assertEqual(waits, [5, 5, 5])

    def test_a_missing_vllm_is_named(self):
        server = judge.LocalVllm("/m", 8000, "candidate")
        server.command = ["/nonexistent/vllm-binary"]
        with self.assertRaisesRegex(judge.JudgeError, "'vllm' is not installed"):
            with server:
                pass


class EvaluateWithJudgeTest(unittest.TestCase):
    def test_the_judged_task_has_its_own_output_and_threshold(self):
        with tempfile.TemporaryDirectory() as tmp, FakeServer() as server:
            root = Path(tmp)
            (root / "model").mkdir()
            (root / "model" / "config.json").write_text("{}")
            env = valid_env("evaluate", MODEL_PATH=str(root / "model"), EVAL_TASKS="kobest,kmmlu", SCORE_FILE=str(root / "score"),
                            EVAL_SCORES_DIR=str(root / "scores"), JUDGE_PROMPTS_PATH=str(write_prompts(tmp)), JUDGE_TASK="logickor",
                            JUDGE_ENDPOINT=server.url + "/v1", JUDGE_MODEL="judge-model", JUDGE_API_KEY="sk-judge",
                            CANDIDATE_ENDPOINT=server.url + "/v1", CANDIDATE_MODEL="served", EVAL_MIN_SCORES="logickor=0.85")
            module = types.ModuleType("lm_eval")
            module.simple_evaluate = FakeHarness({str(root / "model"): 1.0}).simple_evaluate
            sys.modules["lm_eval"] = module
            try:
                evaluate.main(parse_config("evaluate", env), env)
            finally:
                del sys.modules["lm_eval"]
            self.assertEqual((root / "scores" / "score-logickor").read_text(), "0.8000")
            self.assertIn("failed: score-logickor 0.8000 < 0.8500", (root / "scores" / "summary").read_text())
            results = json.loads((root / "eval" / "results.json").read_text())
            self.assertEqual(results["korean_llm_trainer"]["judge"]["categories"], {"reasoning": 0.8, "writing": 0.8})
        self.assertTrue(all(r["auth"] == "Bearer sk-judge" for r in server.requests if r["body"]["model"] == "judge-model"))

    def test_the_judge_needs_one_source(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = valid_env("evaluate", JUDGE_PROMPTS_PATH=str(write_prompts(tmp)))
            with self.assertRaisesRegex(ContractError, "exactly one of 'JUDGE_ENDPOINT'"):
                evaluate.judged_scores(parse_config("evaluate", env), env, Path("/m"))
            env["JUDGE_ENDPOINT"] = "http://127.0.0.1:9/v1"
            with self.assertRaisesRegex(ContractError, "'JUDGE_MODEL'"):
                evaluate.judged_scores(parse_config("evaluate", env), env, Path("/m"))


if __name__ == "__main__":
    unittest.main()
