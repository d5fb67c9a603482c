"""A process that ends while the engine is still decoding exits cleanly: the worker is stopped
at interpreter exit instead of being killed inside a torch call (which aborts the process with
"terminate called without an active exception")."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import sys, time
    from memo_graph.engine.local_engine import GenerationRequest, SamplingParams, get_engine
    from memo_graph.models.weights import resolve_weights

    engine = get_engine(resolve_weights(sys.argv[1]), device="cpu")
    params = SamplingParams(max_new_tokens=4000)
    prompts = [engine.render_chat([{"role": "user", "content": f"tell {i}"}]) for i in range(4)]
    futures = [engine.submit(GenerationRequest(prompt, params)) for prompt in prompts]
    time.sleep(float(sys.argv[2]))
    print("leaving while decoding", not any(f.done() for f in futures))
    """
)


def test_exit_while_decoding_is_clean(tiny_llama_dir: Path) -> None:
    for wait_s in ("0.5", "1.5"):
        done = subprocess.run(
            [sys.executable, "-c", PROGRAM, str(tiny_llama_dir), wait_s],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "leaving while decoding True" in done.stdout
        assert "terminate called" not in done.stderr
