"""Wire copies and versions: near-duplicate articles grouped at indexing time.

The same dispatch reaches a corpus many times: reworded at the edges, cut short, under another
headline or byline, or as a newer version of itself. Each document gets a MinHash signature of its
word 3-grams (``datasketch``); locality-sensitive hashing finds the candidates that share bands with
it, so adding an article costs one signature and a few bucket lookups, never a pass over every
pair. A candidate is a copy when the estimated share of the shorter text's 3-grams found in the
other (*containment*) is at least :data:`MIN_CONTAINMENT`: a cut copy keeps that high while its
Jaccard similarity falls. Two documents with the same ``url`` are versions of one article whatever
their texts.

Inside a group, a document is *superseded* when a member from the same url, or the same source,
is newer (by date); the others are current. Retrieval cites one member per group
(:meth:`CopyIndex.preferred`): the most complete current one, the earliest unless the question
asks for the latest. The numbers here were chosen on the tuning half of ``bench/copies.py``'s
set (bench/RESULTS.md#wire-copies-issue-14).

>>> from rag.corpus import make_document
>>> text = "Le sommet de Washington réunit cette semaine les dirigeants de cinquante pays. " * 3
>>> other = "Un tout autre sujet, la récolte du blé en Beauce, bat des records cette année."
>>> docs = [make_document("a", text), make_document("b", text + " Mis à jour à 12 h.")]
>>> docs.append(make_document("c", other))
>>> index = CopyIndex()
>>> index.regroup({d.id: d for d in docs})
>>> index.copies_of("a"), index.copies_of("c")
(('b',), ())
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import IndexCorruptError
from ..text import fold, words
from ..types import Document

log = logging.getLogger(__name__)

NUM_PERM = 128  # MinHash size: the Jaccard estimate's standard error is at most 0.044
SHINGLE_WORDS = 3
LSH_THRESHOLD = 0.2  # Jaccard from which LSH proposes a pair (a copy cut to a third is ~0.3)
MIN_CONTAINMENT = (
    0.5  # share of the shorter text's 3-grams in the other, for a copy (tuning half: 0.4-0.6 all exact)
)
MIN_SHINGLES = 12  # a text shorter than this (a headline, a caption) is nobody's copy
COMPLETE = 0.9  # members at least this long relative to the longest count as "most complete"
_SEED = 1
_SCHEME = "affine32"  # datasketch's hash scheme: values fit 32 bits


@dataclass(frozen=True, eq=False)
class Signature:
    """A document's MinHash (``values``, :data:`NUM_PERM` unsigned ints) and its number of
    distinct 3-grams (``size``), from which containment is estimated."""

    values: np.ndarray
    size: int


def shingles(text: str) -> set[bytes]:
    """The word 3-grams of a text, folded (case, accents, apostrophes), as bytes.

    >>> sorted(shingles("L’État paie. l'etat paie"))
    [b'etat paie etat', b'paie etat paie']
    """
    tokens = [fold(w) for w in words(text)]
    if len(tokens) < SHINGLE_WORDS:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE_WORDS]).encode() for i in range(len(tokens) - SHINGLE_WORDS + 1)}


def signature(text: str) -> Signature:
    """The MinHash signature of a document's text."""
    from datasketch import MinHash

    grams = shingles(text)
    sketch = MinHash(num_perm=NUM_PERM, seed=_SEED, scheme=_SCHEME)
    sketch.update_batch(list(grams))
    return Signature(np.asarray(sketch.hashvalues, dtype=np.uint64).astype(np.uint32), len(grams))


def estimate(a: Signature, b: Signature) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger), estimated from the signatures."""
    jaccard = float(np.mean(a.values == b.values))
    smaller = min(a.size, b.size)
    if smaller == 0:
        return jaccard, 0.0
    common = jaccard * (a.size + b.size) / (1.0 + jaccard)
    return jaccard, min(1.0, common / smaller)


def is_copy(a: Signature, b: Signature) -> bool:
    """Whether two signatures are of the same dispatch (see the module's description)."""
    if min(a.size, b.size) < MIN_SHINGLES:
        return False
    return estimate(a, b)[1] >= MIN_CONTAINMENT


class CopyIndex:
    """Signatures by content hash (a text is hashed once) and the groups the documents form (only
    groups of two or more are kept)."""

    def __init__(self) -> None:
        self.signatures: dict[str, Signature] = {}  # document content hash -> its signature
        self.group: dict[str, int] = {}  # document id -> its group's number
        self.members: dict[int, tuple[str, ...]] = {}  # group -> its documents, sorted by id
        self.newer: dict[str, str] = {}  # superseded document -> the newest version of it

    def copy(self) -> CopyIndex:
        other = CopyIndex()
        other.signatures = dict(self.signatures)
        other.group, other.members, other.newer = dict(self.group), dict(self.members), dict(self.newer)
        return other

    # ----- grouping -------------------------------------------------------------------------------
    def regroup(self, documents: Mapping[str, Document]) -> None:
        """Group ``documents``: copies by LSH and verification, versions by url. A text without a
        signature gets one now; the signatures of texts no longer there are dropped."""
        from datasketch import LeanMinHash, MinHashLSH

        known, self.signatures = self.signatures, {}
        for doc in documents.values():
            if doc.content_hash not in self.signatures:
                found = known.get(doc.content_hash)
                self.signatures[doc.content_hash] = found if found is not None else signature(doc.text)
        parent = {d: d for d in documents}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def join(a: str, b: str) -> None:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        for doc_id in sorted(documents):
            sig = self.signatures[documents[doc_id].content_hash]
            if sig.size < MIN_SHINGLES:
                continue
            sketch = LeanMinHash(seed=_SEED, hashvalues=sig.values.astype(np.uint64), scheme=_SCHEME)
            for other in lsh.query(sketch):
                if is_copy(sig, self.signatures[documents[other].content_hash]):
                    join(doc_id, other)
            lsh.insert(doc_id, sketch)
        by_url: dict[str, str] = {}
        for doc in documents.values():
            if doc.url:
                join(doc.id, by_url.setdefault(doc.url, doc.id))
        groups: dict[str, list[str]] = {}
        for doc_id in documents:
            groups.setdefault(root(doc_id), []).append(doc_id)
        self.group, self.members, self.newer = {}, {}, {}
        for number, ids in enumerate(sorted(sorted(g) for g in groups.values() if len(g) > 1)):
            self.members[number] = tuple(ids)
            for doc_id in ids:
                self.group[doc_id] = number
            self.newer.update(_versions([documents[i] for i in ids]))
        log.debug("%d documents, %d copy groups", len(documents), len(self.members))

    # ----- reading --------------------------------------------------------------------------------
    def copies_of(self, doc_id: str) -> tuple[str, ...]:
        """The other documents of ``doc_id``'s group (copies and versions), by id."""
        group = self.group.get(doc_id)
        return () if group is None else tuple(d for d in self.members[group] if d != doc_id)

    def preferred(self, doc_id: str, documents: Mapping[str, Document], latest: bool = False) -> str:
        """The member of ``doc_id``'s group to cite: among current versions, the most complete
        (within :data:`COMPLETE` of the longest), the earliest (a version dated as the first of its
        lineage), or the latest with ``latest``."""
        group = self.group.get(doc_id)
        if group is None:
            return doc_id
        members = [documents[d] for d in self.members[group]]
        current = [d for d in members if d.id not in self.newer]
        # A version stands for its lineage: it is as early as the first version of it.
        first = {d.id: d.date for d in current}
        for d in members:
            if d.id in self.newer and d.date and self.newer[d.id] in first:
                first[self.newer[d.id]] = min(first[self.newer[d.id]] or d.date, d.date)
        longest = max(len(d.text) for d in current)
        complete = [d for d in current if len(d.text) >= COMPLETE * longest]
        if latest:
            return max(complete, key=lambda d: (d.date, len(d.text), d.id)).id
        return min(complete, key=lambda d: (first[d.id] == "", first[d.id], -len(d.text), d.id)).id

    # ----- disk -----------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        hashes = sorted(self.signatures)
        values = np.stack([self.signatures[h].values for h in hashes]) if hashes else np.zeros((0, NUM_PERM))
        grouped = sorted(self.group)
        with open(path, "wb") as fh:
            np.savez(
                fh,
                hashes=np.array(hashes, dtype=str),
                sizes=np.array([self.signatures[h].size for h in hashes], dtype=np.int64),
                values=values.astype(np.uint32),
                grouped=np.array(grouped, dtype=str),
                groups=np.array([self.group[d] for d in grouped], dtype=np.int64),
                newer=np.array([self.newer.get(d, "") for d in grouped], dtype=str),
            )

    @classmethod
    def read(cls, path: Path, documents: Mapping[str, Document]) -> CopyIndex:
        """The copy index saved at ``path``; an index saved before copies were grouped gets its
        groups computed now (and saved with the next update)."""
        index = cls()
        if not path.is_file():
            log.warning(
                "%s: no wire-copy groups saved (an index from an older rag): grouping its %d documents at "
                "every load until `rag index` saves them",
                path,
                len(documents),
            )
            index.regroup(documents)
            return index
        try:
            with np.load(path, allow_pickle=False) as data:
                hashes, sizes, values = [str(h) for h in data["hashes"]], data["sizes"], data["values"]
                grouped, groups, newer = [str(d) for d in data["grouped"]], data["groups"], data["newer"]
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(
                f"{path} is unreadable ({exc}): rebuild it with `rag index --rebuild`"
            ) from exc
        for i, content_hash in enumerate(hashes):
            index.signatures[content_hash] = Signature(values[i], int(sizes[i]))
        members: dict[int, list[str]] = {}
        for i, doc_id in enumerate(grouped):
            index.group[doc_id] = int(groups[i])
            members.setdefault(int(groups[i]), []).append(doc_id)
            if newer[i]:
                index.newer[doc_id] = str(newer[i])
        index.members = {g: tuple(sorted(m)) for g, m in members.items()}
        return index


def _versions(members: Iterable[Document]) -> dict[str, str]:
    """Superseded member -> the newest member of its lineage (the same url, or the same source)."""
    newer: dict[str, str] = {}
    members = list(members)
    for key in ("url", "source"):
        lineages: dict[str, list[Document]] = {}
        for doc in members:
            if getattr(doc, key):
                lineages.setdefault(getattr(doc, key), []).append(doc)
        for lineage in lineages.values():
            dated = [d for d in lineage if d.date]
            if len(dated) < 2:
                continue
            newest = max(dated, key=lambda d: (d.date, d.id))
            for doc in dated:
                if doc.date < newest.date:
                    newer.setdefault(doc.id, newest.id)
    # A lineage's newest may be superseded in the other lineage (an article updated in place, then
    # reprinted under another url): each points to the end of its chain, a current document.
    for doc_id in list(newer):
        seen = {doc_id}
        while newer[doc_id] in newer and newer[doc_id] not in seen:
            seen.add(newer[doc_id])
            newer[doc_id] = newer[newer[doc_id]]
        if newer[doc_id] in newer:  # (a cycle: dates equal at some step) the document stays current
            del newer[doc_id]
    return newer
