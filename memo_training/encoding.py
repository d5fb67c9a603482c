"""Turning QA pairs into training examples: the base model's chat template with user = question
and assistant = answer, labels on the answer tokens and the end-of-turn token only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from memo_graph.errors import MemoError
from memo_training.data import QAPair

IGNORE_INDEX = -100
_MIN_QUESTION_TOKENS = 4


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]


class ChatTemplateError(MemoError):
    """The tokenizer's chat template cannot be used for answer-only training."""


class AnswerOnlyEncoder:
    """Encodes pairs for one tokenizer; counts what it shortened or dropped in ``report``."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        if getattr(tokenizer, "chat_template", None) is None:
            raise ChatTemplateError(
                "the base model's tokenizer has no chat template; use an instruct model or set "
                "tokenizer.chat_template before training."
            )
        if not getattr(tokenizer, "is_fast", False):
            raise ChatTemplateError("answer-only labels need a fast (Rust) tokenizer.")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.report: Counter[str] = Counter()
        self._special = sorted(
            {str(t) for t in tokenizer.all_special_tokens}
            | {str(t.content) for t in tokenizer.added_tokens_decoder.values() if t.special},
            key=len,
            reverse=True,
        )

    def _render(self, question: str, answer: str) -> tuple[str, int, int]:
        """The conversation text and the character span to label (answer + end of turn)."""
        user = [{"role": "user", "content": question}]
        prompt = self.tokenizer.apply_chat_template(
            user, tokenize=False, add_generation_prompt=True
        )
        text = self.tokenizer.apply_chat_template(
            [*user, {"role": "assistant", "content": answer}], tokenize=False
        )
        if not text.startswith(prompt):
            raise ChatTemplateError(
                "the chat template renders the conversation so that it does not start with the "
                "prompt it renders for generation; answer-only labels cannot be placed."
            )
        start = text.find(answer, len(prompt))
        if start == -1:
            raise ChatTemplateError("the chat template changes the answer text it is given.")
        end = start + len(answer)
        end_of_turn = next((s for s in self._special if text.startswith(s, end)), None)
        if end_of_turn is None:
            raise ChatTemplateError(
                "the chat template puts no special token right after the assistant's answer, so "
                "the model could not learn where an answer ends."
            )
        return text, start, end + len(end_of_turn)

    def _tokenize(self, question: str, answer: str) -> Example:
        text, start, end = self._render(question, answer)
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        labels = [
            token if first >= start and last <= end and last > first else IGNORE_INDEX
            for token, (first, last) in zip(
                encoded["input_ids"], encoded["offset_mapping"], strict=True
            )
        ]
        return Example(list(encoded["input_ids"]), labels)

    def encode(self, pair: QAPair) -> Example | None:
        """The example for ``pair``, with the question shortened if the whole does not fit in
        ``max_length``; None (counted as ``answer_too_long``) when even the answer does not."""
        example = self._tokenize(pair.question, pair.answer)
        overflow = len(example.input_ids) - self.max_length
        if overflow <= 0:
            return example
        question_ids = self.tokenizer(pair.question, add_special_tokens=False)["input_ids"]
        keep = len(question_ids) - overflow - 2  # a little slack: re-tokenising can shift
        if keep < _MIN_QUESTION_TOKENS:
            self.report["answer_too_long"] += 1
            return None
        shortened = self.tokenizer.decode(question_ids[:keep]).strip()
        example = self._tokenize(shortened, pair.answer)
        if len(example.input_ids) > self.max_length:
            self.report["answer_too_long"] += 1
            return None
        self.report["question_shortened"] += 1
        return example

    def encode_all(self, pairs: list[QAPair]) -> list[Example]:
        encoded = (self.encode(pair) for pair in pairs)
        return [example for example in encoded if example is not None]
