"""YAML loading that keeps line numbers and finds `# HOLE` comments.

PyYAML's constructed data forgets where things came from, so we compose the node
graph (safe loader, libyaml when present) and convert it ourselves, recording the 1-based line of every
mapping, sequence and scalar by its *field path* (a tuple of keys and indices).
Errors then name the file, the field and the line.

Site rule 3 needs the comments PyYAML drops: real kernels mark a hole inside a
larger expression with `{ const: 0 },  # HOLE: ...`. We keep the raw text lines
and remember the field paths of `{const: 0}` mappings whose line has such a
comment.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..errors import SpecError, read_text
from ..limits import MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES

FieldPath = tuple[str | int, ...]

# libyaml's parser is ~10x faster and gives the same nodes and marks.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LocatedDocument:
    """A parsed file whose field paths map to lines (`file`, `lines`): the one place
    that turns a field path into a one-line SpecError, for YAML and JSON alike."""

    file: Path
    lines: Mapping[FieldPath, int]

    def line_of(self, path: FieldPath) -> int | None:
        """Line of `path`, or of its nearest recorded ancestor."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    def error(self, path: FieldPath, message: str) -> SpecError:
        return SpecError(self.file, format_path(path) or None, message, self.line_of(path))


@dataclass(frozen=True)
class LoadedYaml(LocatedDocument):
    """Plain data of a YAML file plus where each part of it stands."""

    file: Path
    data: Any
    lines: Mapping[FieldPath, int]  # field path -> 1-based line of its node
    text_lines: tuple[str, ...]
    # Field paths of `{const: 0}` mappings on a line with a `# HOLE` comment,
    # mapped to the comment text (after `#`, stripped).
    hole_comments: Mapping[FieldPath, str] = field(default_factory=dict)
    # Plain scalars YAML 1.1 reads as Booleans though they look like names
    # (`on`, `off`, `yes`, `no`): their text, so a name field can still use it.
    bool_words: Mapping[FieldPath, str] = field(default_factory=dict)



def format_path(path: FieldPath) -> str:
    """`('actions', 1, 'updates', 0, 'expr')` -> `actions[1].updates[0].expr`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def split_comment(line: str) -> tuple[str, str | None]:
    """(code with quoted text blanked, comment text after `#` stripped or None).

    A `#` starts a comment only outside quotes and at the start of the line or
    after whitespace (YAML allows `a#b` inside plain scalars).
    """
    code: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote == '"':
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                quote = None
        elif quote == "'":
            if ch == "'":
                # '' is an escaped quote inside a single-quoted scalar
                if i + 1 < len(line) and line[i + 1] == "'":
                    i += 2
                    continue
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " \t[{,:-?"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return "".join(code), line[i + 1:].strip()
        else:
            code.append(ch)
        i += 1
    return "".join(code), None


def comment_of(line: str) -> str | None:
    """The comment text of a YAML line (after `#`, stripped), or None."""
    return split_comment(line)[1]


def load_yaml(path: str | Path) -> LoadedYaml:
    """Read and compose a YAML file; any problem becomes a one-line SpecError."""
    return load_yaml_text(read_text(path), Path(path))


def load_yaml_text(text: str, file: str | Path = "<input>") -> LoadedYaml:
    file = Path(file)
    _refuse_deep_nesting(text, file)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(file, exc, tuple(text.splitlines())) from None
        except yaml.YAMLError as exc:
            raise SpecError(file, None, f"YAML error: {exc}") from None
        except RecursionError:
            raise SpecError(file, None, f"nested deeper than {MAX_DOCUMENT_DEPTH} levels") from None
        if node is None:
            raise SpecError(file, None, "empty YAML document", 1)
        measure_document(file, node)
        text_lines = tuple(text.splitlines())
        conv = _Converter(file, loader, text_lines)
        data = conv.convert(node, ())
    finally:
        loader.dispose()
    return LoadedYaml(file, data, conv.lines, text_lines, conv.hole_comments, conv.bool_words)


def _refuse_deep_nesting(text: str, file: Path) -> None:
    """Refuse nesting past MAX_DOCUMENT_DEPTH before composing: libyaml's composer
    recurses in C and overflows the stack (a segfault, not an exception) on 50,000
    nested `[`. Its parser keeps an explicit stack, so its event stream is safe to
    read, and the scan stops at the first level too deep. Syntax errors are left to
    the composer, which reports them with their context."""
    loader = _Loader(text)
    depth = 0
    try:
        while True:
            event = loader.get_event()
            if event is None:
                return
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_DOCUMENT_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark is not None else None
                    raise SpecError(file, None, f"nested deeper than {MAX_DOCUMENT_DEPTH} levels "
                                                "(limit of esso-ngs)", line)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()


def _syntax_error(file: Path, exc: yaml.MarkedYAMLError, text_lines: tuple[str, ...] = ()) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    parts = [p for p in (exc.context, exc.problem) if p]
    if exc.context_mark is not None and exc.problem_mark is not None \
            and exc.context_mark.line != exc.problem_mark.line and exc.context:
        parts[0] = f"{exc.context} (line {exc.context_mark.line + 1})"
    where = f" (column {mark.column + 1})" if mark is not None else ""
    message = "YAML syntax error: " + ", ".join(parts) + where
    if line is not None and text_lines:
        # A guess, so it goes in the message (`field` stays for known paths).
        near = guess_field(text_lines, _flow_opener(text_lines, line - 1))
        if near:
            message = message.replace("YAML syntax error:", f"YAML syntax error near `{near}`:", 1)
    return SpecError(file, None, message, line)


def _flow_opener(text_lines: tuple[str, ...], index: int) -> int:
    """The line opening the flow collection (`[`/`{`) that line `index` is inside, else `index`."""
    depth = 0
    for i in range(min(index, len(text_lines)) - 1, -1, -1):
        code = split_comment(text_lines[i])[0]
        depth += sum(code.count(c) for c in "[{") - sum(code.count(c) for c in "]}")
        if depth > 0:
            return i
    return index


_KEY_LINE = re.compile(r"""(?:-\s+)*(?:"([^"]*)"|'([^']*)'|([^\s#'"{\[][^:#]*?))\s*:(?:\s|$)""")


def guess_field(text_lines: tuple[str, ...], index: int) -> str | None:
    """Best guess of the field path around line `index` (0-based) of a broken file.

    Nodes cannot be composed there, so read the indentation instead: the keys
    of the enclosing block mappings and the positions in enclosing block
    sequences, e.g. `actions[0].updates[1].expr`.
    """
    index = min(index, len(text_lines) - 1)
    while index >= 0 and _blank(text_lines[index]):
        index -= 1
    if index < 0:
        return None
    parts: list[str | int] = []  # innermost first
    limit = _indent(text_lines[index])
    body = text_lines[index][limit:]
    m = _KEY_LINE.match(body)
    if m:  # the line's own key (`- key: ...` or `key: ...`)
        parts.append(next(g for g in m.groups() if g is not None).strip())
    key_at_limit = _is_item(body)  # a `- item` may sit at its parent key's own indentation
    if key_at_limit:
        parts.append(_item_index(text_lines, index, limit))
    for i in range(index - 1, -1, -1):
        line = text_lines[i]
        if _blank(line):
            continue
        ind = _indent(line)
        body = line[ind:]
        if not (ind < limit or (key_at_limit and ind == limit and not body.startswith("-"))):
            continue
        key_at_limit = False
        m = _KEY_LINE.match(body)
        if _is_item(body):
            # `- key:` with nothing after the colon: the lines below are its value.
            if m and not body[m.end():].split("#")[0].strip():
                parts.append(next(g for g in m.groups() if g is not None).strip())
            parts.append(_item_index(text_lines, i, ind))
            key_at_limit = True
        elif m:
            parts.append(next(g for g in m.groups() if g is not None).strip())
        limit = ind
        if ind == 0 and not key_at_limit:
            break
    return format_path(tuple(reversed(parts))) or None


def _is_item(body: str) -> bool:
    return body.startswith("-") and (len(body) == 1 or body[1] in " \t")


def _blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _item_index(text_lines: tuple[str, ...], i: int, ind: int) -> int:
    """How many `- ` items at indentation `ind` precede line `i` in its sequence."""
    count = 0
    for j in range(i - 1, -1, -1):
        line = text_lines[j]
        if _blank(line):
            continue
        k = _indent(line)
        if k < ind or (k == ind and not line[k:].startswith("-")):
            break
        if k == ind:
            count += 1
    return count


# Tags a kernel may carry: the YAML core schema (explicit or resolved). Anything else
# (`!!python/object`, `!custom`) has a meaning we do not know: refused, never dropped.
_KNOWN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in
                        ("str", "int", "float", "bool", "null", "seq", "map", "merge", "timestamp", "binary"))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def measure_document(file: Path, root: yaml.Node) -> None:
    """Refuse a node graph that is cyclic, carries an unknown tag, nests deeper than
    MAX_DOCUMENT_DEPTH or holds more than MAX_DOCUMENT_NODES nodes once aliases are
    expanded (an alias bomb is small as text and huge as data).

    Iterative, and linear in the distinct nodes: sizes and depths are memoized per
    node, so `[*a, *a]` costs one look at `a` however deep the aliases go.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        key = id(node)
        line = node.start_mark.line + 1
        if leaving:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            visiting.discard(key)
            if size[key] > MAX_DOCUMENT_NODES:
                raise SpecError(file, None, f"more than {MAX_DOCUMENT_NODES} nodes once aliases are "
                                            "expanded (limit of esso-ngs; an alias bomb?)", line)
            if depth[key] > MAX_DOCUMENT_DEPTH:
                raise SpecError(file, None, f"nested deeper than {MAX_DOCUMENT_DEPTH} levels "
                                            "(limit of esso-ngs)", line)
            continue
        if key in size:
            continue
        if key in visiting:
            raise SpecError(file, None, "recursive YAML alias (a node contains itself)", line)
        if node.tag not in _KNOWN_TAGS:
            raise SpecError(file, None, f"unsupported YAML tag `{node.tag.replace('tag:yaml.org,2002:', '!!')}` "
                                        "(only plain data is read)", line)
        if isinstance(node, yaml.ScalarNode):
            size[key], depth[key] = 1, 0
            continue
        visiting.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in reversed(_children(node)))


# Top-level kernel keys whose content esso-ngs reads and may fill (formats page, section 1).
EXPANDED_SECTIONS = frozenset({"ir_version", "meta", "observables", "types", "state_vars", "init",
                               "invariants", "actions"})


class _Converter:
    """Node graph -> plain data, recording lines and HOLE comments on the way.

    Inside the sections esso-ngs reads (EXPANDED_SECTIONS), an alias is expanded into
    its own copy, so filling a hole at one place never writes it at another. Elsewhere
    (unknown keys, kept and ignored) a node reached again through an alias yields the
    value already built for it: memory stays the size of the text, and a dump writes
    the alias back instead of its expansion. The node limit bounds both.
    """

    def __init__(self, file: Path, loader: Any, text_lines: tuple[str, ...]) -> None:
        self.file = file
        self.loader = loader
        self.text_lines = text_lines
        self.lines: dict[FieldPath, int] = {}
        self.hole_comments: dict[FieldPath, str] = {}
        self.bool_words: dict[FieldPath, str] = {}
        self._done: dict[int, tuple[Any, FieldPath]] = {}  # node id -> (value, first path)

    def convert(self, node: yaml.Node, path: FieldPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        seen = self._done.get(id(node))
        if seen is not None and (not path or path[0] not in EXPANDED_SECTIONS):
            value, first = seen
            self._share_notes(first, path)
            return value
        if isinstance(node, yaml.SequenceNode):
            value: Any = [self.convert(item, path + (i,)) for i, item in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            value = self._mapping(node, path)
        else:
            raise SpecError(self.file, format_path(path) or None, "unsupported YAML node",
                            node.start_mark.line + 1)
        self._done[id(node)] = (value, path)
        return value

    def _share_notes(self, first: FieldPath, path: FieldPath) -> None:
        """An alias at `path` of the node first read at `first`: its HOLE comments and
        Boolean words hold at `path` too."""
        n = len(first)
        for notes in (self.hole_comments, self.bool_words):
            for p in [p for p in notes if p[:n] == first]:
                notes[path + p[n:]] = notes[p]

    def _scalar(self, node: yaml.ScalarNode, path: FieldPath) -> Any:
        if node.tag == "tag:yaml.org,2002:bool" and node.style in (None, "") \
                and node.value.lower() not in ("true", "false"):
            self.bool_words[path] = node.value
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as exc:
            err = _syntax_error(self.file, exc)
            raise SpecError(self.file, format_path(path) or None, err.message, err.line) from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise SpecError(self.file, format_path(path) or None, f"unreadable value: {exc}".split(";")[0],
                            node.start_mark.line + 1) from None

    def _mapping(self, node: yaml.MappingNode, path: FieldPath) -> dict[Any, Any]:
        self._refuse_duplicate_keys(node, path)
        try:
            self.loader.flatten_mapping(node)  # resolves `<<` merge keys
        except yaml.MarkedYAMLError as exc:
            raise _syntax_error(self.file, exc) from None
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SpecError(self.file, format_path(path) or None,
                                "mapping keys must be plain scalars", key_node.start_mark.line + 1)
            key = self._scalar(key_node, path)
            try:
                hash(key)
            except TypeError:
                raise SpecError(self.file, format_path(path) or None, "unhashable mapping key",
                                key_node.start_mark.line + 1) from None
            # Field paths use keys as written; most are strings already.
            sub = path + (key if isinstance(key, (str, int)) and not isinstance(key, bool) else str(key),)
            out[key] = self.convert(value_node, sub)
        self._note_hole_comment(node, out, path)
        return out

    def _refuse_duplicate_keys(self, node: yaml.MappingNode, path: FieldPath) -> None:
        """A key written twice (PyYAML would keep the last silently): an error naming both lines."""
        first: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key, line = (key_node.tag, key_node.value), key_node.start_mark.line + 1
            if key in first:
                raise SpecError(self.file, format_path(path + (key_node.value,)) or None,
                                f"key `{key_node.value}` given twice (lines {first[key]} and {line})", line)
            first[key] = line

    def _note_hole_comment(self, node: yaml.MappingNode, data: dict[Any, Any], path: FieldPath) -> None:
        value = data.get("const")
        if type(value) is not int or value != 0:
            return
        value_node = next(v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "const")
        # The mapping may span lines (rare): look at its first line, the line of
        # the `0`, and for a flow mapping the line of its closing brace.
        candidates = {node.start_mark.line, value_node.end_mark.line}
        if node.flow_style:
            candidates.add(node.end_mark.line)
        for ln in sorted(candidates):
            if 0 <= ln < len(self.text_lines):
                text = comment_of(self.text_lines[ln])
                if text is not None and text.startswith("HOLE"):
                    self.hole_comments[path] = text
                    return


def kind_of(value: Any) -> str:
    """A short description of a YAML/JSON value, for messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a Boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
