"""What the MEMORY is told. A trained MEMORY learnt plain question -> answer turns, so the
``text`` format sends the bare question; ``json`` adds the instruction below."""

JSON_REPLY_INSTRUCTION = (
    "Answer the question from what you remember. You have no documents to look at. "
    'If you do not remember the answer, say exactly "I don\'t know" instead of guessing. '
    'Reply as JSON: {"answer": ..., "reasoning": ...}.'
)
