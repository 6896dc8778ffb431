"""Starts infra/local/llama_server.py for one GGUF file, checks its endpoints, measures it, stops it, prints JSON.

Checks: /health, /v1/models, one answer (reported with whether it contains the expected word; not a failure) through the model's API (chat: /v1/chat/completions; completions:
/v1/completions with a "Context / Question / Answer:" prompt and a newline stop), the same request streamed (SSE
chunks ending in [DONE]), and /metrics with the llamacpp:* series. Measures: start-up time, peak RSS, prompt and
generated tokens/s from llama.cpp's own `timings` (one request alone, then --concurrency at once), and the load average.

    .local/venv/bin/python infra/local/llama_smoke.py --model .local/models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf --api completions
    .local/venv/bin/python infra/local/llama_smoke.py --model .local/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf --api chat

Exit code 0 when every check passed, 1 otherwise (the failed checks are listed in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))

CONTEXT = (
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France. "
    "They were descended from Norse raiders and pirates from Denmark, Iceland and Norway who, under their leader Rollo, "
    "agreed to swear fealty to King Charles III of West Francia. Through generations of assimilation and mixing with the "
    "native Frankish and Roman-Gaulish populations, their descendants would gradually merge with the Carolingian-based "
    "cultures of West Francia. The distinct cultural and ethnic identity of the Normans emerged initially in the first "
    "half of the 10th century, and it continued to evolve over the succeeding centuries."
)
QUESTION = "In what country is Normandy located?"
EXPECTED = "france"


def post(url: str, body: dict, timeout: float = 600) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as res:
        return json.loads(res.read())


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as res:
        return res.status, res.read().decode()


def request_body(api: str, max_tokens: int, stream: bool = False) -> tuple[str, dict]:
    if api == "chat":
        body = {
            "messages": [
                {"role": "system", "content": "Answer the question from the context in a few words."},
                {"role": "user", "content": f"Context: {CONTEXT}\n\nQuestion: {QUESTION}"},
            ],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        path = "/v1/chat/completions"
    else:
        body = {"prompt": f"Context: {CONTEXT}\nQuestion: {QUESTION}\nAnswer:", "max_tokens": max_tokens, "temperature": 0, "stop": ["\n"]}
        path = "/v1/completions"
    if stream:
        body["stream"] = True
    return path, body


def answer_text(api: str, res: dict) -> str:
    choice = res["choices"][0]
    return choice["message"]["content"] if api == "chat" else choice["text"]


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="llama_smoke.py", description="Start, check and measure one llama.cpp engine (see the module docstring).")
    p.add_argument("--model", required=True, help="GGUF file")
    p.add_argument("--api", choices=["chat", "completions"], required=True, help="which OpenAI API the model is used through")
    p.add_argument("--port", type=int, default=18290, help="loopback port (default 18290)")
    p.add_argument("--ctx-size", type=int, default=4096)
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=2, help="requests at once in the concurrent phase (default 2)")
    p.add_argument("--max-tokens", type=int, default=32, help="generated tokens per measured request (default 32; generation runs to it)")
    args = p.parse_args(argv)
    if not os.path.isfile(args.model):
        p.error(f"--model {args.model!r} does not exist; run infra/local/models.sh (outside the network namespace)")

    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "llama_server.py"), "--model", args.model, "--port", str(args.port),
         "--ctx-size", str(args.ctx_size), "--parallel", str(args.parallel)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    failures: list[str] = []
    report: dict = {"model": os.path.basename(args.model), "api": args.api, "ctx_size": args.ctx_size, "parallel": args.parallel}
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line:
            print(json.dumps({"error": f"llama_server.py exited with {proc.wait()} before listening"}))
            return 1
        listening = json.loads(line)
        url = listening["url"]
        report["startup_ms"] = round((time.monotonic() - t0) * 1000)
        report["server_startup_ms"] = listening["startup_ms"]

        status, _ = get(f"{url}/health")
        if status != 200:
            failures.append(f"/health answered {status}")
        _, models = get(f"{url}/v1/models")
        report["served_model"] = json.loads(models)["data"][0]["id"]

        path, body = request_body(args.api, 24)
        res = post(url + path, body)
        report["answer"] = answer_text(args.api, res).strip()
        report["finish_reason"] = res["choices"][0]["finish_reason"]
        # Quality is reported, not checked: these are 135M/270M models and they do get things wrong.
        report["answer_contains_expected"] = EXPECTED in report["answer"].lower()
        if args.api == "completions" and "\n" in answer_text(args.api, res):
            failures.append("the newline stop did not stop the completion")

        spath, sbody = request_body(args.api, 16, stream=True)
        req = urllib.request.Request(url + spath, data=json.dumps(sbody).encode(), headers={"content-type": "application/json"})
        chunks, done = 0, False
        with urllib.request.urlopen(req, timeout=600) as s:
            for raw in s:
                text = raw.decode().strip()
                if text == "data: [DONE]":
                    done = True
                elif text.startswith("data: "):
                    chunks += 1
        report["stream_chunks"] = chunks
        if chunks < 2 or not done:
            failures.append(f"stream gave {chunks} chunks, [DONE]={done}")

        # Measured requests: generation runs to --max-tokens (ignore_eos) so the token counts are comparable.
        mpath, mbody = request_body(args.api, args.max_tokens)
        mbody.pop("stop", None)
        mbody["ignore_eos"] = True
        mbody["cache_prompt"] = False  # measure prompt processing, not the slot's prompt cache
        alone = post(url + mpath, mbody)["timings"]
        report["alone"] = {
            "prompt_tokens": alone["prompt_n"],
            "prompt_tokens_per_s": round(alone["prompt_per_second"], 1),
            "generated_tokens": alone["predicted_n"],
            "generated_tokens_per_s": round(alone["predicted_per_second"], 1),
        }
        with ThreadPoolExecutor(args.concurrency) as pool:
            start = time.monotonic()
            results = list(pool.map(lambda i: post(url + mpath, {**mbody, "seed": i}), range(args.concurrency)))
            wall = time.monotonic() - start
        generated = sum(r["usage"]["completion_tokens"] for r in results)
        report["concurrent"] = {
            "requests": args.concurrency,
            "wall_s": round(wall, 2),
            "generated_tokens_per_s_all": round(generated / wall, 1),
        }

        _, metrics = get(f"{url}/metrics")
        names = sorted({ln.split("{")[0].split(" ")[0] for ln in metrics.splitlines() if ln.startswith("llamacpp:")})
        report["metrics"] = names
        for needed in ("llamacpp:requests_processing", "llamacpp:requests_deferred", "llamacpp:tokens_predicted_total"):
            if needed not in names:
                failures.append(f"/metrics lacks {needed}")
        report["peak_rss_mb"] = peak_rss_mb(proc.pid)
        report["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    except Exception as err:  # a failed check is reported, never a traceback
        failures.append(f"{type(err).__name__}: {err}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    report["failures"] = failures
    print(json.dumps(report, indent=2))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
