"""Comparing a split with a reference split: MoJoFM (exact) and c2c coverage. Pure."""

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
