"""Review projects: a folder with `project.json` and a label database (SQLite or PostgreSQL).

    from workstation.core.project import Project
    project = Project.create("my-study", task="binary", classes=["normal", "pneumonia"])
    project.add_case(["a.dcm"]); project.set_label("a", "pneumonia", reader="alice")
"""
from workstation.core.project.config import TASKS, ProjectConfig, ProjectError
from workstation.core.project.project import Project, ProjectEvents, UnknownCaseError
from workstation.core.project.records import (CANDIDATE_STATES, NOT_ASSESSABLE, TAGS, UNCERTAIN, AuditEntry, Case, EvaluationTable,
                      Label, PredictionRecord)

__all__ = ["Project", "ProjectEvents", "ProjectError", "UnknownCaseError", "ProjectConfig", "Case", "Label",
           "AuditEntry", "PredictionRecord", "EvaluationTable", "TASKS", "TAGS", "CANDIDATE_STATES",
           "UNCERTAIN", "NOT_ASSESSABLE"]
