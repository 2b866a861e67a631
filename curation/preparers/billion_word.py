"""Billion Word Imputation: sentences of train_v2.txt with one word removed, the full sentence as the target.

Kaggle's train file is plain text, one sentence per line; its test sentences each lack one word, never the
first or the last. The labeled table pairs every sentence (`sentence`, the target) with the same sentence
missing one word (`corrupted`), so held-out rows have exactly Kaggle's test shape and training rows show the
task. The removed word is chosen by a hash of the row id keyed by the build's secret salt: the same salt
removes the same word on every machine, and nobody can compute the position from the public id.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curation.preparers.content_ids import CHUNK_ROWS, content_ids
from curation.secret import keyed_digest
from curation.spec import CompetitionSpec

CORRUPTED = "corrupted"


def remove_one_word(sentence: str, key: str, salt: bytes) -> str:
    """`sentence` without one word other than the first and the last; which one is fixed by `key` and `salt`."""
    words = sentence.split()
    if len(words) < 3:
        raise ValueError(f"a sentence needs at least 3 words to lose an inner one: {sentence!r}")
    draw = int.from_bytes(keyed_digest(salt, "removed-word", key.encode()), "little")
    index = 1 + draw % (len(words) - 2)
    return " ".join(words[:index] + words[index + 1 :])


def sentence_pairs(files_dir: Path, spec: CompetitionSpec, *, salt: bytes) -> pl.DataFrame:
    """id, corrupted, sentence for every sentence of at least three words (shorter ones have no inner word)."""
    path = files_dir / spec.labeled_file
    if not path.is_file():
        raise ValueError(f"{spec.slug}: {path} does not exist")
    (target,) = spec.target_columns
    lines = pl.read_csv(
        path, has_header=False, new_columns=[target], separator="\x1f", quote_char=None, schema={target: pl.String}
    )
    sentences = lines.with_columns(pl.col(target).str.strip_chars()).filter(
        pl.col(target).str.count_matches(r"\S+") >= 3
    )
    ids = content_ids(sentences, spec.id_column, salt)
    pairs = pl.DataFrame({spec.id_column: ids, target: sentences[target]})
    # 30 million sentences: corrupt them a chunk at a time so few Python strings are alive at once.
    corrupted = pl.concat(
        [
            pl.Series(
                CORRUPTED,
                [remove_one_word(s, k, salt) for s, k in zip(chunk[target], chunk[spec.id_column], strict=True)],
                dtype=pl.String,
            )
            for chunk in pairs.iter_slices(CHUNK_ROWS)
        ]
        or [pl.Series(CORRUPTED, [], dtype=pl.String)]
    )
    return pairs.select(spec.id_column, corrupted, target)
