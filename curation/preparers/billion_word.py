"""Billion Word Imputation: sentences of train_v2.txt with one word removed, the full sentence as the target.

Kaggle's train file is plain text, one sentence per line; its test sentences each lack one word, never the
first or the last. The labeled table pairs every sentence (`sentence`, the target) with the same sentence
missing one word (`corrupted`), so held-out rows have exactly Kaggle's test shape and training rows show the
task. The removed word is chosen from a hash of the row id, so every machine removes the same word.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from curation.preparers.content_ids import CHUNK_ROWS, content_ids
from curation.spec import CompetitionSpec

CORRUPTED = "corrupted"


def remove_one_word(sentence: str, key: str) -> str:
    """`sentence` without one word other than the first and the last; which one is fixed by `key`."""
    words = sentence.split()
    if len(words) < 3:
        raise ValueError(f"a sentence needs at least 3 words to lose an inner one: {sentence!r}")
    draw = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    index = 1 + draw % (len(words) - 2)
    return " ".join(words[:index] + words[index + 1 :])


def sentence_pairs(files_dir: Path, spec: CompetitionSpec) -> pl.DataFrame:
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
    ids = content_ids(sentences, spec.id_column)
    pairs = pl.DataFrame({spec.id_column: ids, target: sentences[target]})
    # 30 million sentences: corrupt them a chunk at a time so few Python strings are alive at once.
    corrupted = pl.concat(
        [
            pl.Series(
                CORRUPTED,
                [remove_one_word(s, k) for s, k in zip(chunk[target], chunk[spec.id_column], strict=True)],
                dtype=pl.String,
            )
            for chunk in pairs.iter_slices(CHUNK_ROWS)
        ]
        or [pl.Series(CORRUPTED, [], dtype=pl.String)]
    )
    return pairs.select(spec.id_column, corrupted, target)
