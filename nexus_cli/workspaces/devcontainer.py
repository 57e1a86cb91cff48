"""``nexus template import devcontainer.json``: a dev container as a workspace template.

The file (JSON with comments and trailing commas, read by :mod:`nexus_cli.config_json`) is
repository content: it must be inside the project after symlinks, and every key that would be
dropped or would widen what the container may do is named in one error. What is supported:
``image`` or ``build`` (``dockerfile``, ``context``, ``args``, ``target``; the old
``dockerFile``/``context`` too), ``forwardPorts`` (numbers), ``containerEnv``, ``mounts``
(volumes, and binds of folders inside the workspace), the lifecycle commands (:data:`LIFECYCLE`:
hooks in the container), ``overrideCommand``, ``containerUser`` (else ``remoteUser``) as the
service's user. ``name`` becomes the description; what only an editor or Codespaces acts on
(:data:`LEFT_OUT`) is left out and listed in the result. A dev container of a Compose file
(``dockerComposeFile``) becomes a template pointing at that file (:mod:`devcontainer_compose`).

The template is written to ``.nexus/templates/NAME.yaml`` (never over an existing file unless
asked) and read back through the template loader before the command says it is done.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import config_json, fs, safe_path, validate
from nexus_cli.errors import ConfigError, ConflictError, UsageError
from nexus_cli.terminal import escape, has_controls
from nexus_cli.workspaces import devcontainer_compose
from nexus_cli.workspaces.service_parsing import VOLUME_NAME, parse_user
from nexus_cli.workspaces.templates import is_builtin, parse_template_file

SERVICE = "dev"
KEEP_ALIVE = ["sh", "-c", "trap 'exit 0' TERM; while sleep 3600; do :; done"]
# The container's own keys (devcontainer_compose.CONTAINER_KEYS), the lifecycle commands, ``name``.
SUPPORTED = devcontainer_compose.CONTAINER_KEYS | {
    "workspaceFolder",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "name",
}
# What the creation runs in the container, in the spec's order (devContainer.base.schema.json:
# onCreateCommand, then updateContentCommand, then postCreateCommand), and what each start runs.
LIFECYCLE = (
    ("onCreateCommand", "post_create"),
    ("updateContentCommand", "post_create"),
    ("postCreateCommand", "post_create"),
    ("postStartCommand", "post_start"),
)
# What an editor or Codespaces does, not the container Nexus makes: settings, the ports' labels,
# when it connects, what it runs on attaching and on closing, how it reads the user's environment,
# the machine it picks, the user id it rewrites in the image for a bind mount. Left out, listed.
LEFT_OUT = frozenset(
    {
        "$schema",
        "customizations",
        "extensions",  # VS Code's, before `customizations.vscode` (still in many files)
        "settings",
        "portsAttributes",
        "otherPortsAttributes",
        "waitFor",
        "postAttachCommand",
        "shutdownAction",
        "userEnvProbe",
        "hostRequirements",
        "updateRemoteUserUID",
    }
)
REFUSED = frozenset(
    {
        "privileged",
        "capAdd",
        "securityOpt",
        "runArgs",
        "initializeCommand",  # runs on the host
    }
)
BUILD_KEYS = frozenset({"dockerfile", "context", "args", "target"})
# `consistency` (cached, delegated) is Docker Desktop's for macOS, ignored by Linux engines
MOUNT_KEYS = frozenset({"source", "target", "type", "readonly", "consistency"})
WORKSPACE = "/workspace"  # where every Nexus container sees its worktree
WORKSPACE_VAR = re.compile(r"^\$\{localWorkspaceFolder\}(/.*)?\Z")
MAX_BYTES = 1 << 20


@dataclass
class ImportResult:
    name: str
    path: Path  # the template written
    source: Path  # the devcontainer.json read
    left_out: list[str] = field(default_factory=list)  # editor-only keys, not about containers

    def to_json(self) -> dict[str, Any]:
        """What ``template import --json`` prints."""
        return {
            "name": self.name,
            "path": str(self.path),
            "source": str(self.source),
            "left_out": list(self.left_out),
        }


def import_devcontainer(
    project_root: Path, file: str, *, name: str | None = None, force: bool = False
) -> ImportResult:
    """Translate the devcontainer.json ``file`` (relative to the project root) into the template
    ``name`` (default: ``devcontainer``) in ``.nexus/templates``."""
    source = _source(project_root, file)
    data = _read(source)
    template_name = validate.template_name(name or "devcontainer")
    if is_builtin(template_name):
        # a project template of that name would replace the built-in for every create (`bare`
        # is what `workspace create` uses when no template is named)
        raise UsageError(
            f"{template_name!r} is a built-in template's name",
            hint="pass --name with another name",
        )
    spec = _translate(data, source, project_root)
    _check_paths(spec, source, project_root)
    target = project_root / ".nexus" / "templates" / f"{template_name}.yaml"
    if os.path.lexists(target) and not force:
        raise ConflictError(
            f"template {template_name!r} exists ({target})",
            hint="pass --name for another name, or --force to replace it",
        )
    _write(target, template_name, spec, source, project_root)
    dropped = LEFT_OUT | (
        devcontainer_compose.LEFT_OUT if devcontainer_compose.KEY in data else set()
    )
    left_out = sorted(k for k in data if k in dropped)
    return ImportResult(template_name, target, source, left_out)


def _source(project_root: Path, file: str) -> Path:
    try:
        path = fs.resolve_inside(project_root, file, what=f"devcontainer file {file!r}")
    except fs.PathEscapeError as exc:
        raise UsageError(exc.message, hint="give a path inside the project") from None
    if not path.is_file():
        raise UsageError(f"devcontainer file {file!r} not found in {project_root}")
    return path


def _read(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES:,} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    return config_json.parse(text, str(path), jsonc=True)


def unsupported(data: dict[str, Any]) -> list[str]:
    """Every key of ``data`` that the import would drop or may not allow, with the reason."""
    found: list[str] = []
    compose = devcontainer_compose.KEY in data
    known = SUPPORTED | LEFT_OUT
    if compose:
        known = (known - devcontainer_compose.CONTAINER_KEYS) | devcontainer_compose.KEYS
        known |= devcontainer_compose.LEFT_OUT
    for key in data:
        if key in REFUSED:
            found.append(f"{key} (refused: widens what the container may do to the host)")
        elif compose and key in devcontainer_compose.CONTAINER_KEYS:
            found.append(devcontainer_compose.in_the_file(key))
        elif key == "features":
            found.append(f"{key} (not supported: install them in the image's Dockerfile)")
        elif key not in known:
            found.append(f"{key} (not supported)")
    build = data.get("build")
    if isinstance(build, dict):
        found += [f"build.{k} (not supported)" for k in build if k not in BUILD_KEYS]
    for i, mount in enumerate(data.get("mounts") or []):
        if isinstance(mount, dict):
            found += [f"mounts[{i}].{k} (not supported)" for k in mount if k not in MOUNT_KEYS]
    return found


def _translate(data: dict[str, Any], source: Path, project_root: Path) -> dict[str, Any]:
    problems = unsupported(data)
    if problems:
        raise ConfigError(
            f"{source}: not supported: {', '.join(problems)}",
            hint="remove these keys, or write a Nexus template (docs/reference/template-format.md)",
        )
    folder = os.path.relpath(source.parent, os.path.realpath(project_root))
    folder = "" if folder == "." else Path(folder).as_posix()
    description = str(data.get("name") or "dev container") + (
        f" (imported from {Path(folder, source.name).as_posix()})"
    )
    if devcontainer_compose.KEY in data:
        hooks = _hooks(data, source, devcontainer_compose.service_of(data, source))
        return devcontainer_compose.document(
            data, source, project_root, folder, description=description, hooks=hooks
        )
    service: dict[str, Any] = {}
    build = _build(data, folder, source)
    if build is not None:
        service["build"] = build
    elif isinstance(data.get("image"), str) and data["image"].strip():
        service["image"] = data["image"].strip()
    else:
        raise ConfigError(f"{source}: image: expected an image name, or build.dockerfile")
    override = data.get("overrideCommand", True)
    if not isinstance(override, bool):
        raise ConfigError(f"{source}: overrideCommand: expected true or false")
    if override:  # the default: a dev container stays up for exec and shells
        service["command"] = KEEP_ALIVE
    environment = _environment(data, source)
    if environment:
        service["environment"] = environment
    ports = list(dict.fromkeys(_port(p, source) for p in data.get("forwardPorts") or []))
    if ports:
        service["ports"] = ports
    volumes = [_mount(m, f"mounts[{i}]", source) for i, m in enumerate(data.get("mounts") or [])]
    mounted, folder = _workspace(data, source, project_root)
    if mounted is not None and mounted != WORKSPACE:
        volumes.append(f".:{mounted}")
    if volumes:
        service["volumes"] = volumes
    if folder != WORKSPACE:
        service["working_dir"] = folder
    for key in ("containerUser", "remoteUser"):  # the container's user, else the tools' user
        if data.get(key) is not None:
            service["user"] = parse_user(data[key], source, key)
            break
    nexus: dict[str, Any] = {"description": description, "default_service": SERVICE}
    hooks = _hooks(data, source, SERVICE, folder)
    if hooks:
        nexus["hooks"] = hooks
    named = sorted({v.split(":")[0] for v in volumes if not v.startswith(".")})
    document: dict[str, Any] = {"x-nexus": nexus, "services": {SERVICE: service}}
    if named:
        document["volumes"] = {v: None for v in named}
    return document


def _hooks(
    data: dict[str, Any], source: Path, service: str, folder: str = WORKSPACE
) -> dict[str, list[dict[str, Any]]]:
    """The lifecycle commands (:data:`LIFECYCLE`) as hooks in ``service``, in the spec's order
    (``${containerWorkspaceFolder}`` in them is ``folder``)."""
    hooks: dict[str, list[dict[str, Any]]] = {}
    for key, kind in LIFECYCLE:
        if data.get(key):
            hooks.setdefault(kind, []).extend(
                {"service": service, "command": _workspace_folder(c, folder)}
                for c in _commands(data[key], key, source)
            )
    return hooks


def _environment(data: dict[str, Any], source: Path) -> dict[str, str]:
    """``containerEnv``, then ``remoteEnv`` (what the tools' processes get: here every process
    of the container, ``exec`` and the hooks included). A ``remoteEnv`` value that refers to
    another variable (``${containerEnv:PATH}``, ``${localEnv:TOKEN}``) is refused: it would
    reach the container as that text."""
    found: dict[str, str] = {}
    for key in ("containerEnv", "remoteEnv"):
        values = data.get(key) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: {key}: expected an object of NAME: value")
        for name, value in values.items():
            if key == "remoteEnv" and value is not None and "${" in str(value):
                raise ConfigError(
                    f"{source}: remoteEnv.{name}: not supported: {str(value)[:60]!r} refers to "
                    "another variable",
                    hint="give the value itself (or set it in the image's Dockerfile)",
                )
            if value is not None:  # null: the tools' variable is unset, which it is here
                found[str(name)] = str(value)
    return found


def _workspace(data: dict[str, Any], source: Path, project_root: Path) -> tuple[str | None, str]:
    """Where the dev container sees the workspace, besides Nexus's ``/workspace``: the target
    ``workspaceMount`` binds the workspace folder at (None: none), and ``workspaceFolder`` (the
    working directory, and ``${containerWorkspaceFolder}``; default ``/workspace``). With no
    ``workspaceMount``, a folder at the spec's default mount
    (``/workspaces/${localWorkspaceFolderBasename}``) is bound too."""
    basename = os.path.basename(os.path.realpath(project_root))
    mounted = None
    if data.get("workspaceMount") is not None:
        bind = _mount(data["workspaceMount"], "workspaceMount", source)
        if not bind.startswith(".:"):
            raise ConfigError(
                f"{source}: workspaceMount: expected the workspace folder itself "
                "(source=${localWorkspaceFolder},target=...,type=bind)"
            )
        mounted = bind.split(":")[1]
    folder = data.get("workspaceFolder")
    if folder is None:
        return mounted, mounted or WORKSPACE
    text = str(folder).replace("${localWorkspaceFolderBasename}", basename)
    parts = text.split("/")
    if not text.startswith("/") or ".." in parts or "${" in text or has_controls(text):
        raise ConfigError(
            f"{source}: workspaceFolder: {str(folder)[:80]!r}: expected an absolute path in "
            "the container"
        )
    text = posixpath.normpath(text)
    if mounted is None and text == f"/workspaces/{basename}":
        mounted = text
    return mounted, text


def _check_paths(document: dict[str, Any], source: Path, project_root: Path) -> None:
    """The build context, Dockerfile and bind sources of the translated template resolve inside
    the project after symlinks (a committed link out of it is refused now, not at start; a
    Compose file's are checked by its loader)."""
    if "services" not in document:
        return
    service = document["services"][SERVICE]
    paths: list[tuple[str, str, bool]] = []
    build = service.get("build")
    if build is not None:
        paths.append((build["context"], "build.context", True))
        paths.append(
            (posixpath.join(build["context"], build["dockerfile"]), "build.dockerfile", False)
        )
    for i, volume in enumerate(service.get("volumes", [])):
        if volume.startswith("."):
            paths.append((volume.split(":")[0], f"mounts[{i}]", True))
    for rel, key, allow_root in paths:
        try:
            fs.resolve_inside(project_root, rel, what=f"{source}: {key}", allow_root=allow_root)
        except fs.PathEscapeError as exc:
            raise ConfigError(
                exc.message, hint="dev container paths must stay inside the project"
            ) from None


def _build(data: dict[str, Any], folder: str, source: Path) -> dict[str, Any] | None:
    """``build`` (or the old top-level ``dockerFile``/``context``): paths in devcontainer.json
    are relative to its folder; in the template, the context is relative to the worktree and
    the Dockerfile to the context."""
    build = data.get("build")
    if build is None and data.get("dockerFile") is None:
        return None
    if build is None:
        build = {"dockerfile": data["dockerFile"], "context": data.get("context", ".")}
    if not isinstance(build, dict) or not isinstance(build.get("dockerfile"), str):
        raise ConfigError(f"{source}: build.dockerfile: expected the Dockerfile's path")
    context = posixpath.normpath(posixpath.join(folder, str(build.get("context", "."))))
    dockerfile = posixpath.normpath(posixpath.join(folder, build["dockerfile"]))
    for text, key in ((context, "context"), (dockerfile, "dockerfile")):
        if text.startswith(("/", "../")) or text == "..":
            raise ConfigError(f"{source}: build.{key}: expected a path inside the project")
    result: dict[str, Any] = {
        "context": context,
        "dockerfile": posixpath.relpath(dockerfile, context),
    }
    args = build.get("args")
    if args and not isinstance(args, dict):
        raise ConfigError(f"{source}: build.args: expected an object of NAME: value")
    if args:
        result["args"] = {str(k): str(v) for k, v in args.items()}
    if build.get("target"):
        result["target"] = str(build["target"])
    return result


def _port(value: Any, source: Path) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
        return str(value)
    raise ConfigError(
        f"{source}: forwardPorts: {value!r}: expected port numbers of this container "
        "(ports of other services: use --compose)"
    )


def _mount(value: Any, where: str, source: Path) -> str:
    """A mount as a template volume: ``type=volume`` by name, or a ``type=bind`` of a folder
    inside the workspace (``${localWorkspaceFolder}/…``); every other host path is refused."""
    key = f"{source}: {where}"
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.split(",")]
        value = {k.strip(): v.strip() for k, _, v in pairs}
        value.setdefault("source", value.pop("src", ""))
        value.setdefault("target", value.pop("dst", value.pop("destination", "")))
        if "readonly" in value or "ro" in value:
            value["readonly"] = True
            value.pop("ro", None)
        extra = sorted(set(value) - MOUNT_KEYS)
        if extra:
            raise ConfigError(f"{key}.{extra[0]}: not supported")
    if not isinstance(value, dict) or not value.get("target"):
        raise ConfigError(f"{key}: expected type, source and target")
    kind, src, target = value.get("type", "volume"), str(value.get("source", "")), value["target"]
    mode = ":ro" if value.get("readonly") else ""
    if kind == "volume" and VOLUME_NAME.match(src):
        return f"{src}:{target}{mode}"
    match = WORKSPACE_VAR.match(src) if kind == "bind" else None
    if match is None:
        raise ConfigError(
            f"{key}: {src!r}: expected a named volume or a folder inside the workspace "
            "(${localWorkspaceFolder}/...); host paths are refused"
        )
    rel = posixpath.normpath("." + (match.group(1) or ""))
    if rel == ".." or rel.startswith("../"):
        raise ConfigError(f"{key}: {src!r}: expected a folder inside the workspace")
    return f"./{rel.removeprefix('./')}:{target}{mode}" if rel != "." else f".:{target}{mode}"


def _commands(value: Any, key: str, source: Path) -> list[Any]:
    """A lifecycle command: a string (shell), a list (argv) or an object of named commands."""
    if isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        return [value]
    if isinstance(value, dict):
        return [c for v in value.values() for c in _commands(v, key, source)]
    raise ConfigError(f"{source}: {key}: expected a string, a list of strings or an object")


def _workspace_folder(command: Any, folder: str = WORKSPACE) -> Any:
    if isinstance(command, str):
        return command.replace("${containerWorkspaceFolder}", folder)
    return [_workspace_folder(c, folder) for c in command]


def _write(
    target: Path, name: str, document: dict[str, Any], source: Path, project_root: Path
) -> None:
    """Write the template, after it loaded from a temporary copy (a template that does not
    load is never left behind)."""
    import yaml

    # the file's path is the repository's: a newline in a folder name must not start YAML
    shown = escape(os.path.relpath(source, project_root), newlines=False)
    header = (
        f"# Imported by `nexus template import` from {shown}.\n"
        "# Edit freely: it is a Nexus template now (docs/reference/template-format.md).\n"
    )
    text = header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=100)
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / f"{name}.yaml"
        trial.write_text(text, encoding="utf-8")
        parse_template_file(name, "project", trial, {}, strict=False, project_root=project_root)
    # opened folder by folder from the project root: a committed link on the way is refused
    safe_path.write_atomic(project_root, os.path.relpath(target, project_root), text, makedirs=True)
