"""Sources of QA pairs that cost no GENERATOR call, each a module with one job: the cloze rules
that ask each fact of a sentence in place (:mod:`.cloze`), reading on the sentences' spans
(:mod:`.spans`) and the document's references to its subject (:mod:`.references`)."""
