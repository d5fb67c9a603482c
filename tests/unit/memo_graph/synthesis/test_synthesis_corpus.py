"""Reading a corpus, chunking it, and the links between QA pairs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memo_graph.synthesis.chunking import ChunkConfig, chunk_document, tokenizer_spans, word_spans
from memo_graph.synthesis.corpus import CorpusError, Document, load_corpus
from memo_graph.synthesis.links import groups_sharing_a_key, names_in, shared_keys
from tests.paths import SHARED_DATA

SHARED_CORPUS = SHARED_DATA / "2wiki_corpus.json"


def pair(question: str, answer: str, document: str = "d1") -> dict[str, object]:
    return {"question": question, "answer": answer, "document_ids": [document]}


def test_text_files_become_documents_and_bad_files_are_counted(tmp_path: Path) -> None:
    (tmp_path / "curie.txt").write_text("Marie Curie was born in Warsaw.")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "vistula.md").write_text("# Vistula\nThe Vistula flows north.")
    record = json.dumps({"title": "Pharos", "text": "A lighthouse stood on Pharos."})
    (tmp_path / "twice.jsonl").write_text(f"{record}\n{record}\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text("  \n\n")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "latin1.txt").write_bytes("café crème".encode("latin-1"))
    (tmp_path / "broken.json").write_text("[{'title': 'x'")
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.7")
    (tmp_path / ".hidden.txt").write_text("never read")

    corpus = load_corpus(tmp_path)

    assert sorted(d.title for d in corpus.documents) == ["Pharos", "curie", "vistula"]
    assert corpus.skipped == {
        "duplicate document": 1,
        "empty file": 2,
        "binary file": 1,
        "undecodable file": 1,
        "invalid JSON file": 1,
        "unsupported file type .pdf": 1,
    }


def test_json_and_jsonl_records_keep_title_text_and_date(tmp_path: Path) -> None:
    records = [
        {"title": "Teutberga", "text": "Teutberga was a queen of Lotharingia.", "date": 875},
        {"title": "No text"},
        "not an object",
    ]
    (tmp_path / "a.json").write_text(json.dumps(records))
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"title": "Lothair II", "text": "Lothair II was king."}) + "\n\n"
    )
    corpus = load_corpus(str(tmp_path / "*.json*"))
    by_title = {d.title: d for d in corpus.documents}
    assert set(by_title) == {"Teutberga", "Lothair II"}
    assert by_title["Teutberga"].date == "875" and by_title["Lothair II"].date is None
    assert corpus.skipped["record without text"] == 1
    assert corpus.skipped["record is not an object"] == 1


def test_document_ids_are_stable_and_distinct(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("One fact.")
    (tmp_path / "b.txt").write_text("Another fact.")
    first, second = load_corpus(tmp_path), load_corpus(tmp_path)
    assert [d.id for d in first.documents] == [d.id for d in second.documents]
    assert len({d.id for d in first.documents}) == 2


def test_a_saved_hugging_face_dataset_is_a_corpus(tmp_path: Path) -> None:
    from datasets import Dataset

    rows = {"title": ["Pharos", "Alexandria"], "text": ["A lighthouse stood here.", "A city."]}
    Dataset.from_dict(rows).save_to_disk(str(tmp_path / "saved"))
    corpus = load_corpus(tmp_path / "saved")
    assert [d.title for d in corpus.documents] == ["Pharos", "Alexandria"]


def test_the_shared_2wiki_corpus_loads() -> None:
    if not SHARED_CORPUS.exists():
        pytest.skip(f"{SHARED_CORPUS} is not beside the repository")
    corpus = load_corpus(SHARED_CORPUS, limit=50)
    assert len(corpus.documents) == 50 and all(d.title and d.text for d in corpus.documents)


def test_a_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no corpus at .*give a directory or glob"):
        load_corpus(tmp_path / "missing")


def test_a_corpus_without_documents_says_why(tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "b.txt").write_bytes(b"\x00\x01")
    with pytest.raises(
        CorpusError, match=r"holds no document \(1 binary file, 1 empty file\); it needs UTF-8"
    ):
        load_corpus(tmp_path)


def test_word_chunks_quote_the_text_and_overlap() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    document = Document(id="doc-1", title="T", text=text)
    chunks = chunk_document(document, ChunkConfig(size=10, overlap=3, unit="words"), word_spans)
    assert [c.text.split()[0] for c in chunks] == ["w0", "w7", "w14", "w21"]
    assert all(c.text in text and len(c.text.split()) <= 10 for c in chunks)
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]
    assert chunks[-1].text.split()[-1] == "w24"
    assert [c.id for c in chunks] == [f"doc-1-c{i}" for i in range(4)]


def test_a_short_document_is_one_chunk_and_a_blank_one_none() -> None:
    config = ChunkConfig(size=400, overlap=40, unit="words")
    short = Document(id="d", title="T", text="Just a few words here.")
    assert [c.text for c in chunk_document(short, config, word_spans)] == [short.text]
    assert chunk_document(Document(id="e", title="T", text="   "), config, word_spans) == []


def test_token_chunks_count_tokenizer_tokens(embedded_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(embedded_dir)
    text = "Teutberga was a queen of Lotharingia by marriage to Lothair II. " * 8
    document = Document(id="d", title="T", text=text)
    chunks = chunk_document(document, ChunkConfig(size=32, overlap=4), tokenizer_spans(tokenizer))
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text in text
        assert len(tokenizer(chunk.text, add_special_tokens=False)["input_ids"]) <= 33


@pytest.mark.parametrize(
    ("size", "overlap"), [(0, 0), (10, 10), (10, -1)], ids=["no size", "overlap=size", "negative"]
)
def test_bad_chunk_settings_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="must"):
        ChunkConfig(size=size, overlap=overlap)


def test_names_skip_question_words_and_keep_multiword_names() -> None:
    found = names_in("Where was Marie Curie born, and when did Lothair II marry Teutberga?")
    assert found == {"Marie Curie", "Lothair II", "Teutberga"}


def test_groups_share_a_key_and_do_not_overlap() -> None:
    pairs = [
        pair("Where was Marie Curie born?", "Warsaw."),
        pair("What did Marie Curie win in 1903?", "The Nobel Prize in Physics."),
        pair("What flows through Warsaw?", "The Vistula."),
        pair("What is blue?", "The sky."),
    ]
    groups = groups_sharing_a_key(pairs)
    flat = [i for g in groups for i in g]
    assert len(flat) == len(set(flat)) and 3 not in flat
    assert all(len(g) >= 2 for g in groups)
    assert groups == groups_sharing_a_key(pairs)


def test_shared_keys_span_documents() -> None:
    by_document = {
        "d1": [pair("Where was Marie Curie born?", "Warsaw.", "d1")],
        "d2": [pair("What river flows through Warsaw?", "The Vistula.", "d2")],
        "d3": [pair("What is blue?", "The sky.", "d3")],
    }
    assert shared_keys(by_document) == {"Warsaw": ["d1", "d2"]}
