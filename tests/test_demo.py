"""`make demo` runs skreg.demo: its quick mode runs every study and writes the report."""

from skreg import demo


def test_demo_quick_writes_the_report(tmp_path, capsys):
    demo.main(["--quick", "--n-jobs", "1", "--out", str(tmp_path / "report")])
    out = capsys.readouterr().out
    for title in ("Neural net on digits", "30% of the labels flipped",
                  "Linear models on diabetes", "Colour quantization of china.jpg"):
        assert title in out
    assert f"report: {(tmp_path / 'report' / 'index.html').resolve()}" in out
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "Zou &amp; Hastie" in page and "Lloyd" in page
