"""MXNet attribute strings → values of an op field's declared type, with a small literal parser (never eval)."""
from __future__ import annotations

import enum
import functools
import math
import re
import types
import typing

import attrs

from compiler.errors import BadAttribute

_TOKEN = re.compile(r"\s*(?:([\(\[])|([\)\]])|(,)|([^,\(\)\[\]\s]+))")
_INT = re.compile(r"[+-]?\d+(?:L)?$")
# MXNet's parameter parser also takes C's float suffix ("1.5f").
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)f?$|[+-]?(?:inf|infinity|nan)$",
                    re.IGNORECASE)


class _Unparsable(ValueError):
    pass


def parse_literal(text: str):
    """Parse one MXNet attribute string: nested tuples/lists of numbers, bools, None or bare words."""
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _Unparsable(f"unexpected character at {position} in {text!r}")
        tokens.append(match.group(match.lastindex))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    if not tokens:
        raise _Unparsable("empty value")
    value, rest = _parse_tokens(tokens)
    if rest:
        raise _Unparsable(f"trailing text {' '.join(rest)!r} in {text!r}")
    return value


def _parse_tokens(tokens):
    head, rest = tokens[0], tokens[1:]
    if head in "([":
        items = []
        while rest and rest[0] not in ")]":
            item, rest = _parse_tokens(rest)
            items.append(item)
            if rest and rest[0] == ",":
                rest = rest[1:]
            elif rest and rest[0] not in ")]":
                raise _Unparsable("missing ',' between items")
        if not rest:
            raise _Unparsable("unclosed bracket")
        return tuple(items), rest[1:]
    if head in ")],":
        raise _Unparsable(f"unexpected {head!r}")
    return _atom(head), rest


def _atom(word: str):
    lowered = word.lower()
    if lowered == "none":
        return None
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if _INT.match(word):
        return int(word.rstrip("L"))
    if _FLOAT.match(word):
        return float(word.rstrip("fF") if not word.lower().endswith(("inf", "nan")) else word)
    return word


def _coerce(value, hint):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is type(None):
        if value is None:
            return None
        raise _Unparsable(f"expected None, got {value!r}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(value, option)
            except _Unparsable as exc:
                errors.append(str(exc))
        raise _Unparsable("; ".join(errors))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        words = {str(member.value): member for member in hint}
        if isinstance(value, (str, int, float)) and str(value) in words:
            return words[str(value)]
        raise _Unparsable(f"expected one of {', '.join(words)}, got {value!r}")
    if origin is typing.Literal:
        if value in args or str(value) in args:
            return str(value) if str(value) in args else value
        raise _Unparsable(f"expected one of {', '.join(map(str, args))}, got {value!r}")
    if origin is tuple:
        items = value if isinstance(value, tuple) else (value,)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0]) for v in items)
        if len(items) == 1 and len(args) > 1:
            items = items * len(args)
        if len(items) != len(args):
            raise _Unparsable(f"expected {len(args)} values, got {len(items)}")
        return tuple(_coerce(v, a) for v, a in zip(items, args))
    if hint is bool:
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise _Unparsable(f"expected a boolean, got {value!r}")
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Unparsable(f"expected an integer, got {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise _Unparsable(f"expected an integer, got {value!r}")
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Unparsable(f"expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if isinstance(value, tuple):
            raise _Unparsable(f"expected a word, got {value!r}")
        return "None" if value is None else str(value)
    raise _Unparsable(f"no parser for fields of type {hint}")


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, hint) -> tuple[bool, object]:
    """(whether text is an empty tuple, its value as `hint` otherwise). A model repeats a few attribute strings
    ("(3, 3)", "True") on hundreds of nodes, so each (text, type) pair is parsed once; keyed by the text, not the
    parsed value, since 1, 1.0 and True are equal keys but coerce differently. Failures are not cached."""
    literal = parse_literal(text)
    return (True, None) if literal == () else (False, _coerce(literal, hint))


def parse_value(text: str, hint):
    return _coerce(parse_literal(text), hint)


@functools.cache
def _fields_by_name(cls) -> dict:
    return {f.name: f for f in attrs.fields(cls)}


_BUILT: dict[tuple, object] = {}   # (class, attribute items, ignored, renames) -> the instance built from them
_BUILT_LIMIT = 4096


def build_attrs(cls, raw: dict[str, str], *, ignored=frozenset(), node: str, op: str, rename=None):
    """Construct op class `cls` from MXNet attribute strings; unknown attributes are an error. A model repeats a
    few attribute sets on many nodes and the classes are frozen, so one instance serves every node that has the same
    attributes (in the same order); a failure is raised for each node, never kept."""
    try:
        key = (cls, tuple(raw.items()), ignored, tuple(rename.items()) if rename else None)
        built = _BUILT.get(key)
    except TypeError:   # an unhashable attribute value (not from a symbol file): build it afresh
        return _build_attrs(cls, raw, ignored, node, op, rename)
    if built is None:
        built = _build_attrs(cls, raw, ignored, node, op, rename)
        if len(_BUILT) < _BUILT_LIMIT:
            _BUILT[key] = built
    return built


def _build_attrs(cls, raw: dict[str, str], ignored, node: str, op: str, rename):
    rename = rename or {}
    fields = _fields_by_name(cls)
    kwargs = {}
    for key, text in sorted(raw.items()):
        if key.startswith("__") or key in ignored:
            continue
        name = rename.get(key, key)
        field = fields.get(name)
        if field is None:
            raise BadAttribute(f"unknown attribute (value {text!r})", node=node, op=op, attribute=key,
                               hint=f"this converter knows {', '.join(sorted(fields)) or 'no attributes'} for {op}")
        try:
            empty, value = _parsed(str(text), field.type)
            if empty and field.default is not attrs.NOTHING:
                continue   # MXNet reads an empty tuple as "use the default"
            kwargs[name] = _coerce((), field.type) if empty else value
        except _Unparsable as exc:
            raise BadAttribute(f"cannot parse {text!r}: {exc}", node=node, op=op, attribute=key,
                               hint="fix the attribute in the symbol file") from None
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        bad = next((k for k in kwargs if k in str(exc)), None)
        missing = [f for f in fields.values() if f.default is attrs.NOTHING and f.name not in kwargs]
        if missing:
            bad = missing[0].name
            message = "required attribute is missing"
        else:
            message = f"value not supported: {exc}"
        raise BadAttribute(message, node=node, op=op, attribute=bad,
                           hint="fix the attribute in the symbol file") from None
