"""In a real browser (headless Chromium, driven by Playwright; the system's browser, never
one downloaded at run time): the reading site, and JupyterLab as a class meets it.

* The site built from the committed executed notebooks: every page loads with no console
  error and no failed request, every image decodes with a real size, the index links every
  notebook page; it reads as an article: each notebook's claims at a glance on the index,
  a scale and a verdict badge on every row, code folded until clicked, a provenance line
  under every figure, no page wider than 1280 px.  Screenshots of the index and of a
  notebook page are saved under the test's temporary folder (their paths are printed).
* The lab: ``bash scripts/lab`` serves a copy of the notebooks (random port and token);
  notebook 01 is opened from the file browser and run to the end with Run All; its figures
  render, no cell shows an error; a class-sized notebook 03 (one depth, one seed) shows its
  progress-bar widget counting epochs while it trains (the lab is then shut down, the
  training with it).  The server, its kernels and the browser are gone
  afterwards.
"""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from test_jupyter_server import _free_port  # a port nothing listens on

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # end to end: run once in CI, like the notebooks
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed: "
                                 "bash scripts/test installs it (requirements-lock.txt)")
HOW = ("install Debian's chromium (apt-get install chromium; .ci/run does) or point "
       "RECUR_CHROMIUM at a Chromium or Chrome binary")


def chromium() -> str:
    for candidate in (os.environ.get("RECUR_CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.skip(f"no Chromium on this machine: {HOW}")


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=chromium(),
                                         args=["--no-sandbox"] if os.geteuid() == 0 else [])
        except playwright.Error as err:
            pytest.skip(f"Chromium does not start ({str(err).splitlines()[0]}): {HOW}")
        yield launched
        launched.close()


class Watched:
    """A page with every console error, page error and failed request recorded."""

    def __init__(self, browser, width=1280, height=900):
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors, self.failed = [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", lambda r: self.failed.append(f"{r.url} ({r.status})")
                     if r.status >= 400 else None)


# --------------------------------------------------------------------------- the site
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from recur import site as reading_site
    return reading_site.build(ROOT / "results" / "quick", tmp_path_factory.mktemp("site") / "site",
                              log=lambda *a: None)


def test_every_site_page_loads_whole_offline(site, browser, tmp_path):
    pages = sorted(site.glob("*.html"))
    notebooks = sorted(p.stem for p in (ROOT / "results" / "quick").glob("[0-9][0-9]_*.ipynb"))
    assert {p.stem for p in pages} >= {"index", *notebooks}
    watched = Watched(browser)
    page = watched.page
    for html in pages:
        page.goto(html.as_uri(), wait_until="load")
        sizes = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.getAttribute('src'), e.complete, e.naturalWidth, "
                   "e.naturalHeight])")
        assert all(done and w > 0 and h > 0 for _, done, w, h in sizes), (html.name, sizes)
        if html.stem in notebooks:
            assert sizes, f"{html.name} shows no figure"
            text = page.inner_text("body")
            assert "Provenance: executed by" in text
            assert "What we found" in text or "Checked by construction" in text  # 01: facts
    assert watched.errors == [] and watched.failed == []
    page.goto((site / "index.html").as_uri(), wait_until="load")
    links = set(page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"))
    assert {f"{stem}.html" for stem in notebooks} <= {link.split("#")[0] for link in links}
    assert page.locator("td span.verdict").count() >= 10  # the verdicts, from the findings tables
    page.screenshot(path=tmp_path / "site-index.png")
    page.goto((site / "03_mazes.html").as_uri(), wait_until="load")
    page.locator("img").nth(0).scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "site-03.png")
    print(f"screenshots: {tmp_path / 'site-index.png'}, {tmp_path / 'site-03.png'}")


def _findings_notebooks() -> list[str]:
    """The committed notebooks that end with a findings table (02-05)."""
    from recur.executed import findings_tables, read_notebook
    from recur.report import HEADER
    return [p.stem for p in sorted((ROOT / "results" / "quick").glob("[0-9][0-9]_*.ipynb"))
            if any(t.startswith(HEADER) for t in findings_tables(read_notebook(p)))]


def test_the_site_reads_as_an_article_with_its_verdicts_at_a_glance(site, browser, tmp_path):
    """As a reader meets it: under each notebook heading of the index, its claims-at-a-glance
    figure (decoded, a real size); every verdict row names its scale and shows its verdict
    as a badge with its word; on every page the code is folded and opens on a click, every
    figure is followed by the line that says where it came from, and nothing is wider than
    a 1280-px window."""
    from recur.results import SOURCE
    watched = Watched(browser, width=1280)
    page = watched.page
    page.goto((site / "index.html").as_uri(), wait_until="load")
    with_findings = _findings_notebooks()
    assert len(with_findings) >= 4
    for stem in with_findings:
        size = page.eval_on_selector(
            f"img[src*='glance-{stem}']", "e => [e.complete, e.naturalWidth, e.naturalHeight, "
                                          "e.getBoundingClientRect().width]")
        assert size[0] and size[1] > 300 and size[2] > 200 and size[3] > 300, (stem, size)
    rows = page.eval_on_selector_all(
        "table", "ts => ts.filter(t => t.rows[0].cells.length === 5 && "
                 "t.rows[0].cells[1].textContent.trim() === 'scale').flatMap(t => "
                 "[...t.rows].slice(1).map(r => [r.cells[0].textContent, "
                 "r.cells[1].textContent.trim(), r.cells[4].textContent.trim(), "
                 "r.cells[4].querySelector('span.verdict') !== null]))")
    assert len(rows) >= 15, rows
    for claim, scale, verdict, badge in rows:
        assert "recipe" in scale and "seed" in scale, (claim, scale)
        assert badge and verdict in ("reproduced", "not reproduced", "inconclusive",
                                     "not run in this profile"), (claim, verdict)
    page.screenshot(path=tmp_path / "article-index.png", full_page=True)
    for html in sorted(site.glob("*.html")):
        page.goto(html.as_uri(), wait_until="load")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 1280, (html.name, wide)
        if html.stem in with_findings:  # its own findings table, rendered, with badges
            assert page.locator("td span.verdict").count() >= 3, html.name
        if html.stem not in with_findings and not html.stem.startswith("01"):
            continue
        folded = page.locator("details.above-input")
        assert folded.count() > 0 and not folded.first.evaluate("e => e.open"), html.name
        folded.first.locator("summary").click()
        assert folded.first.evaluate("e => e.open"), html.name
        lines = page.eval_on_selector_all(
            "div.cell_output img", f"imgs => imgs.map(i => {{ const o = i.closest("
            f"'div.cell_output'); const t = o ? o.textContent : ''; return t.includes("
            f"'{SOURCE}'); }})")
        assert lines and all(lines), (html.name, lines)
    page.goto((site / "03_mazes.html").as_uri(), wait_until="load")
    page.screenshot(path=tmp_path / "article-03.png", full_page=True)
    assert watched.errors == [] and watched.failed == []
    print(f"screenshots: {tmp_path / 'article-index.png'}, {tmp_path / 'article-03.png'}")


# --------------------------------------------------------------------------- the lab
SETTINGS = {  # the lab's user settings for the test: every cell in the page, no news check
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


class Lab:
    """``bash scripts/lab`` on a copy of the notebooks: 127.0.0.1, a random port and token,
    its own Jupyter folders, in its own process group."""

    def __init__(self, root: Path, home: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        for name, value in SETTINGS.items():
            path = home / "config" / "lab" / "user-settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(home / "runtime"),
                   JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
                   JUPYTERLAB_SETTINGS_DIR=str(home / "config" / "lab" / "user-settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
        self.log = open(home / "lab.log", "w")
        self.proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "lab"), "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={root}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            text = response.read().decode()
            return json.loads(text) if text else None

    def wait_until_up(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, Path(self.log.name).read_text()
            try:
                self.api("/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"the lab did not answer in {seconds} s")

    def processes(self) -> list:
        import psutil
        try:
            return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list:
        """Shut the lab down (its kernels with it); returns the processes that outlived it,
        killed."""
        import psutil
        family = self.processes()
        try:
            self.api("/api/shutdown", method="POST")
            self.proc.wait(timeout=30)
        except Exception:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
        self.log.close()
        gone, alive = psutil.wait_procs(family, timeout=15)
        for p in alive:
            p.kill()
        return alive


def _class_sized_03(folder: Path) -> None:
    """Notebook 03 as a class would run it live: one depth, one seed, up to its training."""
    nb = nbformat.read(ROOT / "notebooks" / "03_mazes.ipynb", as_version=4)
    training = next(i for i, c in enumerate(nb.cells)
                    if c.cell_type == "code" and "run_all(" in c.source)
    nb.cells = nb.cells[:training + 1]
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(  # as papermill -p would inject them
        "depth = [8]\nseeds = [0]\nsizes = []", metadata={"tags": ["injected-parameters"]}))
    nbformat.write(nb, folder / "03_class.ipynb")


def _open(page, name: str) -> None:
    """Open a notebook as a person does: double-click it in the file browser."""
    item = page.locator(".jp-DirListing-item", has_text=name)
    item.wait_for(timeout=60_000)
    item.dblclick()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").wait_for(timeout=60_000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the kernel started and connected, no dialog open
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():  # "Select Kernel": take the notebook's own (the project's Python)
            dialog.first.click()
        elif page.locator(".jp-StatusBar-TextItem", has_text="| Idle").count():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{name}: no idle kernel after 120 s")


def _run_all(page) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()


def _prompts(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt",
        "els => els.map(e => e.textContent.trim())")


def _wait_until_all_ran(page, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        prompts = _prompts(page)
        if prompts and all(p[1:-2].isdigit() for p in prompts):  # "[12]:" everywhere
            return prompts
        time.sleep(1)
    raise TimeoutError(f"cells still waiting or running after {seconds} s: {_prompts(page)}")


def _errors(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"
        "[data-mime-type='application/vnd.jupyter.stderr']", "els => els.map(e => e.innerText)")


def test_a_class_runs_the_notebooks_in_jupyterlab(browser, tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / "01_data_and_mazes.ipynb", root)
    _class_sized_03(root)
    lab = Lab(root, tmp_path / "jupyter")
    watched, outlived = None, []
    try:
        lab.wait_until_up()
        watched = Watched(browser, 1400, 1000)
        page = watched.page
        page.goto(f"{lab.url}/lab?token={lab.token}", wait_until="load")
        page.locator(".jp-DirListing-content").wait_for(timeout=120_000)

        _open(page, "01_data_and_mazes.ipynb")
        _run_all(page)
        prompts = _wait_until_all_ran(page, 300)
        committed = nbformat.read(root / "01_data_and_mazes.ipynb", as_version=4)
        assert len(prompts) == sum(c.cell_type == "code" for c in committed.cells)
        assert _errors(page) == []
        figures = page.eval_on_selector_all(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img",
            "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
        pngs = sum("image/png" in o.get("data", {})
                   for c in committed.cells if c.cell_type == "code" for o in c.outputs)
        assert len(figures) >= pngs >= 4 and all(done and w > 0 and h > 0 for done, w, h in figures)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output img").nth(0) \
            .scroll_into_view_if_needed()
        page.screenshot(path=tmp_path / "lab-01-figure.png")

        _open(page, "03_class.ipynb")
        _run_all(page)
        bar = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-hprogress").first
        bar.wait_for(state="visible", timeout=300_000)  # tqdm's widget, while a model trains
        label = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-html-content")
        deadline = time.monotonic() + 300
        while not any(re.search(r"\b([2-9]|1\d|20)/20\b", t) for t in label.all_inner_texts()):
            assert time.monotonic() < deadline, f"the bar did not move: {label.all_inner_texts()}"
            time.sleep(1)  # until it has counted two epochs of the first model
        bar.scroll_into_view_if_needed()
        page.screenshot(path=tmp_path / "lab-03-training.png")
        assert _prompts(page)[-1] == "[*]:" and _errors(page) == []  # still training, no error
        print(f"screenshots: {sorted(map(str, tmp_path.glob('lab-*.png')))}")
        assert watched.errors == [], watched.errors
    finally:
        if watched is not None:
            watched.page.screenshot(path=tmp_path / "lab-last.png")  # what the page showed last
            watched.page.close()
        outlived = lab.stop()
    assert outlived == [], f"processes outlived the lab: {outlived}"
