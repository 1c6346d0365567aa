"""Comparing a split with a reference split: MoJoFM (exact), c2c coverage, pairwise F1. Pure."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping


def mno(ours: Mapping[str, str], reference: Mapping[str, str]) -> int:
    """Minimum Move + Join operations turning `ours` into `reference` (Wen & Tzerpos).

    Each of our clusters is tagged with a reference cluster it overlaps most; objects
    outside their cluster's tag are moved, clusters sharing a tag are joined. Ties in
    the tagging are settled by a maximum bipartite matching, which maximises the number
    of distinct tags and so minimises the joins: the result is exact, not greedy.
    """
    clusters = _clusters(ours)
    moves = 0
    candidates: dict[str, list[str]] = {}
    for name, members in clusters.items():
        overlap = Counter(reference[m] for m in members)
        best = max(overlap.values())
        moves += len(members) - best
        candidates[name] = sorted(tag for tag, count in overlap.items() if count == best)
    groups = _max_matching(candidates)
    return moves + len(clusters) - groups


def max_mno(reference: Mapping[str, str]) -> int:
    """The largest mno from any partition to `reference`: n minus its reachable groups."""
    sizes = sorted(Counter(reference.values()).values())
    groups = 0
    for size in sizes:
        if groups < size:
            groups += 1
    return len(reference) - groups


def mojofm(ours: Mapping[str, str], reference: Mapping[str, str]) -> float:
    """MoJoFM(ours, reference) in percent, over the objects both partitions contain."""
    common = sorted(set(ours) & set(reference))
    a = {o: ours[o] for o in common}
    b = {o: reference[o] for o in common}
    if not common:
        return 0.0
    worst = max_mno(b)
    if worst == 0:
        return 100.0 if mno(a, b) == 0 else 0.0
    return round((1 - mno(a, b) / worst) * 100, 2)


def c2c_coverage(
    ours: Mapping[str, str], reference: Mapping[str, str], threshold: float = 0.5
) -> float:
    """Percent of reference clusters matched by one of ours with c2c >= threshold."""
    common = set(ours) & set(reference)
    mine = _clusters({o: ours[o] for o in common})
    theirs = _clusters({o: reference[o] for o in common})
    if not theirs:
        return 0.0
    matched = 0
    for ref in theirs.values():
        best = max(len(ref & c) / max(len(ref), len(c)) for c in mine.values())
        matched += best >= threshold
    return round(100 * matched / len(theirs), 2)


def pairwise_f1(ours: Mapping[str, str], reference: Mapping[str, str]) -> float:
    """F1 of "these two tables share a context" over the table pairs, in [0, 1].

    Precision: share of our same-context pairs the reference also puts together; recall:
    share of the reference's pairs we put together. Over the tables both splits contain;
    when neither split puts any two tables together, the splits agree: 1.0.
    """
    common = sorted(set(ours) & set(reference))
    ours_pairs = _together(ours, common)
    ref_pairs = _together(reference, common)
    if not ours_pairs and not ref_pairs:
        return 1.0
    both = len(ours_pairs & ref_pairs)
    if both == 0:
        return 0.0
    precision, recall = both / len(ours_pairs), both / len(ref_pairs)
    return round(2 * precision * recall / (precision + recall), 4)


def _together(partition: Mapping[str, str], objects: list[str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for obj in objects:
        groups[partition[obj]].append(obj)
    return {(a, b) for members in groups.values() for i, a in enumerate(members)
            for b in members[i + 1 :]}  # fmt: skip


def _clusters(partition: Mapping[str, str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for obj, cluster in partition.items():
        found[cluster].add(obj)
    return dict(found)


def _max_matching(candidates: dict[str, list[str]]) -> int:
    """Size of a maximum matching of clusters to tags (Kuhn's augmenting paths)."""
    owner: dict[str, str] = {}

    def augment(cluster: str, seen: set[str]) -> bool:
        for tag in candidates[cluster]:
            if tag in seen:
                continue
            seen.add(tag)
            if tag not in owner or augment(owner[tag], seen):
                owner[tag] = cluster
                return True
        return False

    return sum(augment(cluster, set()) for cluster in sorted(candidates))
