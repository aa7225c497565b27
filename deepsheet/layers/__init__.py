"""Layers (Keras's ``keras.layers``): one family per file, all in one class registry."""
from .base import Layer, deserialize, get_class, register, registered, serialize  # noqa: F401
from .symbolic import Input, InputLayer, KerasTensor, Node  # noqa: F401
from .core import *  # noqa: F401,F403  (Dense, Activation, Flatten, Reshape, Dropout, ...)
from .activation import *  # noqa: F401,F403  (ReLU, LeakyReLU, PReLU, ELU, Softmax)
from .normalization import *  # noqa: F401,F403  (BatchNormalization, LayerNormalization)
from .merge import *  # noqa: F401,F403  (Add, Concatenate, Multiply)
from .conv import *; from .pooling import *; from .reshaping import *  # noqa: E702,F401,F403
from .augmentation import *  # noqa: F401,F403  (RandomFlip, RandomCrop, GaussianNoise, ...)
from .attention import *  # noqa: F401,F403  (Attention, AdditiveAttention, MultiHeadAttention)
from .transformer import *  # noqa: F401,F403  (positional encodings, TransformerEncoder/Decoder)
from .embedding import *  # noqa: F401,F403  (Embedding, Masking)
from .recurrent_cells import *; from .recurrent import *  # noqa: E702,F401,F403
from .recurrent_wrappers import *  # noqa: F401,F403  (Bidirectional, TimeDistributed)
from .text import *  # noqa: F401,F403  (TextVectorization, CharacterVectorization)
from .lookup import *  # noqa: F401,F403  (StringLookup, IntegerLookup)
from .lambda_layer import *  # noqa: F401,F403  (Lambda)
