"""`iga_core.records`: the light record base behaves as the dataclasses it replaces did (issue #19)."""

from __future__ import annotations

import copy
from functools import cached_property

import pytest

from iga_core.records import FrozenRecordError, Record, as_dict, factory


class Point(Record, frozen=True, hidden=("note",)):
    x: int
    y: int = 0
    note: str = ""

    @cached_property
    def norm(self) -> int:
        return abs(self.x) + abs(self.y)


class Bag(Record):
    name: str
    items: list = factory(list)
    inner: Point | None = None


def test_init_positional_keyword_and_defaults():
    assert (Point(1).x, Point(1).y, Point(1, 2).y, Point(x=3, y=4).x) == (1, 0, 2, 3)
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        Point(1, 2, "", 4)


def test_eq_hash_repr_leave_hidden_fields_out():
    assert Point(1, 2, note="a") == Point(1, 2, note="b") and hash(Point(1, 2, "a")) == hash(Point(1, 2))
    assert Point(1, 2) != Point(2, 1) and Point(1) != (1, 0)
    assert repr(Point(1, 2, "secret")) == "Point(x=1, y=2)"
    assert Point(1, 2).norm == 3  # cached_property works on a frozen record


def test_frozen_and_mutable():
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 2
    with pytest.raises(AttributeError):  # FrozenRecordError is an AttributeError, as FrozenInstanceError
        del p.y
    bag = Bag("a")
    bag.items.append(1)
    bag.name = "b"
    assert Bag("c").items == [] and bag == Bag("b", [1])
    with pytest.raises(TypeError):
        hash(bag)  # mutable and compared by value: unhashable, as a dataclass


def test_as_dict_is_recursive_and_copies():
    bag = Bag("a", [Point(1, 2)], Point(3))
    out = as_dict(bag)
    assert out == {"name": "a", "items": [{"x": 1, "y": 2, "note": ""}], "inner": {"x": 3, "y": 0, "note": ""}}
    out["items"].append(1)
    assert len(bag.items) == 1 and copy.deepcopy(bag) == bag


def test_a_required_field_after_a_default_is_refused():
    with pytest.raises(TypeError, match="without a default follows one with"):
        class Bad(Record):
            a: int = 0
            b: int
