"""Every console script runs through `guarded`: config, validation, Hydra and file-system errors end
as one line (exit code 2); tracebacks only with `AIDSIM_DEBUG=1`. This is the one place that
parses Hydra's error messages.

Start-up: this module imports nothing heavy (no Hydra, pydantic, numpy), so `quick_help` answers
`--help` in a tenth of a second; Hydra's own help composes the config once per preset (4-10 s).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from aidsim.cli.startup import Leftovers, argv_value
from aidsim.model.errors import EXIT_BAD_INPUT, ConfigError, plain_name, unknown_key

_HYDRA_OWN = ("--hydra-help", "--config-path", "-cp", "--config-dir", "-cd", "--info", "-i", "--shell-completion", "-sc")
"""Flags after which `--help` is Hydra's (a custom config tree, Hydra's own help)."""


def _groups(conf: Path) -> list[str]:
    """`group: option, option` for every config group (a folder of YAML files) under `conf`."""
    lines = []
    for folder in sorted(p for p in conf.rglob("*") if p.is_dir()):
        options = sorted(f.stem for f in folder.glob("*.yaml"))
        if options:
            lines.append(f"  {folder.relative_to(conf).as_posix()}: {', '.join(options)}")
    return lines


def _own_keys(config: Path) -> list[str]:
    """The primary config file's own keys with their comments: the text after its defaults list,
    without the `hydra:` section (read as text: no YAML parser, no composition)."""
    out: list[str] = []
    skipping = True
    for line in config.read_text(encoding="utf-8").splitlines():
        top = line[:1] not in ("", " ", "#")
        if top:
            skipping = line.startswith(("defaults:", "hydra:"))
        if not skipping and line.strip():
            out.append("  " + line)
    return out


def quick_help(prog: str, config_name: str, summary: str, argv: Sequence[str] | None = None) -> bool:
    """Print the command's help and return True if `argv` asks for `--help`/`-h` (and not for
    Hydra's own help or a custom config tree); else return False without printing anything.

    Lists the config groups and the primary config's keys from the files themselves, without
    importing Hydra or composing the config; `--cfg job` prints the full composed config."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a in ("--help", "-h") for a in args) or any(a.split("=")[0] in _HYDRA_OWN for a in args):
        return False
    from aidsim.model.config import conf_dir

    conf = conf_dir()
    text = [
        f"{prog}: {summary}",
        "",
        f"usage: {prog} [group=option ...] [key=value ...] [-m] [--cfg job] [--hydra-help]",
        "",
        "Config groups (group=option):",
        *_groups(conf),
        "",
        f"Keys of {config_name}.yaml (any key of the composed config can be overridden, e.g. flood.severity=20;",
        f"`{prog} --cfg job` prints every key with its value, `{prog} --hydra-help` Hydra's own options):",
        *_own_keys(conf / f"{config_name}.yaml"),
        "",
        "Bad input stops with one line and exit code 2 (AIDSIM_DEBUG=1 for a traceback). Documentation: docs/cli.md, docs/scaling.md",
    ]
    try:
        print("\n".join(text), flush=True)
    except BrokenPipeError:  # `aidsim --help | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True


def _os_line(exc: OSError) -> str:
    """One line for a file-system error: which path, what went wrong."""
    where = exc.filename if exc.filename is not None else "output"
    what = exc.strerror or type(exc).__name__
    return f"{where}: cannot write or read ({what}); choose another folder (e.g. hydra.run.dir=... or sweep.dir=...)"


def _non_ascii_override(text: str) -> str | None:
    m = re.search(r"([\w.+~]+)=(\S*[^\x00-\x7f]\S*)", text)
    if m is None:
        return None
    key, value = m.group(1).lstrip("+~"), m.group(2).rstrip(";")
    return f"{key}={value}: text with non-ASCII letters must be quoted: '{key}=\"{value}\"'"


def _unknown_override(exc: Exception, unknown: Callable[[str], str] | None) -> str | None:
    """One line for an override of a key the config does not have, or None if `exc` is not one.

    The key is named up to its first part the config lacks (Hydra's `full_key`); `unknown` makes
    the line for a command whose keys are not the model's."""
    override = re.match(r"Could not override '([^']+)'", str(exc))
    cause = str(exc.__cause__ or exc)
    if not override or "not in struct" not in cause:
        return None
    full = re.search(r"full_key: (\S+)", cause)
    key = full.group(1) if full else override.group(1)
    if unknown:
        return unknown(key)
    from aidsim.model.params import Params

    return unknown_key(Params, key)


def _hydra_line(exc: Exception, unknown: Callable[[str], str] | None = None) -> str | None:
    """One line for Hydra's own composition and override-parsing errors, or None if not one."""
    from hydra.errors import HydraException, MissingConfigException
    from omegaconf.errors import OmegaConfBaseException

    text = str(exc)
    if "LexerNoViableAlt" in text or "token recognition error" in text:
        hint = _non_ascii_override(text)
        if hint:
            return hint
    yaml_error = _yaml_cause(exc)
    if yaml_error:
        return yaml_error

    if isinstance(exc, ValueError) and text.startswith("Unable to configure handler") and isinstance(exc.__cause__, OSError):
        # Hydra's log file, opened in the output folder before any of our code runs
        return _os_line(exc.__cause__)
    if isinstance(exc, UnicodeDecodeError):  # a config file, episode or preset that is not UTF-8
        return f"a config or episode file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
    if isinstance(exc, ValueError) and text.startswith("Config group override must be"):
        return f"{text.splitlines()[0]}: a config group (e.g. scenario=...) takes a preset name (`--help` lists them)"
    if isinstance(exc, TypeError) and _raised_in(exc, "hydra/_internal/defaults_list"):
        # a list or mapping given to a config group (scenario=[1,2]) trips Hydra's defaults resolution
        return "a config group (e.g. scenario=...) takes one preset name, not a list or mapping (`--help` lists them)"
    if isinstance(exc, MissingConfigException):
        group = (exc.missing_cfg_file or "").split("/")[0]
        options = ", ".join(sorted(exc.options or []))
        name = (exc.missing_cfg_file or "").split("/")[-1]
        if group and options:
            return f"{group}={name}: unknown preset; available: {options}"
    line = _unknown_override(exc, unknown)
    if line:
        return line
    if isinstance(exc, (HydraException, OmegaConfBaseException)):
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        cause = exc.__cause__
        if cause is not None and str(cause).strip():
            first = str(cause).strip().splitlines()[0]
            if first not in lines:
                lines.append(first)
        return "; ".join(lines)
    return None


def _raised_in(exc: BaseException, path_part: str) -> bool:
    """Whether `exc` was raised from code whose file path contains `path_part`."""
    import traceback

    return any(path_part in frame.filename for frame in traceback.extract_tb(exc.__traceback__))


def _yaml_cause(exc: BaseException) -> str | None:
    """A broken YAML file in a config folder (`--config-path`/`--config-dir`): file, line, problem."""
    seen: BaseException | None = exc
    while seen is not None:
        mark = getattr(seen, "problem_mark", None)
        if mark is not None:
            problem = getattr(seen, "problem", None) or str(seen).splitlines()[0]
            return f"{mark.name}: not valid YAML at line {mark.line + 1}, column {mark.column + 1} ({problem})"
        seen = seen.__cause__ or seen.__context__
    return None


class _QuietHydraStderr:
    """Drops Hydra's extra "Error executing job with overrides" line; passes everything else."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        return 0 if text.startswith("Error executing job with overrides") else self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def one_line_parser(prog: str, description: str) -> Any:
    """An argparse parser whose errors are one line (`prog: error: ...`, exit 2), as every other
    input error of aidsim's; argparse's own prints the usage first."""
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:
            print(f"{self.prog}: error: {message} (--help shows the options)", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)

    return Parser(prog=prog, description=description)


FOLDER_NAME_KEYS = ("scenario.name", "sweep.study", "study")
"""Keys whose value becomes a folder name (conf/*.yaml's `hydra.run.dir` and `sweep.dir`)."""


def check_folder_names(argv: Sequence[str]) -> None:
    """Refuse a command line that names a folder-forming key (`FOLDER_NAME_KEYS`) with anything but
    a plain name, before Hydra makes the run's folder from it: `scenario.name=../../x` would put a
    run, or a refused command's logs, anywhere on disk."""
    for key in FOLDER_NAME_KEYS:
        value = argv_value(argv, (key,))
        if value is not None:
            plain_name(key, value.strip())


_output: list[Path] = []


def note_output() -> None:
    """Called first by a command's Hydra task: remember the output folder Hydra has just made, so
    that `guarded` can remove it if the command then stops on bad input (Hydra forgets it when the
    task ends)."""
    from hydra.core.hydra_config import HydraConfig

    _output[:] = [Path(HydraConfig.get().runtime.output_dir)]


def _clean_output(leftovers: Leftovers | None) -> None:
    """Remove what Hydra made for a command that then stopped on bad input (its output folder,
    `.hydra/`, the log), if it got as far as making one (`note_output`)."""
    if leftovers is not None and _output:
        leftovers.clean(_output[0])


def guarded(main: Callable[[], Any], prog: str, unknown: Callable[[str], str] | None = None, output_root: str | None = None) -> Callable[[], None]:
    """Wrap a Hydra entry point so that every input error ends as one line and exit code 2.

    `unknown`: the line for an unknown key, for a command whose keys are not the model's.
    `output_root`: where the command's default output folder is made (conf's `hydra.run.dir`);
    given, a refused command removes what Hydra made for it (`startup.Leftovers`; the task calls
    `note_output` first)."""

    def run() -> None:
        leftovers = Leftovers(sys.argv[1:], output_root, ("hydra.run.dir",)) if output_root else None
        debug = os.environ.get("AIDSIM_DEBUG") == "1"
        os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach us instead of Hydra's multi-line report
        for stream in (sys.stdout, sys.stderr):  # a console that cannot show "Café" gets "Caf\xe9", not a traceback
            if hasattr(stream, "reconfigure"):
                stream.reconfigure(errors="backslashreplace")
        if not debug:  # a warning (an incomplete study) is one line too
            import warnings

            warnings.formatwarning = lambda message, *_, **__: f"{prog}: warning: {message}\n"
        try:
            if not debug:
                sys.stderr = _QuietHydraStderr(sys.stderr)
            check_folder_names(sys.argv[1:])
            main()
        except BrokenPipeError:
            # Output piped into a reader that stopped (`aidsim | head`): not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(0)
        except ConfigError as exc:
            if debug:
                raise
            _clean_output(leftovers)
            print(f"{prog}: error: {exc}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except OSError as exc:
            if debug:
                raise
            print(f"{prog}: error: {_hydra_line(exc, unknown) or _os_line(exc)}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        except Exception as exc:
            line = _hydra_line(exc, unknown)
            if line is None or debug:
                raise
            _clean_output(leftovers)
            print(f"{prog}: error: {line}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        finally:
            if isinstance(sys.stderr, _QuietHydraStderr):
                sys.stderr = sys.stderr._stream

    return run
