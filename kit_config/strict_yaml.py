"""YAML loading that refuses a mapping key given twice.

PyYAML's SafeLoader keeps the last value of a repeated key and says nothing (`construct_mapping`
assigns into a dict), although YAML 1.2 requires keys to be unique ("The content of a mapping node
is an unordered set of key/value node pairs, with the restriction that each of the keys is unique",
https://yaml.org/spec/1.2.2/#mapping). In a config file that silence is a wrong deployment: a second
`region:` or `min_instances:` further down quietly wins. `load_unique_keys` composes the node tree,
checks every mapping at any depth, then constructs the document from the same nodes (one parse).

Keys merged in with `<<: *anchor` are YAML's documented way to override and are not duplicates.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

_MERGE_TAG = "tag:yaml.org,2002:merge"


class DuplicateKeyError(ValueError):
    """A mapping key given twice: `path` is the repeated key's field path, lines are 1-based."""

    def __init__(self, path: str, key: object, first_line: int, second_line: int) -> None:
        self.path, self.key, self.first_line, self.second_line = path, key, first_line, second_line
        super().__init__(
            f"{path}: the key {key!r} is given twice (lines {first_line} and {second_line}); YAML would silently "
            "keep only the second value; remove one"
        )


def load_unique_keys(text: str) -> Any:
    """The single YAML document in `text`, as yaml.safe_load returns it; DuplicateKeyError for a repeated key."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check(loader, node, (), set())
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check(loader: yaml.SafeLoader, node: Node, path: tuple, seen: set[int]) -> None:
    if id(node) in seen:  # an alias to a node already checked (anchors can even be recursive)
        return
    seen.add(id(node))
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _check(loader, item, (*path, index), seen)
    elif isinstance(node, MappingNode):
        first_at: dict[object, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                _check(loader, value_node, path, seen)
                continue
            key = loader.construct_object(key_node, deep=True)
            try:
                earlier = first_at.get(key)
            except TypeError:  # an unhashable key: construct_document reports it
                earlier = None
            line = key_node.start_mark.line + 1
            segment = key if isinstance(key, str) else str(key)  # ints in the path are list indexes
            if earlier is not None:
                raise DuplicateKeyError(_field_path((*path, segment)), key, earlier, line)
            try:
                first_at[key] = line
            except TypeError:
                pass
            _check(loader, value_node, (*path, segment), seen)


def _field_path(path: tuple) -> str:
    """`network.availability_zones[1]`: the form kit_config.validation_errors uses."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
