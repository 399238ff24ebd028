"""The ``webtext`` command line (also ``python -m pipelines.webtext``).

Each subcommand is a module ``pipelines.commands.<name>`` with ``add_parser(subparsers)``
and ``main(args) -> int``; ``args.beam_args`` holds the arguments for Beam. Arguments a Beam-backed command does not know are
passed to Beam's PipelineOptions unchanged (``--runner DataflowRunner --project ...``).
Every command exits non-zero with a one-line reason on bad input.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import sys
import traceback

from pipelines.errors import UserError
from pipelines.interrupts import user_interrupts

COMMANDS: tuple[str, ...] = (
    "run", "links", "fetch", "extract", "filter", "dedup", "quality", "bloom", "contamination",
    "decontaminate", "bpe", "tokenize", "train", "sample", "export", "datacard",
)
TEXT_FLAGS = ("--prompt",)  # flags whose value is text, never a path
# Commands whose unknown --flags go to Beam; the others reject unknown arguments.
BEAM_COMMANDS = {"run", "links", "fetch", "extract", "filter", "dedup", "bloom", "decontaminate",
                 "contamination"}

# What the closing line of an unexpected error tells a user a rerun finds
_STAGE_RERUNS = "the stage that failed is not marked done and reruns"
AFTER_FAILURE = {
    **{name: _STAGE_RERUNS for name in ("run", "links", "fetch", "extract", "filter", "dedup", "tokenize")},
    "train": "a checkpoint written before it is kept: the same command resumes from it",
}


def _available() -> list[str]:
    return [c for c in COMMANDS if importlib.util.find_spec(f"pipelines.commands.{c}") is not None]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the reason and where help is), not the usage block.

    Sub-parsers are made with the parser's own class, so every subcommand inherits it."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="webtext",
        description="Build WebText / Common-Crawl-style pretraining corpora as Beam pipelines, then tokenize and train.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _available():
        importlib.import_module(f"pipelines.commands.{name}").add_parser(sub)
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    from corpus_tools.recipe import RecipeError
    from pipelines.stage import StageError

    # The OS errors a user's paths cause (an --out that is a file, a folder given as a file, no
    # permission); other OS errors are bugs or machine trouble and keep their traceback.
    errors: list[type[BaseException]] = [UserError, RecipeError, StageError, FileNotFoundError, FileExistsError,
                                         NotADirectoryError, IsADirectoryError, PermissionError]
    for mod, name in (("bpe.shards", "ShardFormatError"), ("corpus_tools.bloom", "BloomFileError"),
                      ("corpus_tools.rundir", "RunFolderError")):
        try:
            errors.append(getattr(importlib.import_module(mod), name))
        except (ImportError, AttributeError):
            pass
    return tuple(errors)


def user_message(e: BaseException) -> str:
    """The one line an error a user caused is shown as."""
    if isinstance(e, OSError) and e.strerror and e.filename:  # "[Errno 20] Not a directory: 'x'" → "x: ..."
        return f"{e.filename}: {e.strerror.lower()}"
    return str(e)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    command = command_parser(parser, args)  # its errors name the command: "webtext datacard: error: ..."
    if extra and args.command not in BEAM_COMMANDS:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    stray = [a for a in extra if not a.startswith("-") and not _follows_flag(extra, a)]
    if stray:
        command.error(f"unexpected argument {stray[0]!r} (Beam options must be --flags)")
    if extra:
        _check_beam_flags(command, extra)
    args.beam_args = extra
    module = importlib.import_module(f"pipelines.commands.{args.command}")
    try:
        check_remote_paths(argv, beam=args.command in BEAM_COMMANDS)
        with user_interrupts():  # Ctrl-C inside a Beam step too (Beam re-raises it as a RuntimeError)
            return int(module.main(args) or 0)
    except _user_errors() as e:
        print(f"{command.prog}: error: {user_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: a finished stage stays finished, the interrupted one reruns
        print(f"{command.prog}: interrupted", file=sys.stderr)
        return 128 + 2  # the shell's status for SIGINT
    except BrokenPipeError:  # `webtext bpe encode ... | head`: the reader left; stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 128 + 13  # the shell's status for SIGPIPE
    except OSError as e:  # Beam's FileSystems re-raise a path error as a bare IOError: unwrap it
        inner = e.__cause__ or e.__context__
        if not isinstance(inner, _user_errors()):
            raise
        print(f"{command.prog}: error: {user_message(inner)}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug (or machine trouble): its traceback, then one line naming the command
        relayed = relayed_user_error(e)
        if relayed is not None:  # bad input met inside a multi-process worker: one line, as in-process
            print(f"{command.prog}: error: {relayed}", file=sys.stderr)
            return 2
        traceback.print_exc()
        after = AFTER_FAILURE.get(args.command, "")
        print(f"{command.prog}: failed: {_last_line(e)} (an unexpected error, not bad input: the traceback "
              f"above{'; ' + after if after else ''})", file=sys.stderr)
        return 1


_RELAYED = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): (?P<message>.*?)(?: \[while running '.*'\])?$")


def relayed_user_error(e: BaseException) -> str | None:
    """The message of a user error (one of ``_user_errors()``) that a multi-process run's worker
    raised, or None. Such a worker's error reaches the submitting process as a RuntimeError whose
    message is the worker's traceback, ending ``pkg.module.Type: message [while running 'Step']``;
    the type is looked up by the qualified name the traceback prints, subclasses included."""
    if type(e) is not RuntimeError:
        return None
    lines = [line for line in str(e).splitlines() if line.strip()]
    if len(lines) < 2 or not lines[0].startswith("Traceback"):
        return None
    m = _RELAYED.match(lines[-1].strip())
    while m is not None and m["type"] == "RuntimeError":  # Beam re-raises an OSError as "RuntimeError: Type: message"
        m = _RELAYED.match(m["message"])
    if m is None:
        return None
    module, _, name = m["type"].rpartition(".")
    cls = getattr(sys.modules.get(module or "builtins"), name, None)  # only a module loaded here: none imported
    return m["message"] if isinstance(cls, type) and issubclass(cls, _user_errors()) else None


def _last_line(e: BaseException) -> str:
    """``Type: message`` of an exception, its message's last line: a multi-process run's worker
    failure arrives as a RuntimeError whose message is the worker's whole traceback."""
    lines = [line for line in str(e).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith("Traceback"):  # a relayed traceback ends in "Type: message"
        return lines[-1].strip()
    return f"{type(e).__name__}: {lines[-1].strip()}" if lines else type(e).__name__


def _remote_paths(argv: list[str]) -> list[str]:
    """Arguments (or ``--flag=value`` values) that are URLs of a file system: ``gs://b/x``, ``s3://...``.
    Free text (``--prompt``) is not a path, nor a URL whose scheme is no file system's (a runner's
    endpoint: ``--spark_master_url spark://host:7077``); fsspec's registry of protocols, installed
    or not, says which are."""
    argv = [a for i, a in enumerate(argv) if not (i and argv[i - 1] in TEXT_FLAGS) and not a.startswith(
        tuple(f + "=" for f in TEXT_FLAGS))]
    values = [a.split("=", 1)[1] if a.startswith("--") and "=" in a else a for a in argv]
    # NAME=PATH[:FIELD] benchmark specs: the path part
    values = [v.split("=", 1)[1] if "=" in v and "://" in v.split("=", 1)[1] else v for v in values]
    import fsspec

    file_systems = set(fsspec.available_protocols()) - {"file", "local", "http", "https"}
    return [v for v in values if re.match(r"^[a-z][a-z0-9+.-]*://", v) and v.split("://", 1)[0] in file_systems]


def check_remote_paths(argv: list[str], beam: bool = False) -> None:
    """Fail in one line, before any work, when a remote path's file system is not installed.

    Checks the fsspec driver (``gcsfs`` for gs://, ``s3fs`` for s3://) and, for Beam-backed
    commands, Beam's own file system (``apache-beam[gcp]``/``[aws]``). Nothing is contacted.
    """
    extras = {"gs": "gcp", "gcs": "gcp", "s3": "aws", "s3a": "aws"}
    for path in _remote_paths(argv):
        scheme = path.split("://", 1)[0]
        hint = f"pip install 'webtext[{extras[scheme]}]'" if scheme in extras else "install its fsspec driver"
        try:
            import fsspec

            fsspec.get_filesystem_class(scheme)
        except (ImportError, ValueError) as e:
            raise UserError(f"{path}: no file system for {scheme}:// here ({hint}): {e}") from None
        if beam:
            from apache_beam.io.filesystems import FileSystems

            try:
                FileSystems.get_filesystem(path)
            except ValueError:
                raise UserError(f"{path}: Beam has no file system for {scheme}:// here ({hint})") from None


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the (sub-)command ``args`` chose: ``webtext bpe encode``'s for ``webtext bpe encode ...``.

    A usage error found after parsing (an argument the command does not take) is reported by it,
    so that it names the command and its ``--help``, as argparse's own errors in that command do."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return command_parser(action.choices[getattr(args, action.dest)], args)
    return parser


def _flags_of(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string of a parser and of its sub-commands' parsers."""
    out = []
    for action in parser._actions:
        out += action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += _flags_of(sub)
    return out


def _check_beam_flags(command: argparse.ArgumentParser, extra: list[str]) -> None:
    """A --flag that neither the command nor Beam knows: refused when the pipeline runs here (a typo
    such as ``--recipee`` would otherwise be dropped with a log line and the run go on with defaults);
    on a remote runner, which may take options of its own (Flink, Spark job servers), a warning."""
    import difflib

    from pipelines.options import is_local, pipeline_options, unknown_beam_flags

    unknown, beam_known = unknown_beam_flags(extra)
    if not unknown:
        return
    # names compared without their dashes, which every flag shares (else --bogus "resembles" --out)
    known = {flag.lstrip("-"): flag for flag in _flags_of(command) + beam_known}
    close = difflib.get_close_matches(unknown[0].lstrip("-"), list(known), n=1, cutoff=0.7)
    hint = f" (did you mean {known[close[0]]}?)" if close else ""
    if is_local(pipeline_options(extra)):
        command.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    print(f"{command.prog}: warning: Beam does not know {' '.join(unknown)}{hint}; "
          "passed to the runner as they are", file=sys.stderr)


def _follows_flag(extra: list[str], value: str) -> bool:
    i = extra.index(value)
    return i > 0 and extra[i - 1].startswith("--") and "=" not in extra[i - 1]


if __name__ == "__main__":
    sys.exit(main())
