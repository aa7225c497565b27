"""Lists and dicts held by a layer that keep tracking the layers put into them later."""
from __future__ import annotations


class _LayerList(list):
    """A list attribute of a layer: layers appended or set later are tracked too."""

    _owner = None

    def append(self, value):
        super().append(value)
        self._owner._track(value)

    def extend(self, values):
        values = list(values)
        super().extend(values)
        self._owner._track(values)

    def insert(self, index, value):
        super().insert(index, value)
        self._owner._track(value)

    def __setitem__(self, index, value):
        super().__setitem__(index, value)
        self._owner._track(value)

    def __iadd__(self, values):
        self.extend(values)
        return self


class _LayerDict(dict):
    """A dict attribute of a layer: layers stored later are tracked too."""

    _owner = None

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self._owner._track(value)

    def update(self, *args, **kwargs):
        super().update(*args, **kwargs)
        self._owner._track(dict(*args, **kwargs))

    def setdefault(self, key, value=None):
        out = super().setdefault(key, value)
        self._owner._track(value)
        return out
