"""Word embeddings: skip-gram with negative sampling, nearest neighbours, vector files.

``Word2Vec(...).fit(sentences).wv`` trains vectors; ``KeyedVectors`` answers
``most_similar`` and analogies; ``load_word2vec_format`` / ``save_word2vec_format`` read and
write the word2vec/GloVe text format; ``embedding_from_vectors`` makes an ``Embedding`` layer
from them; ``greedy_decode`` and ``beam_search`` decode sequence models.
"""
from .vectors import (KeyedVectors, embedding_from_vectors, embedding_matrix,  # noqa: F401
                      load_word2vec_format)
from .decoding import beam_search, greedy_decode, length_penalty  # noqa: F401
from .word2vec import Word2Vec, sgns_loss_and_grads, simple_tokenize  # noqa: F401
