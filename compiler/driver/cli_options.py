"""The command line's conversion options, generated from compiler/options.py (each option is declared there once):
the flags and their help, parsing and validation by the field's own converter, the Options a command's arguments
make, and the flag that names a changed option."""
from __future__ import annotations

import argparse

import attrs

from compiler.options import DEFAULTS, OPTION, RELATED, Options, fields


def _meta(field) -> dict:
    return field.metadata[OPTION]


def _parse_with(field, split: bool):
    """An argparse type that parses text with the field's converter (its check's message is argparse's error)."""
    def parse(text: str):
        value = [v for v in text.split(",")] if split else text
        try:
            return field.converter(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return parse


def add_option_arguments(parser, category: str) -> None:
    """A flag for every option of `category` ("conversion" or "debug"), its dest the Options field's name."""
    for field in fields(category):
        meta = _meta(field)
        flag, help_text = meta["flag"], meta["help"]
        if field.type is bool:
            action = "store_false" if meta["negated"] else "store_true"
            parser.add_argument(flag, dest=field.name, action=action, help=help_text)
        elif meta["choices"]:
            parser.add_argument(flag, dest=field.name, choices=meta["choices"], default=field.default.value,
                                help=help_text)
        elif field.name == "disable_passes":
            parser.add_argument(flag, dest=field.name, action="append", default=[], metavar=meta["metavar"],
                                help=help_text)
        elif field.converter is not None:
            parser.add_argument(flag, dest=field.name, type=_parse_with(field, split="tuple" in str(field.type)),
                                metavar=meta["metavar"], help=help_text)
        else:
            parser.add_argument(flag, dest=field.name, metavar=meta["metavar"], help=help_text)


def options_from(args, *categories: str, **extra) -> Options:
    """The Options a command's parsed arguments set (the fields of `categories`; `extra` overrides)."""
    given = vars(args)
    chosen = {field.name: given[field.name] for category in categories for field in fields(category)
              if field.name in given}
    return Options(**{**chosen, **extra})


def flag_of(name: str) -> str:
    return _meta(attrs.fields_dict(Options)[name])["flag"]


def conversion_flags() -> str:
    """Every conversion flag, for a hint."""
    return ", ".join(_meta(f)["flag"] for f in fields("conversion"))


def variations(options: Options):
    """(changed Options, how to say the change on the command line) for every single conversion option, and for each
    group of related ones left out together; verify names the one that reproduces a set of files."""
    for field in fields("conversion"):
        meta, value = _meta(field), getattr(options, field.name)
        flag = meta["flag"]
        if field.type is bool:
            present = value != field.default
            yield attrs.evolve(options, **{field.name: not value}), f"{flag} {'left out' if present else 'added'}"
        elif meta["choices"]:
            for choice in meta["choices"]:
                if choice != value:
                    yield attrs.evolve(options, **{field.name: choice}), f"{flag} {choice}"
        elif value is not None:
            yield attrs.evolve(options, **{field.name: getattr(DEFAULTS, field.name)}), f"{flag} left out"
    for group in RELATED:
        if sum(getattr(options, name) is not None for name in group) > 1:
            reset = attrs.evolve(options, **{name: getattr(DEFAULTS, name) for name in group})
            yield reset, "/".join(flag_of(name) for name in group) + " left out"
