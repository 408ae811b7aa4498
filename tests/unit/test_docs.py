"""The documentation stands alone: docs/api.md is fresh, complete and true; no link leaves the repository.

`docs/api.md`'s field reference is generated from `api.models` (`make crds` or
`python -m dagwright.api.docgen docs/api.md`); these tests fail when someone edits the models
and forgets to regenerate it, when the generator leaves out a field, when an example on the page
no longer validates, or when a document points at a file a clone of the repository does not have.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dagwright.api import docgen, models
from dagwright.api.base import ApiModel
from dagwright.api.models import WorkflowRunSpec, WorkflowSpec
from dagwright.api.validation import validate_workflow_spec

REPO = Path(__file__).resolve().parents[2]
API_MD = REPO / "docs" / "api.md"
API_MODELS = sorted(
    (cls for cls in vars(models).values()
     if isinstance(cls, type) and issubclass(cls, ApiModel) and cls.__module__ == models.__name__),
    key=lambda cls: cls.__name__,
)


def api_md() -> str:
    return API_MD.read_text(encoding="utf-8")


def section_of(name: str) -> str:
    """The text of `#### NAME` in docs/api.md, up to the next heading."""
    match = re.search(rf"^#### {name}\n(.*?)(?=^#|\Z)", api_md(), re.M | re.S)
    assert match, f"docs/api.md has no section for {name}"
    return match.group(1)


def field_rows(name: str) -> dict[str, list[str]]:
    """Field name -> its cells (type, default, description) in the table of `#### NAME`."""
    rows = {}
    for line in section_of(name).splitlines():
        match = re.match(r"^\| `([^`]+)`( \(required\))? \| (.*) \|$", line)
        if match:
            rows[match.group(1)] = re.split(r"(?<!\\) \| ", match.group(3))
    return rows


# --------------------------------------------------------------------------- fresh


def test_docs_api_md_is_what_the_generator_makes_of_the_models_now() -> None:
    assert API_MD.is_file(), "docs/api.md is missing: run `make crds`"
    assert api_md() == docgen.render(api_md()), (
        "docs/api.md is out of date with operator/dagwright/api/models.py: run `make crds` "
        f"(or `{docgen.COMMAND}`)"
    )


def test_check_mode_fails_on_a_stale_file_and_says_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "api.md"
    stale.write_text(f"# prose kept\n\n{docgen.BEGIN}\n| `old` | string | | gone |\n{docgen.END}\n", encoding="utf-8")
    assert docgen.main([str(stale), "--check"]) == 1
    assert "make crds" in capsys.readouterr().err
    assert docgen.main([str(stale)]) == 0
    assert docgen.main([str(stale), "--check"]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("# prose kept\n") and "`old`" not in text


def test_a_file_without_markers_is_refused_not_overwritten(tmp_path: Path) -> None:
    prose = tmp_path / "api.md"
    prose.write_text("# hand-written only\n", encoding="utf-8")
    assert docgen.main([str(prose)]) == 1
    assert prose.read_text(encoding="utf-8") == "# hand-written only\n"


# --------------------------------------------------------------------------- complete


@pytest.mark.parametrize("model", API_MODELS, ids=lambda m: m.__name__)
def test_every_field_of_every_model_has_a_description(model: type[BaseModel]) -> None:
    for name, info in model.model_fields.items():
        assert info.description and len(info.description) > 3, f"{model.__name__}.{name} has no description"


@pytest.mark.parametrize("model", API_MODELS, ids=lambda m: m.__name__)
def test_every_field_of_every_model_is_in_the_reference_with_its_description(model: type[BaseModel]) -> None:
    rows = field_rows(model.__name__)
    for name, info in model.model_fields.items():
        wire = info.alias or name
        assert wire in rows, f"docs/api.md: {model.__name__} has no row for {wire}"
        assert rows[wire][2] == " ".join(str(info.description).split()).replace("|", "\\|")


def test_required_fields_are_marked_and_defaults_shown() -> None:
    assert "| `tasks` (required) |" in section_of("WorkflowSpec")
    assert field_rows("WorkflowSpec")["timezone"][1] == "`UTC`"
    assert field_rows("Task")["triggerRule"][1] == "`AllSucceeded`"
    assert field_rows("RetryPolicy")["backoffSeconds"][1] == "`10`"
    assert field_rows("Notification")["on"][1] == "`[Failed, Succeeded]`"  # a default factory
    assert field_rows("WorkflowSpec")["schedule"][1] == ""


def test_types_name_enums_lists_maps_and_link_object_types() -> None:
    task = field_rows("Task")
    assert task["triggerRule"][0].startswith("`AllSucceeded` \\| `AllDone`")
    assert task["python"][0] == "[PythonTask](#pythontask)"
    assert task["name"][0].startswith("string; 1–63 characters")
    spec = field_rows("WorkflowSpec")
    assert spec["tasks"][0] == "list of [Task](#task); 1–5000 items; unique by `name`"
    assert field_rows("WorkflowRunStatus")["tasks"][0] == "map of string to [TaskStatus](#taskstatus)"
    assert field_rows("TaskDefaults")["podTemplate"][0] == "object (any fields)"


def test_cel_rules_are_listed_under_their_type() -> None:
    assert "- exactly one of python, spark, dbt, container, workflow must be set" in section_of("Task")
    assert "- exactly one of workflowRef, workflowSpec must be set" in section_of("WorkflowRunSpec")


@pytest.mark.parametrize(
    ("kind", "names"),
    [("Workflow", ["`workflows.dagwright.io`", "`dwf`", "`dagwright`"]),
     ("WorkflowRun", ["`workflowruns.dagwright.io`", "`dwr`", "`dagwright`"]),
     ("Pool", ["`pools.dagwright.io`", "`dwp`", "`dagwright`"]),
     ("DataAsset", ["`dataassets.dagwright.io`", "`dwa`", "`dagwright`"])],
)
def test_each_kind_has_its_names_and_columns(kind: str, names: list[str]) -> None:
    match = re.search(rf"^### {kind}\n(.*?)(?=^### )", api_md(), re.M | re.S)
    assert match, f"docs/api.md has no section for the kind {kind}"
    for name in names:
        assert name in match.group(1)
    assert "| AGE | date | `.metadata.creationTimestamp` |" in match.group(1)


# --------------------------------------------------------------------------- true


def yaml_blocks(text: str) -> list[dict]:
    return [yaml.safe_load(block) for block in re.findall(r"^```yaml\n(.*?)^```", text, re.M | re.S)]


def test_the_examples_on_the_page_validate_against_the_models() -> None:
    manifests = [doc for doc in yaml_blocks(api_md()) if isinstance(doc, dict) and "kind" in doc]
    assert sorted(doc["kind"] for doc in manifests) == ["Workflow", "WorkflowRun"]
    for doc in manifests:
        assert doc["apiVersion"] == models.API_VERSION
        if doc["kind"] == "Workflow":
            spec = WorkflowSpec.model_validate(doc["spec"])
            assert validate_workflow_spec(spec) == []
            assert [t.kind() for t in spec.tasks] == ["python", "spark", "dbt", "container"]
        else:
            WorkflowRunSpec.model_validate(doc["spec"])


# --------------------------------------------------------------------------- stands alone


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    files = []
    for name in names:
        path = REPO / name
        if path.is_file() and not path.is_symlink() and path.suffix not in {".png", ".gz", ".tgz"}:
            files.append(path)
    return files


def test_no_file_refers_to_the_shared_directory_outside_the_repository() -> None:
    outside = re.compile(r"\.\./" + "shared|/work/" + "shared")
    offenders = []
    for path in tracked_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{path.relative_to(REPO)}:{n}" for n, line in enumerate(text.splitlines(), 1)
                      if outside.search(line)]
    assert offenders == []


MARKDOWN = sorted(str(p.relative_to(REPO)) for p in tracked_text_files() if p.suffix == ".md")


@pytest.mark.parametrize("document", MARKDOWN)
def test_every_relative_link_points_at_a_file_of_the_repository(document: str) -> None:
    path = REPO / document
    text = re.sub(r"^```.*?^```|`[^`\n]*`", "", path.read_text(encoding="utf-8"), flags=re.M | re.S)  # code is not a link
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # an absolute URL
        resolved = (path.parent / target).resolve()
        assert resolved.is_relative_to(REPO) and resolved.exists(), f"{document} links to {target}"
