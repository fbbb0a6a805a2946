"""The InterUSS prober's SCD suite (PyPI `interuss-monitoring` 0.37.0) against a real hub.

The prober needs Python 3.13; `.ci/run` installs it into `.prober-venv` (or point
DECONFLICT_PROBER_PYTHON at another interpreter that has it). Its request documents are
not in the package: they are copied from ../shared/data next to a temporary copy of the
installed `monitoring/prober/scd/` package, never into this repository. The NoAuth
tokens it signs are verified with the public half of the key embedded in the library,
derived here at run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deconflict.api.server import ServerThread
from tests.conftest import REPO, SHARED_DATA
from tests.service.helpers import make_settings

PROBER_VERSION = "0.37.0"
PY313 = Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python"
RESOURCES = SHARED_DATA / "interuss-prober-scd-resources"
SCD_TESTS = 173
# Each explained in the README ("Passing the InterUSS prober").
EXPECTED_FAILURES = {
    "scd.test_operation_references_error_cases::test_missing_conflicted_operation",
}


def _prober_python() -> Path:
    configured = os.environ.get("DECONFLICT_PROBER_PYTHON")
    if configured:
        return Path(configured)
    python = REPO / ".prober-venv" / "bin" / "python"
    if python.exists():
        return python
    if not PY313.exists():
        pytest.skip(f"the InterUSS prober needs Python 3.13, and {PY313} is absent")
    if os.environ.get("CI") == "true":
        pytest.fail(".ci/run should have installed interuss-monitoring into .prober-venv")
    pytest.skip(
        "interuss-monitoring is not installed: run the prober block of .ci/run "
        f"(a Python 3.13 venv at .prober-venv with interuss-monitoring=={PROBER_VERSION})"
    )


def _run(python: Path, code: str) -> str:
    done = subprocess.run(  # noqa: S603 - the prober's interpreter, our own code
        [str(python), "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout


def test_the_prober_scd_suite_passes(tmp_path: Path) -> None:
    if not RESOURCES.is_dir():
        pytest.skip(f"{RESOURCES} not found: shared test data lives beside the repository in CI")
    python = _prober_python()
    version = _run(
        python, "import importlib.metadata as m; print(m.version('interuss-monitoring'))"
    ).strip()
    assert version == PROBER_VERSION
    package = Path(
        _run(python, "import monitoring, os; print(os.path.dirname(monitoring.__file__))").strip()
    )
    key = tmp_path / "noauth.pem"
    key.write_text(
        _run(
            python,
            "from monitoring.monitorlib.auth import NoAuth; "
            "print(NoAuth.dummy_private_key.export_to_pem().decode())",
        )
    )
    work = tmp_path / "monitoring"
    shutil.copytree(package, work, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(RESOURCES, work / "prober" / "scd" / "resources")
    settings = make_settings(
        tmp_path / "hub.db",
        dss_public_keys=str(key),
        dss_audiences="localhost,127.0.0.1",
    )
    report = tmp_path / "prober.xml"
    with ServerThread(settings) as server:
        done = subprocess.run(  # noqa: S603 - the prober's interpreter and arguments
            [
                str(python),
                "-m",
                "pytest",
                "scd",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={report}",
                "--dss-endpoint",
                server.url,
                "--scd-auth1",
                "NoAuth(sub=uss1)",
                "--scd-auth2",
                "NoAuth(sub=uss2)",
            ],
            cwd=work / "prober",
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    outcomes: dict[str, str] = {}
    # the report the prober run above just wrote in our temporary directory
    for case in ET.parse(report).getroot().iter("testcase"):  # noqa: S314
        name = f"{case.get('classname')}::{case.get('name')}"
        result = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                result = child.tag
        outcomes[name] = result
    tail = done.stdout[-3000:]
    assert len(outcomes) == SCD_TESTS, tail
    failed = {n for n, r in outcomes.items() if r in ("failure", "error")}
    skipped = {n for n, r in outcomes.items() if r == "skipped"}
    assert failed == EXPECTED_FAILURES, tail
    assert skipped == set(), tail
