"""A memory library: a MEMORY kept current as documents come, change and go.

Each batch of added documents gets a shard: a MEMORY trained on that batch's pairs alone. The
library's current memory is the merge of every shard (or the one shard), trained one more epoch
on all the library's pairs by default (consolidation: a merge of four shards keeps about half of
what they learnt, the epoch brings it back). Forgetting a document retrains only the shards
whose pairs draw on it, without those pairs, merges and consolidates again, so the document is
gone from the weights exactly, not approximately (sharded training, as in "Machine Unlearning",
Bourtoule et al. 2021).

Every operation first writes the ledger it leads to, then trains what is not trained, merges,
checks what the memory learnt, switches ``current`` (one rename) and removes what nothing uses
any more. Killed at any point and run again, it goes on from there: a shard whose artifact
matches its pairs is not trained again, and a half-trained one resumes from its checkpoint.

The parts: the ledger (:mod:`.ledger`), the directory and its ``current`` pointer
(:mod:`.store`), the shards' training and merge
(:mod:`.shards`), where pairs come from
(:mod:`.pair_sources`), the learning check (:mod:`.learning_check`),
the settings (:mod:`.settings`) and the reports
(:mod:`.report`).
"""

from memo_graph.memory.library import LibraryError, current_memory
from memo_training.library.learning_check import LearningCheckError, recalled
from memo_training.library.ledger import UnknownDocumentError
from memo_training.library.operations import add, forget, init, show, update
from memo_training.library.report import DocumentRow, LibraryReport, LibraryView, ShardRow
from memo_training.library.settings import LibrarySettings

__all__ = [
    "DocumentRow",
    "LearningCheckError",
    "LibraryError",
    "LibraryReport",
    "LibrarySettings",
    "LibraryView",
    "ShardRow",
    "UnknownDocumentError",
    "add",
    "current_memory",
    "forget",
    "init",
    "recalled",
    "show",
    "update",
]
