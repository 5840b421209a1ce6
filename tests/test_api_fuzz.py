"""Schema-driven fuzzing of the real API (schemathesis against our OpenAPI document): no server errors."""

import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from skindoctor.config import get_settings
from skindoctor.web.app import create_app

from .conftest import MODELS
from .server import LiveServer

ST = shutil.which("st") or str(Path(sys.executable).parent / "st")
pytestmark = pytest.mark.skipif(not Path(ST).exists(), reason="needs schemathesis (dev extra)")


def test_schemathesis_finds_no_server_errors():
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none"))) as s:
        r = subprocess.run([ST, "run", s.url + "/openapi.json", "--checks", "not_a_server_error",
                            "--max-examples", "100", "--seed", "1"], capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stdout[-4000:]
        assert "passed" in r.stdout and " failed" not in r.stdout.split("SUMMARY")[-1]
        assert httpx.get(s.url + "/healthz").status_code == 200
