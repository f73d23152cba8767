"""Small record classes for the modules a light CLI command loads, without `dataclasses`.

`dataclasses` costs a command that runs for milliseconds a fifth of its start-up: the module imports
`inspect` (and with it `ast`, `dis`, `tokenize`), and every class it decorates has its methods written
out as source and compiled. The checkpoint reader's records (`Header`, `Digests`, `RecipeSource`, ...)
are built a few times per command, so they take the same shape from this base instead: the fields are
the class annotations in order, defaults the class attributes (`factory(list)` for a fresh list per
instance), and `Record` gives the `__init__` (positional or keyword), `__repr__`, `__eq__` (same class,
same compared fields) and, for `frozen=True`, the immutability and `__hash__` a dataclass would.
`hidden=("raw",)` leaves fields out of the repr and the comparison (dataclass `repr=False, compare=False`).
`as_dict(record)` is `dataclasses.asdict`. The typed recipe (`iga_core.recipe.model`) stays dataclasses:
composition rewrites it with `dataclasses.replace`, and a light command does not load it.
`tests/test_cli_imports.py` checks that the light commands load neither `dataclasses` nor `typing`.
"""

from __future__ import annotations

_MISSING = object()


class factory:  # lower case: it reads as a default, like dataclasses.field(default_factory=...)
    """A default built anew for each instance: `problems: list = factory(list)`."""

    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


class FrozenRecordError(AttributeError):
    """An attribute of a frozen record was assigned or deleted (dataclasses' FrozenInstanceError)."""


class Record:
    """The base of a record class: see the module docstring."""

    __slots__ = ()
    _fields = ()  # the field names, in order
    _defaults: dict = {}  # noqa: RUF012 - name -> default value or `factory`; replaced, never mutated
    _compared = ()  # the fields __eq__, __hash__ and __repr__ use
    _frozen = False
    _hidden = ()

    def __init_subclass__(cls, *, frozen: bool | None = None, hidden: tuple[str, ...] = (), **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # the class's own annotations (Python 3.10+ gives a class without any an empty dict, never its base's)
        own = [name for name in cls.__annotations__ if not name.startswith("_")]
        fields = (*cls._fields, *(n for n in own if n not in cls._fields))
        defaults = dict(cls._defaults)
        for name in own:
            if name in cls.__dict__:
                defaults[name] = cls.__dict__[name]
                delattr(cls, name)  # the instance always has its own; a missing one reaches __getattr__
        required_after_default = [n for i, n in enumerate(fields) if n not in defaults and
                                  any(m in defaults for m in fields[:i])]  # fmt: skip
        if required_after_default:
            raise TypeError(f"{cls.__name__}: field {required_after_default[0]!r} without a default follows one with")
        cls._fields, cls._defaults = fields, defaults
        cls._hidden = (*getattr(cls, "_hidden", ()), *hidden)
        cls._compared = tuple(n for n in fields if n not in cls._hidden)
        if frozen is not None:
            cls._frozen = frozen
        if cls._frozen:
            cls.__hash__ = Record._frozen_hash
        else:
            cls.__hash__ = None  # mutable and compared by value: unhashable, as a dataclass

    def __init__(self, *args, **kwargs) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__}() takes {len(fields)} arguments, {len(args)} given")
        values = dict(zip(fields, args, strict=False))  # fewer args than fields: the rest by keyword
        for name, value in kwargs.items():
            if name not in fields:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}")
            if name in values:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument {name!r}")
            values[name] = value
        put = object.__setattr__
        for name in fields:
            value = values.get(name, _MISSING)
            if value is _MISSING:
                value = self._defaults.get(name, _MISSING)
                if value is _MISSING:
                    raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
                if isinstance(value, factory):
                    value = value.make()
            put(self, name, value)

    def __setattr__(self, name: str, value) -> None:
        if self._frozen:
            raise FrozenRecordError(f"cannot assign to field {name!r} of a frozen {type(self).__name__}")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            raise FrozenRecordError(f"cannot delete field {name!r} of a frozen {type(self).__name__}")
        object.__delattr__(self, name)

    def _key(self) -> tuple:
        return tuple(getattr(self, n) for n in self._compared)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()

    def _frozen_hash(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self._compared)})"


def as_dict(value):
    """`dataclasses.asdict`: a record as a dict, recursively (records, lists, tuples, dicts), values copied."""
    if isinstance(value, Record):
        return {name: as_dict(getattr(value, name)) for name in value._fields}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*(as_dict(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(as_dict(v) for v in value)
    if isinstance(value, dict):
        return {as_dict(k): as_dict(v) for k, v in value.items()}
    return value
