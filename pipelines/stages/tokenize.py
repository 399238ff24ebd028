"""Tokenize stage: the corpus → a byte-level BPE tokenizer (RUN/tokenizer) → llm.c token shards (RUN/tokens).

With ``[tokenize] tokenizer = "train"`` the tokenizer is trained on the stage's input; with a
folder (GPT-2's files, say) that folder is copied into RUN/tokenizer with a tokenizer.json, so a
run directory always holds the tokenizer its shards were made with.

Not a Beam pipeline: BPE training is one global computation (HF ``tokenizers``, all cores) and
shards are cut at exact token counts in document order, so both run in this process;
encoding is parallel across cores inside :func:`bpe.tokenize_docs.tokenize_documents`.

A record of the input that is not a document (a line that is not JSON or not UTF-8, a text UTF-8
cannot write, a null, non-string, empty or all-whitespace text) is a dead letter in
RUN/tokens/_rejected/ (REJECT_SCHEMA), counted under its reason; a file that cannot be documents at all stops the stage with a one-line error.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections import Counter

from bpe.byte_level import ENDOFTEXT
from bpe.encoder import Encoder
from bpe.text_source import BadRecord, InputFileError, count_documents, is_remote, iter_text_batches, skip_bad
from bpe.tokenize_docs import tokenize_paths
from bpe.tokenizer_files import BPEFiles, TokenizerFilesError, export_tokenizer_dir, folder_problem, load_bpe_files
from bpe.trainer import size_problem, train_to_dir
from corpus_tools.recipe import TokenizeConfig
from corpus_tools.rundir import REJECTED_DIR, TOKENIZER_DIR, join
from corpus_tools.schema import REJECT_SCHEMA, new_reject
from corpus_tools.shards import write_records
from pipelines.parquet_io import shard_name
from pipelines.stage import Stage, StageContext, StageError, StageResult



@contextlib.contextmanager
def local_folder(target: str):
    """A local folder to write into: ``target`` itself, or for a remote ``target`` (gs://...)
    a temporary folder whose files are uploaded there (through fsspec) on success."""
    if not is_remote(target):
        os.makedirs(target, exist_ok=True)
        yield target
        return
    import fsspec

    fs, root = fsspec.core.url_to_fs(target)
    with tempfile.TemporaryDirectory(prefix="webtext-") as tmp:
        yield tmp
        fs.makedirs(root, exist_ok=True)
        for name in sorted(os.listdir(tmp)):
            fs.put_file(os.path.join(tmp, name), root.rstrip("/") + "/" + name)


def training_keys_disagree(cfg: TokenizeConfig, files: BPEFiles) -> str | None:
    """Why the training keys of ``cfg`` contradict its tokenizer folder (``cfg.tokenizer``, read as
    ``files``), in one line, or None.

    A folder is used as it is, so ``vocab_size``, ``extra_special_tokens`` and ``min_frequency``
    cannot change it. Left
    at their defaults they say nothing (GPT-2's folder has 50257 entries, another folder another
    size); set otherwise (told, as elsewhere, by differing from the default) they must describe the
    folder: its number of entries, and its special tokens after <|endoftext|> in id order
    (``min_frequency``, which no folder records, must stay at its default). Else the
    recorded recipe would name a tokenizer that did not make the shards."""
    defaults = TokenizeConfig()
    folder = f"[tokenize] tokenizer = {cfg.tokenizer!r}"
    if cfg.vocab_size not in (defaults.vocab_size, files.vocab_size):
        return (f"[tokenize] vocab_size = {cfg.vocab_size} disagrees with {folder}, which has {files.vocab_size} "
                f"entries; set vocab_size = {files.vocab_size} or leave it at its default (it sizes a trained "
                "tokenizer only)")
    extra = [t for t, _ in sorted(files.special_tokens.items(), key=lambda kv: kv[1]) if t != ENDOFTEXT]
    if cfg.extra_special_tokens not in (defaults.extra_special_tokens, extra):
        return (f"[tokenize] extra_special_tokens = {cfg.extra_special_tokens!r} disagrees with {folder}, whose "
                f"special tokens after {ENDOFTEXT} are {extra!r}; list those or leave it at its default (it adds "
                "tokens to a trained tokenizer only)")
    if cfg.min_frequency != defaults.min_frequency:  # nothing in a folder to compare it with
        return (f"[tokenize] min_frequency = {cfg.min_frequency} does nothing with {folder}: it applies when "
                "training only; leave it at its default")
    return None


class TokenizeStage(Stage):
    name = "tokenize"
    upstream = "dedup"
    sections = ("tokenize",)
    run_keys = ("seed",)  # the [run] keys its output depends on

    def check(self, recipe) -> None:
        folder = recipe.tokenize.tokenizer
        if folder == "train":
            problem = size_problem(recipe.tokenize.vocab_size, [ENDOFTEXT, *recipe.tokenize.extra_special_tokens])
            if problem:
                raise StageError(f"[tokenize] vocab_size = {recipe.tokenize.vocab_size}, extra_special_tokens = "
                                 f"{recipe.tokenize.extra_special_tokens!r}: {problem}")
            return
        problem = folder_problem(folder)
        if problem:
            raise StageError(f"[tokenize] tokenizer = {folder!r}: {problem} (or \"train\")")
        try:
            files = load_bpe_files(folder)
        except (TokenizerFilesError, ValueError) as e:
            reason = str(e).removeprefix(f"{folder}: ")  # the folder is named once
            raise StageError(f"[tokenize] tokenizer = {folder!r}: {reason}") from None
        disagreement = training_keys_disagree(recipe.tokenize, files)
        if disagreement:
            raise StageError(disagreement)

    def run(self, ctx: StageContext) -> StageResult:
        try:
            return self._run(ctx)
        except InputFileError as e:  # a file that cannot be documents at all
            raise StageError(str(e)) from None

    def _run(self, ctx: StageContext) -> StageResult:
        cfg = ctx.recipe.tokenize
        inputs = ctx.input_or(previous=self.upstream)
        out = ctx.run.stage_dir(self.name)
        progress = sys.stderr.isatty()
        details: dict = {}
        run_tok_dir = ctx.run.path(TOKENIZER_DIR)
        with local_folder(run_tok_dir) as tok_dir:
            details.update(self._tokenizer(ctx, inputs, tok_dir, progress))
            encoder = self._encoder(tok_dir, cfg)
        rejected: list[BadRecord] = []
        with local_folder(out) as local_out:
            t0 = time.perf_counter()
            res = tokenize_paths(inputs, encoder, local_out, text_docs=cfg.text_docs, on_bad=rejected.append,
                                 shard_tokens=cfg.shard_tokens,
                                 val_fraction=cfg.val_fraction, seed=ctx.recipe.run.seed, progress=progress)
            elapsed = time.perf_counter() - t0
        reasons = self._write_rejects(rejected, join(out, REJECTED_DIR))
        # records_in, records_out and reasons come from these, as for a Beam stage
        ctx.counters.update({"in": res.documents + len(rejected), "out": res.documents,
                             **{f"reason.{r}": n for r, n in reasons.items()}})
        details.update(
            tokenizer=run_tok_dir,
            encoder=encoder.backend,
            vocab_size=encoder.vocab_size,
            eot_id=encoder.eot_id,
            documents=res.documents,
            val_documents=res.val_documents,
            tokens=res.tokens,
            val_tokens=res.val_tokens,
            train_tokens=res.tokens - res.val_tokens,
            bytes=res.bytes,
            bytes_per_token=round(res.bytes_per_token, 4),
            shards=len(res.shards),
            encode_s=round(elapsed, 3),
            encode_mb_per_s=round(res.bytes / 1e6 / elapsed, 3) if elapsed > 0 else None,
        )
        shards = f"{len(res.shards)} shard{'' if len(res.shards) == 1 else 's'}"
        ctx.log(f"[{self.name}] {res.documents} documents → {res.tokens} tokens in {shards} in {out} "
                f"({res.val_tokens} validation tokens, {res.bytes_per_token:.2f} bytes/token)")
        if rejected:
            ctx.log(f"[{self.name}] {len(rejected)} record(s) are not documents (dead letters in "
                    f"{join(out, REJECTED_DIR)}), the first: {rejected[0]}")
        if not res.documents:  # an upstream filter removed everything: the run still ends with its card
            ctx.log(f"[{self.name}] warning: no document to tokenize in {', '.join(inputs)}"
                    + (f" ({len(rejected)} records were not documents)" if rejected else "")
                    + "; the shards are empty and `webtext train` will refuse them")
        return StageResult(details=details,
                           outputs={"tokens": out, "tokenizer": run_tok_dir, "rejected": join(out, REJECTED_DIR)})

    def _write_rejects(self, rejected: list[BadRecord], folder: str) -> dict[str, int]:
        """The bad records as one REJECT_SCHEMA shard in ``folder`` (in input order; none: no
        folder); returns their count by reason."""
        if rejected:
            rows = [new_reject(self.name, b.reason, source=b.source, offset=b.offset, detail=b.detail) for b in rejected]
            write_records(rows, join(folder, shard_name(0, 1)), schema=REJECT_SCHEMA)
        return dict(sorted(Counter(b.reason for b in rejected).items()))

    def _tokenizer(self, ctx: StageContext, inputs: list[str], tok_dir: str, progress: bool) -> dict:
        """Train into, or copy a given tokenizer folder into, ``tok_dir``; returns stats details."""
        cfg = ctx.recipe.tokenize
        details: dict = {}
        if cfg.tokenizer == "train":
            ctx.log(f"[{self.name}] training byte-level BPE ({cfg.vocab_size} entries) on {', '.join(inputs)}")
            t0 = time.perf_counter()
            # bad records are left out here; the encoding pass makes them dead letters
            files = train_to_dir(iter_text_batches(inputs, cfg.text_docs, on_bad=skip_bad), tok_dir,
                                 vocab_size=cfg.vocab_size,
                                 special_tokens=[ENDOFTEXT, *cfg.extra_special_tokens],
                                 min_frequency=cfg.min_frequency, length=count_documents(inputs, cfg.text_docs),
                                 show_progress=progress)
            details["train_s"] = round(time.perf_counter() - t0, 3)
            details["merges"] = len(files.merges)
            if files.vocab_size < cfg.vocab_size:
                ctx.log(f"[{self.name}] the corpus supports only {files.vocab_size} entries "
                        f"(min_frequency={cfg.min_frequency}); <|endoftext|> = {files.eot_id}")
        else:
            try:  # check() has seen the folder
                export_tokenizer_dir(cfg.tokenizer, tok_dir)  # the run keeps its own copy
            except (TokenizerFilesError, ValueError) as e:
                raise StageError(f"tokenizer {cfg.tokenizer}: {e}") from None
            details["tokenizer_source"] = os.path.abspath(cfg.tokenizer)
        return details

    def _encoder(self, tok_dir: str, cfg) -> Encoder:
        try:
            encoder = Encoder.from_dir(tok_dir, backend=cfg.encoder, num_threads=cfg.num_threads or None)
        except (TokenizerFilesError, ValueError) as e:
            raise StageError(f"tokenizer {tok_dir}: {e}") from None
        if encoder.eot_id is None:
            raise StageError(f"tokenizer {tok_dir} has no {ENDOFTEXT} token to separate documents")
        return encoder


STAGE = TokenizeStage()
