"""Length-grouped batches (little padding) in a seeded order, and padding them into tensors."""

from __future__ import annotations

import random

import torch

from memo_training.encoding import IGNORE_INDEX, Example

_GROUP_BATCHES = 32  # batches whose examples are sorted together by length


def plan_batches(lengths: list[int], batch_size: int, epochs: int, seed: int) -> list[list[int]]:
    """Indices of every micro-batch of every epoch, in training order. Each epoch shuffles,
    sorts windows of ``_GROUP_BATCHES`` batches by length, then shuffles the batches: similar
    lengths share a batch while the order stays random. The same arguments give the same plan,
    which is what lets a resumed run continue exactly where it stopped."""
    plan: list[list[int]] = []
    for epoch in range(epochs):
        rng = random.Random(seed * 1_000_003 + epoch)
        order = list(range(len(lengths)))
        rng.shuffle(order)
        window = batch_size * _GROUP_BATCHES
        batches: list[list[int]] = []
        for start in range(0, len(order), window):
            chunk = sorted(order[start : start + window], key=lengths.__getitem__)
            batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
        rng.shuffle(batches)
        plan.extend(batches)
    return plan


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask and labels (-100 on padding)."""
    width = max(len(e.input_ids) for e in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for row, example in enumerate(examples):
        size = len(example.input_ids)
        input_ids[row, :size] = torch.tensor(example.input_ids)
        attention[row, :size] = 1
        labels[row, :size] = torch.tensor(example.labels)
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}
