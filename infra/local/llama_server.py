"""Starts llama.cpp's own HTTP server (from the xllamacpp wheel) for one GGUF file, on loopback, until SIGTERM/SIGINT.

Serves the OpenAI-compatible /v1/chat/completions and /v1/completions (streaming too), /health, /v1/models, /slots and a
Prometheus /metrics (llamacpp:* series). Run it with the venv that infra/local/models.sh creates:

    .local/venv/bin/python infra/local/llama_server.py --model .local/models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf \
        --port 18200 --ctx-size 4096 --parallel 2

Once /health answers it prints one JSON line on stdout, {"event": "listening", "url": ..., ...}, so a parent process can
wait for that line instead of polling. Exit codes: 0 after a signal, 2 for bad arguments (missing file, bad port), 1 when
the engine fails to start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.request


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="llama_server.py",
        description="Serve one GGUF model with llama.cpp's server (xllamacpp) on loopback.",
        epilog="Example: llama_server.py --model .local/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf --port 18201",
    )
    p.add_argument("--model", required=True, help="path of the GGUF file")
    p.add_argument("--port", type=int, required=True, help="TCP port on the host (1-65535)")
    p.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1; keep it on loopback)")
    p.add_argument("--ctx-size", type=int, default=4096, help="total KV-cache size in tokens, shared by the slots (default 4096)")
    p.add_argument("--parallel", type=int, default=1, help="parallel slots (concurrent sequences; default 1)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for generation and prompt processing (default: all cores)")
    p.add_argument("--alias", default="", help="model name reported by /v1/models and in responses (default: the file name without .gguf)")
    p.add_argument("--seed", type=int, default=-1, help="sampling seed (default: random)")
    p.add_argument("--start-timeout", type=float, default=120.0, help="seconds to wait for /health before giving up (default 120)")
    args = p.parse_args(argv)
    if not os.path.isfile(args.model):
        p.error(f"--model {args.model!r} does not exist; run infra/local/models.sh (outside the network namespace) to fetch it")
    if not 1 <= args.port <= 65535:
        p.error(f"--port must be 1..65535, got {args.port}")
    if args.ctx_size < 256 or args.parallel < 1:
        p.error("--ctx-size must be >= 256 and --parallel >= 1")
    return args


def wait_healthy(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as res:
                if res.status == 200:
                    return
                last = f"HTTP {res.status}"
        except Exception as err:  # 503 while loading, refused before listening
            last = str(err)
        time.sleep(0.1)
    raise TimeoutError(f"{url}/health not OK after {timeout_s:.0f}s (last: {last})")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        import xllamacpp as xlc
    except ImportError:
        print("xllamacpp is not installed in this Python; use .local/venv/bin/python after infra/local/models.sh", file=sys.stderr)
        return 1

    params = xlc.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.ctx_size
    params.n_parallel = args.parallel
    params.cont_batching = True
    params.endpoint_metrics = True
    params.endpoint_slots = True
    params.ui = False
    params.warmup = True
    params.model_alias = {args.alias or os.path.basename(args.model).removesuffix(".gguf")}
    if args.threads > 0:
        params.cpuparams.n_threads = args.threads
        params.cpuparams_batch.n_threads = args.threads
    if args.seed >= 0:
        params.sampling.seed = args.seed

    t0 = time.monotonic()
    try:
        server = xlc.Server(params)  # loads the model and starts the HTTP server threads
    except Exception as err:
        print(f"llama.cpp server failed to start for {args.model}: {err}", file=sys.stderr)
        return 1
    url = f"http://{args.host}:{args.port}"
    try:
        wait_healthy(url, args.start_timeout)
    except TimeoutError as err:
        print(str(err), file=sys.stderr)
        return 1
    print(
        json.dumps(
            {
                "event": "listening",
                "url": url,
                "model": args.model,
                "pid": os.getpid(),
                "ctx_size": args.ctx_size,
                "parallel": args.parallel,
                "startup_ms": round((time.monotonic() - t0) * 1000),
                "xllamacpp": xlc.__version__,
            }
        ),
        flush=True,
    )

    stop = {"signal": 0}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while stop["signal"] == 0:
        signal.pause()
    del server  # the extension's destructor stops the HTTP threads and frees the model
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
