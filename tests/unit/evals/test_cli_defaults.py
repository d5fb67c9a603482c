"""One source for every default: each `memo` option passes on only what the user gave, so a
command without options runs with the settings' own defaults, and --help shows those."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import evals.cli
import evals.pipeline
from evals.demo import DemoSettings
from evals.pipeline import EvalSettings
from memo_graph.models import spec as model_spec
from memo_graph.protocol.context import ProtocolContext
from memo_graph.synthesis import plan as synthesis_plan
from memo_graph.synthesis.state import SynthesisContext
from memo_training import config as training
from memo_training.config import TrainConfig
from memo_training.library import LibrarySettings

# Options whose default is the command's own choice, not another setting's.
OWN_DEFAULTS = {
    ("chat", "model"),  # the embedded model's spec name
    ("chat", "max_tokens"),  # a short smoke test, whichever model
    ("chat", "temperature"),  # greedy, whichever model
    ("train", "base"),
}


class Stop(Exception):
    """Raised by a stand-in once it has seen what the command built."""


def _help(command: str) -> str:
    result = CliRunner().invoke(evals.cli.app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize(
    ("command", "flag", "default"),
    [
        ("synthesize", "--chunk-size", SynthesisContext().chunk_size),
        ("synthesize", "--temperature", SynthesisContext().temperature),
        ("synthesize", "--timeout", model_spec.REMOTE_TIMEOUT_S),
        ("ask", "--identification-turns", ProtocolContext().identification_turns),
        ("ask", "--seeking-turns", ProtocolContext().seeking_turns),
        ("train", "--epochs", TrainConfig().epochs),
        ("train", "--lr", TrainConfig().learning_rate),
        ("train", "--lora-dropout", TrainConfig().lora_dropout),
        ("merge", "--density", training.MERGE_DENSITY),
        ("eval", "--k", EvalSettings(benchmark="x", out=Path("x")).k),
        ("eval", "--generator-max-tokens", SynthesisContext().max_tokens),
        ("demo", "--epochs", DemoSettings().epochs),
        ("demo", "--generator-temperature", DemoSettings().generator_temperature),
    ],
)
def test_help_shows_the_default_of_the_setting_the_option_goes_to(
    command: str, flag: str, default: Any
) -> None:
    text = _help(command)
    after = text[text.index(flag + " ") :]
    shown = re.search(r"\[default: \(([^)]*)\)\]", after)
    assert shown is not None, after[:300]
    assert float(shown.group(1)) == pytest.approx(float(default))


def test_no_option_repeats_a_default_of_the_settings() -> None:
    command = typer.main.get_command(evals.cli.app)
    assert isinstance(command, typer.core.TyperGroup)
    repeated = []
    for name, sub in command.commands.items():
        for param in sub.params:
            is_flag = getattr(param, "is_flag", False)
            own = (name, param.name) in OWN_DEFAULTS
            given = param.default is not None and param.name != "help"
            if param.param_type_name == "option" and not is_flag and not own and given:
                repeated.append((name, param.name, param.default))
    assert repeated == []


def test_synthesize_without_options_uses_the_context_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[SynthesisContext] = []

    def plan(corpus: str, context: SynthesisContext) -> Any:
        seen.append(context)
        raise Stop

    monkeypatch.setattr(synthesis_plan, "plan_synthesis", plan)
    corpus = tmp_path / "a.txt"
    corpus.write_text("Ada Lovelace wrote the first program.")
    result = CliRunner().invoke(
        evals.cli.app, ["synthesize", str(corpus), "-o", str(tmp_path / "o")]
    )
    assert isinstance(result.exception, Stop), result.output
    assert seen == [SynthesisContext()]


def test_ask_without_options_uses_the_context_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ProtocolContext] = []
    real_init = ProtocolContext.__post_init__

    def record(self: ProtocolContext) -> None:
        real_init(self)
        seen.append(self)
        raise Stop

    monkeypatch.setattr(ProtocolContext, "__post_init__", record)
    result = CliRunner().invoke(evals.cli.app, ["ask", "Who wrote the first program?"])
    assert isinstance(result.exception, Stop), result.output
    monkeypatch.undo()
    assert [dataclasses.asdict(c) for c in seen] == [dataclasses.asdict(ProtocolContext())]


def test_eval_without_options_uses_the_settings_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[EvalSettings] = []

    async def evaluate(settings: EvalSettings, **_: Any) -> Any:
        seen.append(settings)
        raise Stop

    monkeypatch.setattr(evals.pipeline, "evaluate", evaluate)
    out = tmp_path / "report"
    result = CliRunner().invoke(evals.cli.app, ["eval", "--benchmark", "invented", "-o", str(out)])
    assert isinstance(result.exception, Stop), result.output
    assert seen == [EvalSettings(benchmark="invented", out=out)]


def test_demo_without_options_uses_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    import evals.demo

    seen: list[DemoSettings] = []

    async def run_demo(settings: DemoSettings, **_: Any) -> Any:
        seen.append(settings)
        raise Stop

    monkeypatch.setattr(evals.demo, "run_demo", run_demo)
    result = CliRunner().invoke(evals.cli.app, ["demo"])
    assert isinstance(result.exception, Stop), result.output
    assert seen == [DemoSettings()]


@pytest.mark.parametrize(
    ("command", "owner", "left_out"),
    [
        ("train", TrainConfig, {"method", "target_modules"}),
        ("library init", LibrarySettings, {"training"}),
    ],
)
def test_every_described_field_of_the_settings_is_an_option_with_its_description(
    command: str, owner: Any, left_out: set[str]
) -> None:
    """One source: the options are made from the settings' fields, so a field added there is an
    option here, with the field's own words as its help."""
    text = _help(command)
    for field in dataclasses.fields(owner):
        if field.name in left_out:
            continue
        flag = field.metadata.get("flag") or "--" + field.name.replace("_", "-")
        assert flag + " " in text, (command, flag)
        description = " ".join(field.metadata["description"].split())
        assert description[:40] in text, (command, field.name)


def test_train_passes_on_only_the_settings_the_user_gave(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import memo_training.trainer

    seen: list[TrainConfig] = []

    def train_memory(*_: Any, config: TrainConfig, **__: Any) -> Any:
        seen.append(config)
        raise Stop

    monkeypatch.setattr(memo_training.trainer, "train_memory", train_memory)
    arguments = ["train", "qa.jsonl", "-o", str(tmp_path / "m"), "--lr", "0.001"]
    result = CliRunner().invoke(evals.cli.app, [*arguments, "--lr-schedule", "linear"])
    assert isinstance(result.exception, Stop), result.output
    assert seen == [TrainConfig(learning_rate=0.001, lr_schedule="linear")]


@pytest.mark.parametrize(
    "owner",
    [SynthesisContext, ProtocolContext, TrainConfig, LibrarySettings, EvalSettings, DemoSettings],
)
def test_every_settings_field_is_described_in_its_metadata(owner: Any) -> None:
    """The description is the option's help, the API page's words and Studio's field text."""
    from evals.systems.memo import MemoSettings

    for settings in (owner, MemoSettings):
        bare = [f.name for f in dataclasses.fields(settings) if not f.metadata.get("description")]
        assert bare == [], settings.__name__
