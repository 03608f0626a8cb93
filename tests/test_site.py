"""The reading site: built from executed notebooks without running them, the index carries
their findings tables (not retyped) and links every page, every asset is local."""
import re

import nbformat
import pytest

from recur import findings, report, site
from recur.reproduce import clean
from recur.storage import StorageError

pytest.importorskip("sphinx")
PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNg+M8AAAMBAQAY3Y2wAAAAAElFTkSu"
       "QmCC")


def _notebook(folder, name, title, verdict):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    table = report.report([findings.Finding(f"a claim of {name}", "paper", "ours", verdict)])
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nWhat this notebook does."),
        nbformat.v4.new_code_cell("raise SystemExit('never executed by the site')", outputs=[
            nbformat.v4.new_output("display_data",
                                   data={"image/png": PNG, "text/plain": "<Figure>"})]),
        nbformat.v4.new_markdown_cell("## What we found"),
        nbformat.v4.new_code_cell("display(Markdown(report))", outputs=[
            nbformat.v4.new_output("display_data", data={"text/markdown": table})]),
    ]
    clean(nb, "quick", {"seed": 3})
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("executed")
    _notebook(folder, "01_first", "01 · First", "reproduced")
    _notebook(folder, "02_second", "02 · Second", "inconclusive")
    (folder / "03_damaged.ipynb").write_text('{"cells": [')
    return folder, site.build(folder, log=lambda *a: None)


def test_the_index_carries_the_findings_and_links_every_page(built):
    folder, out = built
    index = (out / "index.html").read_text()
    assert "a claim of 01_first" in index and "a claim of 02_second" in index
    assert "<strong>reproduced</strong>" in index and "<strong>inconclusive</strong>" in index
    assert "| scale |" not in index and "<th class=\"head\"><p>scale</p></th>" in index
    assert 'href="01_first.html"' in index and 'href="02_second.html"' in index


def test_each_page_has_its_figure_and_provenance_and_nothing_ran(built):
    _, out = built
    page = (out / "01_first.html").read_text()
    assert "Provenance: executed by" in page and "<strong>quick</strong>" in page
    assert "seed=3" in page
    assert "never executed by the site" in page  # shown as code, not run
    assert "<table" in page and "| claim |" not in page  # the findings, as a table
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert images and all((out / src).is_file() for src in images)


def test_code_is_folded_long_logs_too_and_the_glance_figure_leads_the_index(tmp_path):
    folder = tmp_path / "executed"
    folder.mkdir()
    _notebook(folder, "02_glance", "02 · Glance", "reproduced")
    nb = nbformat.read(folder / "02_glance.ipynb", 4)
    nb.cells[1].metadata["tags"] = [site.GLANCE_TAG]
    log = "\n".join(f"run {k}" for k in range(site.LONG_OUTPUT + 5)) + "\n"
    nb.cells.append(nbformat.v4.new_code_cell("train()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=log)]))
    nbformat.write(nb, folder / "02_glance.ipynb")
    out = site.build(folder, log=lambda *a: None)
    index = (out / "index.html").read_text()
    assert 'src="_images/glance-02_glance.png"' in index or "glance-02_glance.png" in index
    assert index.index("glance-02_glance.png") < index.index("a claim of 02_glance")
    page = (out / "02_glance.html").read_text()
    assert page.count('class="admonition hide above-input"') == 3  # every code cell
    assert page.count("below-input") == 1  # the long log, not the figure's cell
    assert "recur.css" in page and "recur.js" in page


def test_the_index_puts_the_paper_profiles_verdicts_beside_the_quick_ones(tmp_path):
    quick, paper_ = tmp_path / "results" / "quick", tmp_path / "results" / "paper"
    quick.mkdir(parents=True)
    paper_.mkdir()
    _notebook(quick, "02_second", "02 · Second", "inconclusive")
    _notebook(paper_, "02_second", "02 · Second", "reproduced")
    index = (site.build(quick, log=lambda *a: None) / "index.html").read_text()
    assert "Beside the <strong>paper</strong> profile" in index
    row = re.search(r"<td><p>a claim of 02_second</p></td>\s*<td><p><strong>(.*?)</strong>"
                    r"</p></td>\s*<td><p><strong>(.*?)</strong>", index)
    assert row and row.groups() == ("inconclusive", "reproduced")
    alone = tmp_path / "elsewhere"  # not a results/<profile>/ folder: nothing beside it
    alone.mkdir()
    _notebook(alone, "02_second", "02 · Second", "inconclusive")
    assert "Beside the" not in (site.build(alone, log=lambda *a: None) / "index.html").read_text()


def test_a_damaged_notebook_is_left_out(built):
    folder, out = built
    assert not (out / "03_damaged.html").exists()


def test_every_asset_is_local(built):
    _, out = built
    for html in out.glob("*.html"):
        refs = re.findall(r'(?:src|href)="([^"]+)"', html.read_text())
        remote = [r for r in refs if re.match(r"(https?:)?//", r)]
        assert remote == [], (html.name, remote)


def test_no_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(StorageError, match=f"no readable executed notebooks .* in {tmp_path}"):
        site.build(tmp_path, log=lambda *a: None)
