"""Models: the functional ``Model`` graph, ``Sequential``, and the Keras training API on both."""
from .model import Model
from .sequential import Sequential
from ..saving import load_model

__all__ = ["Model", "Sequential", "load_model"]
