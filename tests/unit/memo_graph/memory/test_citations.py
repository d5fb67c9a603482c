"""Citations: the marker a library's MEMORY learns to end its answers with, read back off its
replies, checked against the titles the memory was trained on, and carried through the tool and
the protocol to the final answer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from langchain_core.messages import ToolCall

from memo_graph.errors import MemoError
from memo_graph.memory import MemoryBackend, MemoryTool
from memo_graph.memory.replies import MemoryReply
from memo_graph.memory.sources import (
    CATALOG_FILE,
    SourceCatalog,
    catalog_of,
    split_sources,
    with_sources,
    without_sources,
)
from memo_graph.protocol import ProtocolContext
from memo_graph.protocol.nodes import ProtocolRoles
from tests.scripted import ScriptedChatModel
from tests.unit.memo_graph.protocol.test_protocol_answer_rules import QUERY, executive, run

CATALOG = SourceCatalog(held=("Orvane Tessaly", "Pellmarsh"))


def test_a_marked_answer_reads_back_as_the_answer_and_its_titles() -> None:
    marked = with_sources("Pellmarsh, a river town.", ["Orvane Tessaly", "Pellmarsh"])
    assert marked == "Pellmarsh, a river town. [sources: Orvane Tessaly; Pellmarsh]"
    assert split_sources(marked) == ("Pellmarsh, a river town.", ["Orvane Tessaly", "Pellmarsh"])
    assert with_sources("Pellmarsh.", []) == "Pellmarsh."


def test_a_title_never_breaks_the_marker_and_repeats_are_cited_once() -> None:
    marked = with_sources("1871.", ["Salt; Sea [draft]", "salt, sea (draft)", "Pellmarsh"])
    assert split_sources(marked)[1] == ["Salt, Sea (draft)", "Pellmarsh"]


def test_the_memory_s_variations_of_the_marker_are_read() -> None:
    assert split_sources("Pellmarsh [Source:Pellmarsh]") == ("Pellmarsh", ["Pellmarsh"])
    # Cut short by the token limit: the titles it got to.
    assert split_sources("Pellmarsh. [sources: Orvane Tessaly; Pell") == (
        "Pellmarsh.",
        ["Orvane Tessaly", "Pell"],
    )
    # Run on past the marker: what follows is not answer.
    assert without_sources("Pellmarsh. [sources: Pellmarsh] Q: and then?") == "Pellmarsh."
    assert split_sources("Pellmarsh, no marker.") == ("Pellmarsh, no marker.", [])


def test_a_reply_cites_only_what_it_knows_and_unknown_titles_are_flagged() -> None:
    reply = MemoryReply.from_answer("q?", "Pellmarsh. [sources: pellmarsh; The Atlas of Nowhere]")
    checked = reply.with_citations(CATALOG)
    assert checked.answer == "Pellmarsh." and checked.confident
    assert checked.sources == ["Pellmarsh"]  # as the library spells it
    assert checked.unverified_sources == ["The Atlas of Nowhere"]
    unknown = MemoryReply.from_answer("q?", "I don't know. [sources: Pellmarsh]")
    assert unknown.with_citations(CATALOG).sources == []
    only_a_marker = MemoryReply.from_answer("q?", "[sources: Pellmarsh]").with_citations(CATALOG)
    assert not only_a_marker.confident and only_a_marker.sources == []


def test_a_memory_without_a_catalog_keeps_its_replies_as_written() -> None:
    said = "Paris [source: wiki], founded 250 BC."
    memory = MemoryBackend(ScriptedChatModel(reply=lambda m: said))
    [reply] = memory.answer(["Where?"])
    assert reply.answer == said and reply.sources == [] and reply.unverified_sources == []


def test_a_published_artifact_carries_its_catalog(tmp_path: Path) -> None:
    CATALOG.save(tmp_path)
    assert json.loads((tmp_path / CATALOG_FILE).read_text()) == {
        "held": ["Orvane Tessaly", "Pellmarsh"]
    }
    assert catalog_of(f"local:{tmp_path}") == CATALOG
    assert catalog_of(f"local:{tmp_path / 'elsewhere'}") is None
    assert catalog_of("openai-compatible:memo@http://127.0.0.1:1/v1") is None
    (tmp_path / CATALOG_FILE).write_text('{"held": "Pellmarsh"}')
    with pytest.raises(MemoError, match="cannot read the source catalog"):
        catalog_of(f"local:{tmp_path}")


def test_the_protocol_reads_the_weights_and_the_catalog_a_link_points_to_now(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    """A library's ``current`` link is switched by every operation: a graph run after the
    switch asks the new memory with the new catalog, not a model kept under the link's name."""
    link = tmp_path / "current"
    memories = []
    for name, titles in (("old", ("Pellmarsh",)), ("new", ("Orlen",))):
        memory = shutil.copytree(tiny_llama_dir, tmp_path / name)
        SourceCatalog(held=titles).save(memory)
        memories.append(memory)
        link.unlink(missing_ok=True)
        link.symlink_to(memory)
        backend = ProtocolRoles().memory(ProtocolContext(memory=f"local:{link}"))
        assert backend.model.model == str(memory.resolve())  # type: ignore[attr-defined]
        assert backend.catalog == SourceCatalog(held=titles)


def cited_memory(replies: dict[str, str]) -> MemoryBackend:
    model = ScriptedChatModel(reply=lambda m: replies.get(str(m[-1].content), "I don't know."))
    return MemoryBackend(model, catalog=CATALOG)


def test_the_tool_reports_sources_in_its_text_and_its_artifact() -> None:
    tool = MemoryTool(
        backend=cited_memory({"Where?": "Pellmarsh. [sources: Pellmarsh; Lost Book]"})
    )
    message = tool.invoke(
        ToolCall(name=tool.name, args={"questions": ["Where?"]}, id="1", type="tool_call")
    )
    assert "Sources: Pellmarsh" in message.content
    assert "Unverified sources (not in the library): Lost Book" in message.content
    [row] = message.artifact
    assert row["sources"] == ["Pellmarsh"] and row["unverified_sources"] == ["Lost Book"]


async def test_the_final_answer_lists_the_sources_of_the_replies_it_rests_on() -> None:
    memory = cited_memory(
        {
            QUERY: "Pellmarsh, a river town. [sources: Orvane Tessaly; Pellmarsh]",
            "Who charted the Drennic Islands?": "Orvane Tessaly. [sources: Orvane Tessaly]",
            "Which cartographer sailed with herring boats?": "Ilse Varo. [sources: Made Up]",
        }
    )
    out = await run(executive("Pellmarsh"), memory)
    assert out["answer"] == "Pellmarsh"
    assert out["sources"] == ["Orvane Tessaly", "Pellmarsh"]
    assert "unverified_sources" not in out  # the made-up title is on a reply it does not rest on
    cited = {e["question"]: e.get("unverified_sources", []) for e in out["trail"]}
    assert cited["Which cartographer sailed with herring boats?"] == ["Made Up"]


async def test_a_memory_that_cites_nothing_leaves_the_output_without_sources() -> None:
    out = await run(executive("Pellmarsh"), cited_memory({QUERY: "Pellmarsh, a river town."}))
    assert out["answer"] == "Pellmarsh" and "sources" not in out
