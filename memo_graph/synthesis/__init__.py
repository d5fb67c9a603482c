"""The five-step synthesis of a reflection-QA dataset from a corpus, by the GENERATOR."""

from memo_graph.synthesis.corpus import CorpusError, load_corpus
from memo_graph.synthesis.graph import build_synthesis, builder, graph
from memo_graph.synthesis.state import STEPS, SynthesisContext, SynthesisSettingsError

__all__ = [
    "STEPS",
    "CorpusError",
    "SynthesisContext",
    "SynthesisSettingsError",
    "build_synthesis",
    "builder",
    "graph",
    "load_corpus",
]
