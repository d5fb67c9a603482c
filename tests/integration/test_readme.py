"""Every bash and python block of README.md and of the documentation in docs/ (in the site's
order, mkdocs.yml's nav), run in order in one fresh directory, as a reader following them would
run them. Blocks of other languages (``text``: a diagram, commands shown) are not run.

How a block runs here:
- bash: ``bash -e`` in the sandbox. ``pip install`` lines are left out: CI runs the README's
  install line itself (``.ci/run`` is checked below to be the README's test command).
- python: a fresh interpreter per block; top-level ``await`` is allowed, as in a notebook.
- ``local`` is the terse tiny random llama (``MEMO_GRAPH_LOCAL_MODEL``), which writes the
  shortest reply it may: the blocks check the flow, and a random model's text is noise at any
  length (writing to max_tokens made this test minutes longer). ``openai:...`` specs reach a
  loopback stand-in for the OpenAI API (``OPENAI_BASE_URL``, tests/openai_stand_in.py) through
  the real langchain-openai client, which also writes the QA pairs of every command that
  synthesises (a random model's may leave none). What else this machine cannot reach (Gemini,
  GPUs, a vLLM endpoint, a browser) is rewritten by SUBSTITUTIONS, each with its reason. The
  embedded model's own runs of the same flows are the notebook, end-to-end evaluation and
  ``langgraph dev`` tests.
- ``langgraph dev`` is started, asked ``/ok``, and stopped; the LangSmith block uploads to a
  loopback receiver (``LANGSMITH_ENDPOINT``), which must receive the evaluation's runs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from evals.benchmarks import load_benchmark
from tests.openai_stand_in import openai_stand_in
from tests.paths import REPO
from tests.servers import free_port, langsmith_receiver, wait_until_up

pytestmark = pytest.mark.integration

BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
RUN = ("bash", "python")

# (pattern, replacement, why): applied to every block before it runs.
SUBSTITUTIONS = [
    (
        r"google_genai:gemini-3-flash",
        "openai:gpt-4.1-mini",
        "no Gemini API here: the same LangChain chat model interface, through the OpenAI stand-in",
    ),
    (r"local:/models/Qwen2\.5-1\.5B-Instruct", "local", "no such model on this machine"),
    (
        r"openai-compatible:memo@http://127\.0\.0\.1:8000/v1",
        "memories/ddp",
        "no GPU for vllm serve: ask the artifact it would serve",
    ),
    (r"--multi_gpu --num_processes 8", "--multi_gpu --num_processes 2", "two CPU processes"),
    (r"--nproc_per_node 8", "--nproc_per_node 2", "two CPU processes, gloo"),
    (r"langgraph dev$", "langgraph dev --no-browser --no-reload", "no browser, no file watcher"),
    (
        r"memo library init (\S+) --base local",
        r"memo library init \1 --base local --min-recall 0",
        "a random model learns nothing, so its memories would never pass the learning check",
    ),
]
# A random model's QA pairs are noise that may leave none to train on: commands that run the
# GENERATOR get the OpenAI stand-in's deterministic one.
NEEDS_GENERATOR = ("memo synthesize", "memo demo", "memo eval", "memo add", "memo update")
GENERATOR = "--generator openai:gpt-4.1"
RUN_PYTHON = """
import ast, asyncio, inspect, sys
source = open(sys.argv[1]).read()
code = compile(source, "README block", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if inspect.iscoroutine(result):
    asyncio.run(result)
"""


def _pages(nav: object) -> list[str]:
    """The pages of mkdocs.yml's nav, in order."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _pages(value)]
    if isinstance(nav, list):
        return [page for item in nav for page in _pages(item)]
    return []


def readme_blocks() -> list[tuple[str, str]]:
    return BLOCK.findall((REPO / "README.md").read_text())


def reader_blocks() -> list[tuple[str, str]]:
    """The README's blocks, then each documentation page's, that a reader runs."""
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    pages = [REPO / "docs" / page for page in _pages(nav)]
    found = readme_blocks() + [b for page in pages for b in BLOCK.findall(page.read_text())]
    return [(language, code) for language, code in found if language in RUN]


def _installs_only(code: str) -> bool:
    return all(line.startswith("pip install") for line in code.splitlines() if line.strip())


def substituted(code: str) -> str:
    for pattern, replacement, _ in SUBSTITUTIONS:
        code = re.sub(pattern, replacement, code, flags=re.M)
    return "\n".join(_with_generator(line) for line in code.splitlines())


def _with_generator(line: str) -> str:
    command, hash_, comment = line.partition(" #")
    parts = []
    for part in command.split("&&"):
        given = "--generator" in part or "--pairs" in part
        if part.strip().startswith(NEEDS_GENERATOR) and not given:
            body, continued = part.rstrip().removesuffix("\\"), part.rstrip().endswith("\\")
            part = f"{body.rstrip()} {GENERATOR} " + ("\\" if continued else "")
        parts.append(part)
    return "&&".join(parts).rstrip() + (hash_ + comment if hash_ else "")


def _write_documents(sandbox: Path) -> None:
    """The files the README's commands name (docs/, docs-2/, books/, wiki.jsonl, qa.jsonl),
    made from our invented benchmark."""
    benchmark = load_benchmark("invented")
    documents = benchmark.documents
    folders = {
        "docs": ["orvane-tessaly", "kelvary-survey-society"],
        "docs-2": ["ilsabet-marrow", "lornhaven"],
        "books": ["drennic-islands"],
    }
    for folder, ids in folders.items():
        (sandbox / folder).mkdir()
        for doc_id in ids:
            (sandbox / folder / f"{doc_id}.txt").write_text(documents[doc_id].text)
    wiki = [documents[i].as_record() for i in ("pellmarsh", "brisca-holloway")]
    (sandbox / "wiki.jsonl").write_text("".join(json.dumps(r) + "\n" for r in wiki))
    qa = [{"question": q.question, "answer": q.answers[0]} for q in benchmark.questions]
    (sandbox / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in qa))


def _checkout(root: Path) -> Path:
    """What `langgraph dev` reads from a checkout: its config, env example and graphs."""
    root.mkdir()
    for name in ("langgraph.json", ".env.example", "memo_graph"):
        (root / name).symlink_to(REPO / name)
    return root


def _run(command: list[str], sandbox: Path, env: dict[str, str], what: str) -> None:
    done = subprocess.run(
        command, cwd=sandbox, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-4000:]}"


def _run_server(line: str, root: Path, env: dict[str, str]) -> None:
    port = free_port()  # the default 2024 may be taken on a shared machine
    log = root.parent / "langgraph-dev.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [*line.split(), "--port", str(port)],
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(server, f"http://127.0.0.1:{port}/ok", "langgraph dev")
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from None
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _run_block(
    index: int, language: str, code: str, sandbox: Path, tmp_path: Path, env: dict[str, str]
) -> bool:
    """Run one block as the README's reader would; False for a block of installs only."""
    what = f"block {index} ({language}):\n{code}"
    code = substituted(code)
    if language == "python":
        script = sandbox / f"block_{index}.py"
        script.write_text(code)
        _run([sys.executable, "-c", RUN_PYTHON, str(script)], sandbox, env, what)
        return True
    assert language == "bash", f"blocks that run are bash or python, not {language}"
    lines = [line for line in code.splitlines() if not line.startswith("pip install")]
    if not lines:
        return False  # only installs: CI's own run
    if lines[-1].startswith("langgraph dev"):  # from a checkout's root, as the README says
        root = _checkout(tmp_path / "checkout")
        _run(["bash", "-e", "-c", "\n".join(lines[:-1])], root, env, what)
        assert shutil.which("langgraph"), "the langgraph CLI is missing"
        _run_server(lines[-1], root, env)
    else:
        _run(["bash", "-e", "-c", "\n".join(lines)], sandbox, env, what)
    return True


def test_ci_runs_the_readme_test_command() -> None:
    tests_block = next(code for _, code in readme_blocks() if "python -m pytest" in code)
    assert tests_block.strip() in (REPO / ".ci" / "run").read_text()


@pytest.mark.heavy(minutes=6)
def test_every_readme_block_runs(terse_llama_dir: Path, tmp_path: Path) -> None:
    sandbox = tmp_path / "reader"
    sandbox.mkdir()
    _write_documents(sandbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGSMITH_")}
    env.update(
        MEMO_GRAPH_LOCAL_MODEL=str(terse_llama_dir),
        PYTHONPATH=str(REPO),
        LANGGRAPH_CLI_NO_ANALYTICS="1",
    )
    blocks = reader_blocks()
    ran = 0
    with langsmith_receiver() as (receiver_url, received), openai_stand_in() as openai_url:
        env.update(
            LANGSMITH_ENDPOINT=receiver_url, OPENAI_BASE_URL=openai_url, OPENAI_API_KEY="stand-in"
        )
        for index, (language, code) in enumerate(blocks):
            started = time.monotonic()
            if _run_block(index, language, code, sandbox, tmp_path, env):
                ran += 1
                print(f"block {index}: {time.monotonic() - started:.1f} s")
    assert ran == sum(not _installs_only(code) for _, code in blocks), "every block but installs"
    posted = b"\n".join(body for method, _, body in received if method in ("POST", "PATCH"))
    assert b"In which year was Orvane Tessaly born?" in posted  # the traced evaluation's runs
    assert (sandbox / "memories" / "merged" / "memo.json").exists()
    assert (sandbox / "memo-demo" / "report.md").exists()
