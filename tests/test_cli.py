import subprocess
import sys

from click.testing import CliRunner

from stngan import __version__
from stngan.cli import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_doctor_reports_each_weight(weights_dir):
    result = CliRunner().invoke(cli, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "MISSING  vgg16" in result.output and str(weights_dir / "vgg16-397923af.pth") in result.output
    assert "MISSING  inception_fid" in result.output
    assert "found    dlib_landmarks68" in result.output
    assert "MISSING  lpips_alexnet" in result.output and "lpips_linear" in result.output
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


def test_an_internal_error_keeps_its_traceback(tmp_path):
    """A ValueError that is not a UserError is a bug: the CLI must not hide it behind one line."""
    script = ("import sys; import stngan.cli as c; import stngan.doctor as d\n"
              "def boom(): raise ValueError('shape bug')\n"
              "d.lines = boom; sys.argv = ['stngan', 'doctor']; c.main()")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "ValueError: shape bug" in proc.stderr
