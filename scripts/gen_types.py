"""Generate ``TypedDict`` payload types for every OCPP message from the official JSON schemas.

The schemas are read from the installed ``ocpp`` PyPI package (``ocpp/v16/schemas``,
``ocpp/v201/schemas``, ``ocpp/v21/schemas``), never from a copy in this repository, and the
result is written to ``src/opencsms/ocpp/types/{v16,v201,v21,__init__}.py``::

    python scripts/gen_types.py            # (re)write the modules
    python scripts/gen_types.py --check    # exit 1 if regenerating would change them

Mapping rules (JSON Schema → Python typing):

* every message gets ``<Action>Request`` and ``<Action>Response``; OCPP 2.1's SEND-only
  ``NotifyPeriodicEventStream`` (OCPP-J 2.1 §4.2.4: a SEND gets no reply) has only a request;
* objects → ``TypedDict``; a property missing from ``required`` → ``NotRequired[...]``;
* string enums → ``Literal[...]`` type aliases; arrays → ``list[...]``; ``integer`` → ``int``,
  ``number`` → ``float``, ``boolean`` → ``bool``, strings (``date-time`` included) → ``str``; a
  property without a type (``DataTransfer.data`` in 2.0.1/2.1) → ``Any``;
* 2.0.1/2.1 ``definitions`` keep their names (``IdTokenType``, ``BootReasonEnumType``); one name
  used with two different shapes in one version is disambiguated by prefixing the message name,
  then by a numeric suffix;
* inline objects and enums (OCPP 1.6) are named from their path, e.g.
  ``MeterValuesRequestMeterValueSampledValue``; when the same shape was already emitted, the
  path name becomes a ``TypeAlias`` of the first one instead of a second declaration.

Determinism: messages are processed in sorted action order (request before response), so the
first-seen name of a shared shape is stable; declarations are emitted sorted by name, nested
types before the types that use them; fields and enum values keep the schema's own order.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import json
import keyword
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT_DIR = REPO_ROOT / "src" / "opencsms" / "ocpp" / "types"

#: Package directory in ``ocpp`` → human version label.
VERSIONS: dict[str, str] = {"v16": "1.6", "v201": "2.0.1", "v21": "2.1"}

LINE_LENGTH = 100
#: Names the generated modules import or define themselves; a schema name equal to one of these
#: is renamed so it cannot shadow them.
RESERVED_NAMES = frozenset(
    {"Any", "Literal", "NotRequired", "TypeAlias", "TypedDict", "REQUEST_TYPES", "RESPONSE_TYPES"}
)
#: Names an annotation may mention besides generated types; a field key equal to one of them
#: forces the functional ``TypedDict`` syntax so the key cannot be confused with the name.
ANNOTATION_BUILTINS = frozenset({"Any", "NotRequired", "bool", "float", "int", "list", "str"})

#: Closing words of each generated module's first line.
DO_NOT_EDIT = "Regenerate, don't edit."

JsonObject = dict[str, Any]


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Prim:
    """A fixed annotation: ``str``, ``int``, ``float``, ``bool``, ``Any`` or ``dict[str, Any]``."""

    name: str


@dataclass(frozen=True)
class Named:
    """A reference to a generated declaration (``TypedDict`` or ``Literal`` alias)."""

    name: str


@dataclass(frozen=True)
class ListOf:
    """``list[item]``."""

    item: TypeRef


TypeRef = Prim | Named | ListOf


@dataclass(frozen=True)
class Field:
    """One ``TypedDict`` key."""

    key: str
    type: TypeRef
    required: bool


@dataclass(frozen=True)
class ObjectDecl:
    """A ``TypedDict`` declaration."""

    name: str
    doc: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class EnumDecl:
    """A ``Literal[...]`` type alias."""

    name: str
    doc: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Message:
    """One schema file: the payload of one direction of one action."""

    action: str
    is_response: bool
    file_name: str
    schema: JsonObject
    #: A 2.1 SEND message (OCPP-J 2.1 §4.2.4): sent unconfirmed, it has no response schema.
    is_send: bool = False

    @property
    def type_name(self) -> str:
        """Name of the top-level ``TypedDict``, e.g. ``BootNotificationRequest``."""
        return sanitize_name(self.action) + ("Response" if self.is_response else "Request")


# --------------------------------------------------------------------------- schema loading


def schema_dir(version: str) -> Path:
    """Directory of the official schemas for ``version`` inside the installed ``ocpp`` package."""
    return Path(str(importlib.resources.files("ocpp") / version / "schemas"))


def ocpp_package_version() -> str:
    """Version of the installed ``ocpp`` package, recorded in each generated module."""
    return importlib.metadata.version("ocpp")


def split_file_name(version: str, stem: str) -> tuple[str, bool, bool]:
    """Map a schema file stem to ``(action, is_response, is_send)``.

    1.6 names requests ``<Action>.json``; 2.0.1/2.1 name them ``<Action>Request.json``, except
    2.1's SEND messages (``NotifyPeriodicEventStream.json``), which have no response.
    """
    if stem.endswith("Response"):
        return stem.removesuffix("Response"), True, False
    if version == "v16":
        return stem, False, False
    if stem.endswith("Request"):
        return stem.removesuffix("Request"), False, False
    return stem, False, True


def load_messages(version: str) -> list[Message]:
    """All message schemas of ``version``, sorted by action, request before response."""
    messages = []
    for path in schema_dir(version).glob("*.json"):
        action, is_response, is_send = split_file_name(version, path.stem)
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
        messages.append(Message(action, is_response, path.name, schema, is_send))
    messages.sort(key=lambda m: (m.action, m.is_response))
    return messages


# --------------------------------------------------------------------------- naming


def sanitize_name(raw: str) -> str:
    """Turn ``raw`` into a CapWords identifier: ``meterValue`` → ``MeterValue``.

    Characters that cannot appear in an identifier split words; a leading digit gets a ``T``
    prefix and a keyword (``None``, ``True``, ``False``) a ``_`` suffix.
    """
    parts = [p for p in re.split(r"[^0-9A-Za-z_]+", raw) if p]
    name = "".join(p[0].upper() + p[1:] for p in parts) or "Type"
    if name[0].isdigit():
        name = "T" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


def path_label(path: tuple[str, ...]) -> str:
    """Compact schema location for docs, e.g. ``meterValue[].sampledValue[].context``."""
    return ".".join(path).replace(".[]", "[]") or "(root)"


# --------------------------------------------------------------------------- conversion


class VersionModel:
    """Every declaration of one OCPP version, built from its message schemas."""

    def __init__(self, version: str, messages: list[Message]) -> None:
        self.version = version
        self.messages = messages
        self.decls: dict[str, ObjectDecl | EnumDecl] = {}
        self.aliases: dict[str, tuple[str, str]] = {}  # alias → (target, doc)
        self._variants: dict[tuple[str, object], str] = {}  # (hint, shape) → declared name
        self._by_shape: dict[object, str] = {}  # shape key → first declared name
        self._top_level = {m.type_name for m in messages}
        # (file, definition name) → reference, so a definition is converted once per file.
        self._definition_refs: dict[tuple[str, str], TypeRef] = {}
        self._in_progress: set[tuple[str, str]] = set()
        for message in messages:
            self._convert_message(message)

    # -- naming and registration

    def _taken(self, name: str) -> bool:
        return (
            name in self.decls
            or name in self.aliases
            or name in RESERVED_NAMES
            or name in self._top_level
        )

    def _free_name(self, candidates: list[str]) -> str:
        for candidate in candidates:
            if not self._taken(candidate):
                return candidate
        base, n = candidates[-1], 2
        while self._taken(f"{base}_{n}"):
            n += 1
        return f"{base}_{n}"

    def _register(
        self,
        hint: str,
        shape: object,
        make: Callable[[str], ObjectDecl | EnumDecl],
        message: Message,
        *,
        dedupe_by_shape: bool,
    ) -> Named:
        """Declare a type under ``hint`` (or a deterministic variant) unless already declared.

        ``make(name)`` builds the declaration. Named schema definitions are shared by name
        (same name and shape → one declaration); path-named inline types are shared by shape,
        and their path name becomes an alias of the first declaration of that shape.
        """
        if (hint, shape) in self._variants:
            return Named(self._variants[hint, shape])
        if dedupe_by_shape and shape in self._by_shape:
            target = self._by_shape[shape]
            if not self._taken(hint):
                self.aliases[hint] = (target, make(hint).doc)
            return Named(target)
        prefixed = hint if hint.startswith(message.type_name) else message.type_name + hint
        name = self._free_name([hint, prefixed])
        self.decls[name] = make(name)
        self._variants[hint, shape] = name
        self._by_shape.setdefault(shape, name)
        return Named(name)

    # -- schema walking

    def _convert_message(self, message: Message) -> None:
        schema = message.schema
        name = message.type_name
        direction = "response (CALLRESULT)" if message.is_response else "request"
        if message.is_send:
            direction = "SEND message (OCPP-J 2.1 §4.2.4: no response)"
        doc = f"Payload of the OCPP {VERSIONS[self.version]} {message.action} {direction}."
        if schema.get("description"):
            doc += "\n\n" + schema["description"]
        doc += f"\n\nSchema: ocpp/{self.version}/schemas/{message.file_name}"
        fields = self._fields(schema, name, (), message)
        # Top-level payloads are never shared: each action keeps its own class and name.
        self.decls[name] = ObjectDecl(name, doc, fields)

    def _fields(
        self, node: JsonObject, owner: str, path: tuple[str, ...], message: Message
    ) -> tuple[Field, ...]:
        required = set(node.get("required", []))
        return tuple(
            Field(
                key,
                self._convert(sub, owner + sanitize_name(key), (*path, key), message),
                key in required,
            )
            for key, sub in node.get("properties", {}).items()
        )

    def _convert(
        self, node: JsonObject, hint: str, path: tuple[str, ...], message: Message
    ) -> TypeRef:
        if "$ref" in node:
            return self._definition(node["$ref"], message)
        return self._convert_inline(node, hint, path, message, named=False)

    def _definition(self, ref: str, message: Message) -> TypeRef:
        prefix = "#/definitions/"
        if not ref.startswith(prefix):
            raise ValueError(f"{message.file_name}: unsupported $ref {ref!r}")
        def_name = ref.removeprefix(prefix)
        key = (message.file_name, def_name)
        if key not in self._definition_refs:
            # No OCPP schema is recursive; one that is would need quoted forward references.
            if key in self._in_progress:
                raise ValueError(f"{message.file_name}: recursive definition {def_name!r}")
            self._in_progress.add(key)
            node = message.schema["definitions"][def_name]
            self._definition_refs[key] = self._convert_inline(
                node, sanitize_name(def_name), ("#", def_name), message, named=True
            )
        return self._definition_refs[key]

    def _convert_inline(
        self,
        node: JsonObject,
        hint: str,
        path: tuple[str, ...],
        message: Message,
        *,
        named: bool,
    ) -> TypeRef:
        kind = node.get("type")
        if named:
            where = f"definition {hint} (first seen in {message.file_name})"
            label = "Schema"
        else:
            where = f"{message.file_name}: {path_label(path)}"
            label = "Inline"
        if "enum" in node:
            values = tuple(node["enum"])
            if not all(isinstance(v, str) for v in values):
                raise ValueError(f"{where}: only string enums are supported")
            doc = node.get("description") or f"{label} enum: {where}"
            return self._register(
                hint,
                ("enum", tuple(sorted(values))),
                lambda name: EnumDecl(name, doc, values),
                message,
                dedupe_by_shape=not named,
            )
        if kind == "object":
            if not node.get("properties") and node.get("additionalProperties", True) is not False:
                return Prim("dict[str, Any]")  # no properties, any keys
            fields = self._fields(node, hint, path, message)
            doc = node.get("description") or f"{label} object: {where}"
            if node.get("additionalProperties", True) is not False:
                doc += (
                    "\n\nThe schema admits further vendor-specific keys, which a TypedDict"
                    " cannot express."
                )
            shape = ("object", tuple(sorted((f.key, f.required, f.type) for f in fields)))
            return self._register(
                hint,
                shape,
                lambda name: ObjectDecl(name, doc, fields),
                message,
                dedupe_by_shape=not named,
            )
        if kind == "array":
            items = node.get("items", {})
            return ListOf(self._convert(items, hint, (*path, "[]"), message))
        primitives = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
        if kind is None:
            return Prim("Any")  # e.g. DataTransfer.data: any JSON value
        if kind not in primitives:
            raise ValueError(f"{where}: unsupported type {kind!r}")
        return Prim(primitives[kind])


# --------------------------------------------------------------------------- rendering


def render_type(ref: TypeRef) -> str:
    """Annotation text. Never quoted: declarations are emitted after everything they use."""
    if isinstance(ref, ListOf):
        return f"list[{render_type(ref.item)}]"
    return ref.name


def referenced_names(ref: TypeRef) -> list[str]:
    """Generated names an annotation mentions."""
    if isinstance(ref, Named):
        return [ref.name]
    if isinstance(ref, ListOf):
        return referenced_names(ref.item)
    return []


def docstring(text: str, indent: str) -> list[str]:
    """A wrapped, escaped docstring; schema descriptions use CRLF and ``_ `` spacing as-is."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    # Room for both quote triples, so a one-line docstring fits as ``"""text"""``.
    width = LINE_LENGTH - len(indent) - 6
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n")]
    lines: list[str] = []
    for paragraph in paragraphs:
        if not paragraph:
            if lines and lines[-1]:
                lines.append("")
            continue
        lines.extend(textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""])
    while lines and not lines[-1]:
        lines.pop()
    if lines[-1].endswith('"'):
        lines[-1] += " "
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    body = [f"{indent}{line}" if line else "" for line in lines]
    return [f'{indent}"""{lines[0]}', *body[1:], f'{indent}"""']


def comment(text: str) -> list[str]:
    """Wrapped ``#`` comment lines."""
    flat = " ".join(p.strip() for p in text.replace("\r\n", "\n").split("\n") if p.strip())
    return [f"# {line}" for line in textwrap.wrap(flat, LINE_LENGTH - 2, break_on_hyphens=False)]


def render_enum(decl: EnumDecl) -> list[str]:
    """``Name: TypeAlias = Literal[...]``, one value per line when it does not fit."""
    values = [json.dumps(v) for v in decl.values]
    one_line = f"{decl.name}: TypeAlias = Literal[{', '.join(values)}]"
    lines = comment(decl.doc)
    if len(one_line) <= LINE_LENGTH:
        return [*lines, one_line]
    return [*lines, f"{decl.name}: TypeAlias = Literal[", *(f"    {v}," for v in values), "]"]


def needs_functional_syntax(decl: ObjectDecl) -> bool:
    """Whether a key cannot be a class-body name (not an identifier, a keyword, or equal to a
    name its annotations use)."""
    used = set(ANNOTATION_BUILTINS)
    for f in decl.fields:
        used.update(referenced_names(f.type))
    return any(
        not f.key.isidentifier() or keyword.iskeyword(f.key) or f.key in used for f in decl.fields
    )


def render_object(decl: ObjectDecl) -> list[str]:
    """A ``TypedDict`` in class syntax, or functional syntax when a key demands it."""

    def annotation(f: Field) -> str:
        text = render_type(f.type)
        return text if f.required else f"NotRequired[{text}]"

    if needs_functional_syntax(decl):
        items = [f"    {json.dumps(f.key)}: {annotation(f)}," for f in decl.fields]
        return [
            *comment(decl.doc),
            f"{decl.name} = TypedDict(",
            f"    {json.dumps(decl.name)},",
            "    {",
            *(f"    {item}" for item in items),
            "    },",
            ")",
        ]
    lines = [f"class {decl.name}(TypedDict):", *docstring(decl.doc, "    ")]
    if decl.fields:
        lines.append("")
        lines.extend(f"    {f.key}: {annotation(f)}" for f in decl.fields)
    return lines


def emission_order(model: VersionModel) -> list[str]:
    """Nested ``TypedDict`` names sorted, each preceded by the ones it uses (depth first)."""
    top_level = {m.type_name for m in model.messages}
    order: list[str] = []
    done: set[str] = set()  # the model has no cycles: VersionModel rejects recursive $refs

    def visit(name: str) -> None:
        if name in done:
            return
        decl = model.decls[name]
        if isinstance(decl, ObjectDecl):
            for f in decl.fields:
                for dep in referenced_names(f.type):
                    if isinstance(model.decls[dep], ObjectDecl) and dep not in top_level:
                        visit(dep)
        done.add(name)
        order.append(name)

    for name in sorted(model.decls):
        if isinstance(model.decls[name], ObjectDecl) and name not in top_level:
            visit(name)
    return order


def typing_imports(model: VersionModel) -> list[str]:
    """The ``typing`` names a module uses, so the generated import has no unused name."""
    names = {"TypedDict"}
    for decl in model.decls.values():
        if isinstance(decl, EnumDecl):
            names.update({"Literal", "TypeAlias"})
            continue
        for f in decl.fields:
            names.update(re.findall(r"\bAny\b", render_type(f.type)))
            if not f.required:
                names.add("NotRequired")
    if model.aliases:
        names.add("TypeAlias")
    return sorted(names)


def render_module(model: VersionModel, ocpp_version: str) -> str:
    """Source text of one generated version module."""
    label = VERSIONS[model.version]
    out = [
        f"# Generated by scripts/gen_types.py from the official OCPP {label} schemas. "
        + DO_NOT_EDIT,
        f'"""TypedDict payloads for every OCPP {label} message.',
        "",
        f"Source: ocpp/{model.version}/schemas in the ``ocpp`` {ocpp_version} package.",
        "Run ``python scripts/gen_types.py`` to regenerate; ``--check`` verifies this file is",
        "current. ``REQUEST_TYPES`` and ``RESPONSE_TYPES`` map each action name to its",
        "payload type.",
        '"""',
        "",
        f"from typing import {', '.join(typing_imports(model))}",
        "",  # isort puts one blank line between the imports and a comment
    ]

    def section(title: str) -> list[str]:
        heading = f"# {'-' * 30} {title}"
        return [heading] if out[-1] == "" else ["", "", heading]

    enums = sorted(n for n, d in model.decls.items() if isinstance(d, EnumDecl))
    if enums:
        out += section("enumerations")
        for name in enums:
            decl = model.decls[name]
            assert isinstance(decl, EnumDecl)
            out += ["", *render_enum(decl)]
    nested = emission_order(model)
    if nested:
        out += section("nested objects")
    for name in nested:
        decl = model.decls[name]
        assert isinstance(decl, ObjectDecl)
        out += ["", "", *render_object(decl)]
    if model.aliases:
        out += section("same shape under another path name")
        for alias in sorted(model.aliases):
            target, doc = model.aliases[alias]
            line = f"{alias}: TypeAlias = {target}"
            if len(line) > LINE_LENGTH:
                line = f"{alias}: TypeAlias = (\n    {target}\n)"
            out += ["", *comment(doc), line]
    out += section("message payloads")
    for message in model.messages:
        decl = model.decls[message.type_name]
        assert isinstance(decl, ObjectDecl)
        out += ["", "", *render_object(decl)]
    for var, responses in (("REQUEST_TYPES", False), ("RESPONSE_TYPES", True)):
        entries = [
            f"    {json.dumps(m.action)}: {m.type_name},"
            for m in model.messages
            if m.is_response == responses
        ]
        if entries:
            out += ["", "", f"{var}: dict[str, type] = {{", *entries, "}"]
        else:
            out += ["", "", f"{var}: dict[str, type] = {{}}"]
    return "\n".join(out) + "\n"


def render_init(ocpp_version: str) -> str:
    """Source text of the package ``__init__``."""
    return "\n".join(
        [
            f"# Generated by scripts/gen_types.py from the official OCPP schemas. {DO_NOT_EDIT}",
            '"""TypedDict payloads generated from the official OCPP JSON schemas.',
            "",
            f"One module per version (from the ``ocpp`` {ocpp_version} package): ``v16``"
            " (OCPP 1.6),",
            "``v201`` (OCPP 2.0.1) and ``v21`` (OCPP 2.1). Each defines ``<Action>Request`` and",
            "``<Action>Response`` for every message, the nested types they use, and the",
            "``REQUEST_TYPES`` / ``RESPONSE_TYPES`` maps from action name to payload type. The",
            "modules are not imported here so that importing one version does not load all three.",
            '"""',
            "",
            '__all__ = ["v16", "v21", "v201"]',  # isort order, as ruff's RUF022 wants
            "",
        ]
    )


def generate() -> dict[str, str]:
    """File name → source text for every generated module."""
    ocpp_version = ocpp_package_version()
    files = {"__init__.py": render_init(ocpp_version)}
    for version in VERSIONS:
        model = VersionModel(version, load_messages(version))
        files[f"{version}.py"] = render_module(model, ocpp_version)
    return files


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Write the generated modules, or with ``--check`` report whether they are current.

    Returns the process exit status: 1 when ``--check`` finds a stale or missing file.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if regenerating would change the files"
    )
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, help="where the modules live"
    )
    args = parser.parse_args(argv)
    output_dir: Path = args.output_dir
    stale = []
    for file_name, text in generate().items():
        target = output_dir / file_name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            continue
        stale.append(target)
        if not args.check:
            output_dir.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
    if args.check and stale:
        for target in stale:
            print(f"out of date: {target}", file=sys.stderr)
        print("run: python scripts/gen_types.py", file=sys.stderr)
        return 1
    for target in stale:
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
