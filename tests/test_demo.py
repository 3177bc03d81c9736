"""`make demo` runs skreg.demo; its quick mode must run end to end and report every section."""

from skreg import demo


def test_demo_quick_runs_every_section(capsys):
    demo.main(["--quick"])
    out = capsys.readouterr().out
    assert "Linear baselines" in out
    assert "Vector quantization" in out
    assert "Neural estimators" in out
    assert "done in" in out
