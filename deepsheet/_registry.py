"""Private helpers shared by the modules whose objects are described by a config.

Initializers, regularizers, learning-rate schedules and losses each keep their own names
and error messages; what they share lives here: rebuilding and printing an object from
its ``get_config()``, and turning a Keras identifier (a name, a class, a
``{"class_name", "config"}`` dict, an instance or a callable) into an object.
"""
from __future__ import annotations


class Configurable:
    """Mixin: ``from_config(obj.get_config())`` rebuilds ``obj``; ``repr`` shows the config."""

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def lookup(kind, name, aliases, classes):
    """The class called ``name``: a class name as written, or an alias in any case.

    An unknown name raises ValueError naming the ``kind`` and listing every valid name.
    """
    cls = None
    if isinstance(name, str):
        cls = classes.get(name) or aliases.get(name.lower())
    if cls is None:
        valid = sorted(set(aliases) | set(classes))
        raise ValueError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")
    return cls


def from_spec(kind, spec, find):
    """The object ``{"class_name": ..., "config": {...}}`` describes (``find`` maps a class
    name to its class); a bad config raises ValueError naming the class."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise ValueError(f"{_a(kind)} config must be {{'class_name': ..., 'config': ...}}, "
                         f"got {spec!r}")
    cls = find(spec["class_name"])
    try:
        return cls.from_config(dict(spec.get("config") or {}))
    except TypeError as exc:
        raise ValueError(f"bad config for {kind} {spec['class_name']}: {exc}") from None


def get(identifier, base, find, deserialize, kind, expected):
    """An object of ``base`` from a Keras identifier.

    None stays None, an instance passes through, a name gives the class ``find`` returns
    with its default arguments, a dict goes through ``deserialize``, a ``base`` subclass is
    instantiated, any other callable is returned as it is; anything else raises ValueError
    saying what was ``expected``.
    """
    if identifier is None or isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        return find(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, base):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"cannot interpret {identifier!r} as {_a(kind)}: expected {expected}")


def _a(kind):
    return ("an " if kind[0] in "aeiou" else "a ") + kind
