"""The local inference engine behind ``local`` model specs: continuous batching of requests
(``scheduler``, ``batch``), a prefix cache of prompt states, incremental detokenising, token
choice with JSON grammars and a closing walk that ends a JSON reply within its budget
(``sampling``, ``grammar``, ``json_closing``), and CPU linear layers packed for oneDNN. What a
caller hands it and gets back is in ``generation``; the LangChain chat model over it is
``memo_graph.models.local_chat``."""
