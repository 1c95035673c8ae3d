"""Annotations compared as types, from their text (nothing is imported or evaluated).

The API snapshot records annotations as text. :func:`canonical_annotation` gives one spelling for
one type (``Optional[X]``, ``Union[X, None]`` and ``X | None`` all read ``X | None``; ``typing.List``
reads ``list``; ``torch.nn.Module`` reads ``nn.Module``), so that spelling a type differently is not a
change. :func:`covers` decides whether one annotation admits every value of another: a parameter may
accept more (``int`` to ``int | tuple[int, int]``) and a function may return less, never the reverse.
A missing annotation counts as ``Any``.
"""

from __future__ import annotations

import ast

__all__ = ["canonical_annotation", "covers", "same_type"]

_ALIASES = {
    "List": "list",
    "Tuple": "tuple",
    "Dict": "dict",
    "Set": "set",
    "FrozenSet": "frozenset",
    "Type": "type",
    "Text": "str",
    "NoneType": "None",
}
_NUMERIC = {"float": {"int", "bool"}, "int": {"bool"}, "complex": {"float", "int", "bool"}}
_ABSTRACT = {
    "Sequence": {"list", "tuple", "Sequence", "MutableSequence", "range"},
    "MutableSequence": {"list", "MutableSequence"},
    "Collection": {"list", "tuple", "set", "frozenset", "dict", "Sequence", "Mapping", "Collection"},
    "Iterable": {
        "list",
        "tuple",
        "set",
        "frozenset",
        "dict",
        "Sequence",
        "Mapping",
        "Collection",
        "Iterator",
        "Iterable",
        "Generator",
    },
    "Mapping": {"dict", "Mapping", "MutableMapping"},
    "MutableMapping": {"dict", "MutableMapping"},
    "AbstractSet": {"set", "frozenset"},
}
_TOP = {"Any", "object"}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):  # typing.Optional, torch.Tensor, nn.Module: the last name decides
        return _ALIASES.get(node.attr, node.attr)
    if isinstance(node, ast.Name):
        return _ALIASES.get(node.id, node.id)
    if isinstance(node, ast.Constant):
        return "None" if node.value is None else repr(node.value)
    return ast.unparse(node)


def _members(node: ast.expr) -> list[ast.expr]:
    """The members of a union annotation (``X | Y``, ``Union[X, Y]``, ``Optional[X]``)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _members(node.left) + _members(node.right)
    if isinstance(node, ast.Subscript):
        origin = _name(node.value)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if origin == "Union":
            return [m for a in args for m in _members(a)]
        if origin == "Optional":
            return _members(args[0]) + [ast.Constant(None)]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted forward reference
        try:
            return _members(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            pass
    return [node]


def _args(node: ast.expr) -> tuple[str, list[ast.expr]]:
    if isinstance(node, ast.Subscript):
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        return _name(node.value), list(args)
    return _name(node), []


def _atom_covers(wide: ast.expr, narrow: ast.expr) -> bool:
    w_origin, w_args = _args(wide)
    n_origin, n_args = _args(narrow)
    if w_origin in _TOP:
        return True
    if w_origin == "Literal" or n_origin == "Literal":
        if n_origin == "Literal":
            values = [a.value for a in n_args if isinstance(a, ast.Constant)]
            if w_origin == "Literal":
                wide_values = [a.value for a in w_args if isinstance(a, ast.Constant)]
                return all(v in wide_values for v in values)
            return all(
                type(v).__name__ == w_origin or (w_origin in _NUMERIC and type(v).__name__ in _NUMERIC[w_origin])
                for v in values
            )
        return False
    if w_origin == "Callable" or n_origin == "Callable":
        return ast.dump(wide) == ast.dump(narrow) or (w_origin == n_origin and not w_args)
    if w_origin == n_origin or n_origin in _NUMERIC.get(w_origin, ()) or n_origin in _ABSTRACT.get(w_origin, ()):
        if not w_args:
            return True
        if not n_args:  # a bare generic means "of Any"
            return False
        w_items = [a for a in w_args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        n_items = [a for a in n_args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
        homogeneous = (
            w_origin != "tuple"
            or len(w_args) == 2
            and isinstance(w_args[1], ast.Constant)
            and w_args[1].value is Ellipsis
        )
        if w_origin in ("dict", "Mapping", "MutableMapping") or not homogeneous:
            return len(w_items) == len(n_items) and all(_covers_node(a, b) for a, b in zip(w_items, n_items))
        return bool(w_items) and all(_covers_node(w_items[0], b) for b in n_items)
    return False


def _covers_node(wide: ast.expr, narrow: ast.expr) -> bool:
    return all(any(_atom_covers(w, n) for w in _members(wide)) for n in _members(narrow))


def covers(wide: str | None, narrow: str | None) -> bool:
    """Whether every value of the annotation ``narrow`` is also a value of ``wide`` (``None``: Any)."""
    if wide is None or wide in _TOP:
        return True
    if narrow is None:
        return False
    wide, narrow = str(canonical_annotation(wide)), str(canonical_annotation(narrow))
    if wide.replace(" ", "") == narrow.replace(" ", ""):
        return True
    try:
        w = ast.parse(wide, mode="eval").body
        n = ast.parse(narrow, mode="eval").body
    except SyntaxError:
        return False
    return _covers_node(w, n)


def same_type(a: str | None, b: str | None) -> bool:
    """Whether two annotations admit exactly the same values (each covers the other)."""
    if a == b:
        return True
    return covers(a, b) and covers(b, a)


class _Canonical(ast.NodeTransformer):
    """Rewrites an annotation's syntax tree into the one spelling the snapshot records."""

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        dotted = ast.unparse(node)
        for prefix in ("typing_extensions.", "typing.", "collections.abc."):
            if dotted.startswith(prefix) and "." not in dotted[len(prefix) :]:
                return ast.Name(_ALIASES.get(node.attr, node.attr))
        # torch.nn.Module, torch.nn.modules.module.Module and nn.Module are one class.
        if dotted.startswith(("torch.nn.", "nn.")) and not dotted.startswith(
            ("torch.nn.functional.", "nn.functional.")
        ):
            return ast.Attribute(ast.Name("nn"), node.attr)
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return ast.Name(_ALIASES.get(node.id, node.id))

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        origin = _name(node.value)
        if origin in ("Optional", "Union"):
            return _union(_members(node))
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.BitOr):
            return _union(_members(node))
        return node


def _union(members: list[ast.expr]) -> ast.expr:
    """``A | B | None`` from union members: duplicates dropped, ``None`` last, order otherwise kept."""
    seen: dict[str, ast.expr] = {}
    for member in members:
        text = "None" if isinstance(member, ast.Constant) and member.value is None else ast.unparse(member)
        seen.setdefault(text, ast.Constant(None) if text == "None" else member)
    ordered = [m for t, m in seen.items() if t != "None"] + ([seen["None"]] if "None" in seen else [])
    result = ordered[0]
    for member in ordered[1:]:
        result = ast.BinOp(result, ast.BitOr(), member)
    return result


def canonical_annotation(text: str | None) -> str | None:
    """The one spelling of an annotation's type; text that does not parse is returned unchanged.

    Example:
        >>> canonical_annotation("Optional[Union[int, Tuple[int, int]]]")
        'int | tuple[int, int] | None'
        >>> canonical_annotation("typing.Callable[..., torch.nn.Module]")
        'Callable[..., nn.Module]'
    """
    if text is None:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return text
    return ast.unparse(ast.fix_missing_locations(_Canonical().visit(tree)))
