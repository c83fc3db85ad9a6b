"""Training at a level of the project's taxonomy (`workstation train --level DEPTH`): every label
(at any node) is mapped to its ancestor at that level, the classes are the level's nodes (two
nodes: a binary task), and the cases are split as the export splits them, stratified by node.
Cases labelled at a node coarser than the level are left out. `leaf` is the classes themselves."""
from __future__ import annotations

import dataclasses


def resolved(project, level) -> str | None:
    """The level's name, or None when it is the leaves (plain training on the project's classes);
    raises ValueError (one line) for a project without a taxonomy or a level the tree lacks."""
    if level is None:
        return None
    from workstation.core.taxonomy import TaxonomyError

    taxonomy = project.taxonomy
    if taxonomy is None:
        raise ValueError("--level needs a project with a taxonomy (workstation project init ... --taxonomy TREE.json)")
    try:
        name = taxonomy.level_name(level)
        from workstation.core.taxonomy import level_classes

        level_classes(taxonomy, level)
    except TaxonomyError as exc:
        raise ValueError(str(exc)) from None
    return None if name == "leaf" else name


def target(project, level) -> tuple[str, list[str]]:
    """(task, classes) the network is trained on."""
    name = resolved(project, level)
    if name is None:
        return project.task, project.classes
    from workstation.core.taxonomy import level_classes

    return level_classes(project.taxonomy, name)


def truth(project, truth_source: str, level) -> dict[str, str]:
    """{case_id: node of the level} of every case whose label can be read at the level."""
    taxonomy = project.taxonomy
    mapped = {c: taxonomy.ancestor_at(v, level) for c, v in project.truth(truth_source, nodes=True).items()}
    return {c: node for c, node in mapped.items() if node is not None}


def splits(project, truth_source: str, level, ratios, seed: int) -> dict[str, str]:
    """The export's patient-grouped split (core/export), stratified by the level's nodes."""
    from workstation.core.export.exporter import assign_splits
    from workstation.core.export.from_project import cases_from_project
    from workstation.core.export.records import ExportOptions
    from workstation.core.export.splits import parse_ratios

    task, classes = target(project, level)
    labels = truth(project, truth_source, level)
    cases, _ = cases_from_project(project, truth_source)
    cases = [dataclasses.replace(c, label=labels.get(c.case_id)) for c in cases]
    options = ExportOptions(format="csv", task=task, classes=classes,
                            splits=parse_ratios(ratios), seed=seed)
    return assign_splits(cases, options)
