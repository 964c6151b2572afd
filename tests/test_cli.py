import subprocess
import sys

from click.testing import CliRunner

from stngan import __version__
from stngan.cli import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_doctor_reports_each_weight(tmp_path, monkeypatch):
    monkeypatch.setenv("STNGAN_WEIGHTS", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "t"))
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "MISSING  vgg16" in result.output and str(tmp_path / "vgg16-397923af.pth") in result.output
    assert "MISSING  inception_fid" in result.output
    assert "found    dlib_landmarks68" in result.output
    assert "GPU:" in result.output


def test_config_prints_resolved_yaml():
    result = CliRunner().invoke(cli, ["config", "--set", "train.lr_g=2e-4"])
    assert result.exit_code == 0 and "lr_g: 0.0002" in result.output


def test_user_error_is_one_line_and_nonzero(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "stngan", "config", str(tmp_path / "none.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: config file not found")
    assert len(proc.stderr.strip().splitlines()) == 1
