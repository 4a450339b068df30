"""The build decides which modules to compile: the CUDA module only where it
could run (nvcc and an NVIDIA driver), unless MINISINGA_CUDA forces it."""
import pytest

from minisinga import _build_cuda as bc


@pytest.fixture
def machine(monkeypatch):
    """Set what the build sees: nvcc's path (or None) and whether a driver is here."""
    def set_machine(nvcc, driver, switch=None):
        monkeypatch.setattr(bc, "find_nvcc", lambda: nvcc)
        monkeypatch.setattr(bc, "nvidia_driver_present", lambda: driver)
        if switch is None:
            monkeypatch.delenv("MINISINGA_CUDA", raising=False)
        else:
            monkeypatch.setenv("MINISINGA_CUDA", switch)
    return set_machine


def test_nvcc_without_a_driver_builds_no_cuda_module_and_says_why(machine, capsys):
    machine("/usr/local/bin/nvcc", driver=False)
    assert bc.nvcc_or_none(announce=True) is None
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    assert "no NVIDIA driver" in out and "MINISINGA_CUDA=1" in out


def test_nvcc_with_a_driver_builds_it(machine, capsys):
    machine("/usr/local/bin/nvcc", driver=True)
    assert bc.nvcc_or_none(announce=True) == "/usr/local/bin/nvcc"
    assert "CUDA kernels" in capsys.readouterr().out


def test_forced_on_builds_without_a_driver(machine):
    machine("/usr/local/bin/nvcc", driver=False, switch="1")
    assert bc.nvcc_or_none() == "/usr/local/bin/nvcc"


def test_forced_on_without_nvcc_is_an_error(machine):
    machine(None, driver=True, switch="1")
    with pytest.raises(RuntimeError, match="nvcc was not found"):
        bc.nvcc_or_none()


def test_forced_off_never_builds(machine):
    machine("/usr/local/bin/nvcc", driver=True, switch="0")
    assert bc.nvcc_or_none() is None


def test_no_nvcc_skips_quietly_with_one_line(machine, capsys):
    machine(None, driver=True)
    assert bc.nvcc_or_none(announce=True) is None
    assert "nvcc not found" in capsys.readouterr().out


def test_driver_probe_answers_a_bool():
    assert isinstance(bc.nvidia_driver_present(), bool)
