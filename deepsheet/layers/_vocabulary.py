"""The vocabulary rules shared by TextVectorization and the lookup layers (Keras's)."""
from __future__ import annotations

import math


def frequency_order(counts, limit=None):
    """Tokens of a ``Counter`` by count, most frequent first, ties in reverse order (Keras's
    rule); at most ``limit`` of them."""
    ordered = [t for t, _ in sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]
    return ordered if limit is None else ordered[:limit]


def inverse_document_frequencies(tokens, document_counts, n_documents):
    """idf(t) = log(1 + N / (1 + df(t))) for each token, as Keras's tf_idf mode."""
    return [math.log(1.0 + n_documents / (1.0 + document_counts[t])) for t in tokens]
