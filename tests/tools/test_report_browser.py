"""The report page (`umasim report`) in a real browser: headless Chromium
driven through WebDriver (selenium and Debian's chromium-driver), with the
network cut off.  The page loads with no console error and fetches
nothing; moving the slider (dragging it, and with the keys) shows at each
step the state the Python API reports at that step; the decisive steps are
clickable; the source line of the point is shown.

Skipped, saying why, only where no browser can be had: no selenium, no
chromium or chromedriver (`.ci/run` installs them), or a process with a
sanitizer preloaded (a browser started from it would inherit the preload).
UMASIM_REQUIRE_BROWSER=1 (set by .ci/run once it installed them) turns
the skips for a missing selenium, chromium or driver into failures."""

from __future__ import annotations

import os
import shutil

import pytest

from reporthelp import GOLDEN, api_states, fake_explanation, long_trace
from umasim.bindings import SANITIZE, on_valgrind
from umasim.views import html_report
from umasim.views import trace as traces

NO_RECHECK = GOLDEN / "bug_no_recheck.trace"


def _skip(reason: str):
    if os.environ.get("UMASIM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"UMASIM_REQUIRE_BROWSER=1, but {reason}")
    pytest.skip(reason)


def _find(*names: str) -> str | None:
    for n in names:
        path = shutil.which(n) or (n if os.path.isabs(n) and os.access(n, os.X_OK) else None)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    if SANITIZE or on_valgrind():
        # Not a missing browser: never a failure, whatever UMASIM_REQUIRE_BROWSER says.
        pytest.skip("a sanitizer or valgrind is preloaded in this process; a browser started "
                    "from it would run under it too")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _skip("selenium is not installed (pip install -e '.[test]')")
    chromium = _find("chromium", "chromium-browser", "/usr/lib/chromium/chromium")
    driver = _find("chromedriver", "/usr/lib/chromium/chromedriver", "/usr/bin/chromedriver")
    if chromium is None or driver is None:
        _skip("no Chromium and chromedriver here (Debian: apt-get install chromium "
              "chromium-driver; .ci/run installs them)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1800", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps",
                # No network: every host unresolvable, every request to a dead proxy.
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
                "--proxy-bypass-list=<-loopback>"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    # The driver's path given: selenium's own driver manager (which would
    # download one) is not used.
    d = webdriver.Chrome(options=opts, service=Service(driver, env=env))
    try:
        yield d
    finally:
        d.quit()


def _open(browser, tmp_path, trace_path, explanation=None, name="page.html"):
    out = tmp_path / name
    out.write_text(html_report.build(traces.read(trace_path), explanation,
                                     trace_path=str(trace_path)), encoding="utf-8")
    browser.get(out.as_uri())
    assert browser.execute_script("return document.body.dataset.ready") == "1"
    return out


def _errors(browser) -> list:
    """Console messages of level SEVERE (errors, CSP violations, failed
    loads) since the last call."""
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


# What the page shows, read from its DOM (not from its script's model).
_SHOWN = """
const q = (e, s) => e.querySelector(s);
const txt = (e, s) => { const x = q(e, s); return x ? x.textContent.trim() : null; };
return {
  step: Number(document.body.dataset.step),
  slider: Number(document.getElementById('slider').value),
  point: txt(document, '#step-point'),
  threads: [...document.querySelectorAll('#threads tr[data-thread]')].map(r =>
    [r.dataset.thread, txt(r, '.state'), Number(txt(r, '.cpu')), txt(r, '.wmesg'),
     txt(r, '.point')]),
  zones: [...document.querySelectorAll('.zone')].map(z => ({
    name: z.dataset.zone,
    caches: [...z.querySelectorAll('table.caches tr[data-cpu]')].map(r =>
      [txt(r, '.alloc'), txt(r, '.free')]),
    full: Number(q(z, '.bucket-lists').dataset.full),
    free: Number(q(z, '.bucket-lists').dataset.free),
    slabs: [...z.querySelectorAll('.slabmap .row')].map(r => [r.dataset.list, r.dataset.items]),
  })),
  highlighted: [...document.querySelectorAll('#source .hl')].map(e => e.textContent),
};
"""


def _bucket_text(count, entries) -> str:
    return "no bucket" if count is None else f"{count}/{entries}"


def _check_shown(browser, want: dict[int, dict]) -> int:
    shown = browser.execute_script(_SHOWN)
    k = shown["step"]
    assert shown["slider"] == k
    api = want[k]
    assert {t[0]: (t[1], t[2], t[3]) for t in shown["threads"]} == api["threads"], k
    assert {t[0]: t[4] for t in shown["threads"]} == api["points"], k
    for z in shown["zones"]:
        a = api["zones"][z["name"]]
        assert z["caches"] == [[_bucket_text(c[0], e[0]), _bucket_text(c[1], e[1])]
                               for c, e in zip(a["caches"], a["entries"])], k
        assert (z["full"], z["free"]) == (a["full"], a["free"]), k
        assert [tuple(s) for s in z["slabs"]] == a["slabs"], k
    return k


def test_the_page_loads_without_errors_and_fetches_nothing(browser, tmp_path):
    _open(browser, tmp_path, NO_RECHECK, fake_explanation(32, 31))
    assert _errors(browser) == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert browser.execute_script("return document.body.dataset.step") == "32"
    assert browser.find_element("id", "outcome").text == "panic"
    assert "Freeing a non free bucket" in browser.find_element("id", "message").text
    assert browser.find_element("id", "replay").text == f"umasim replay {NO_RECHECK}"


def test_moving_the_slider_shows_the_state_of_each_step(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    path = long_trace(tmp_path, 300)
    want = api_states(path, range(301))
    _open(browser, tmp_path, path)
    assert _check_shown(browser, want) == 300
    slider = browser.find_element("id", "slider")
    seen = set()
    # Dragged from its thumb (at the end) to the left, in a few moves.
    width = slider.size["width"]
    for frac in (0.1, 0.37, 0.5, 0.83):
        ActionChains(browser).click_and_hold(slider).move_by_offset(0, 0) \
            .move_to_element_with_offset(slider, int((frac - 0.5) * width), 0) \
            .release().perform()
        seen.add(_check_shown(browser, want))
    assert len(seen) == 4 and all(0 < k < 300 for k in seen), seen
    # The keys: one step, ten, a hundred, the first and the last.
    slider.send_keys(Keys.HOME)
    assert _check_shown(browser, want) == 0
    for key, step in ((Keys.ARROW_RIGHT, 1), (Keys.ARROW_RIGHT, 2), (Keys.PAGE_DOWN, 102),
                      (Keys.SHIFT + Keys.ARROW_RIGHT, 112), (Keys.ARROW_LEFT, 111),
                      (Keys.END, 300), (Keys.PAGE_UP, 200)):
        slider.send_keys(key)
        assert _check_shown(browser, want) == step
    assert _errors(browser) == []


def test_decisive_steps_are_marked_and_clickable(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    expl = html_report.explain_if_available(traces.read(NO_RECHECK), 20)
    assert expl is not None and expl.decisive
    decisive = expl.decisive[0]["step"]
    want = api_states(NO_RECHECK, range(33))
    _open(browser, tmp_path, NO_RECHECK, expl)
    marks = browser.find_elements("css selector", "#curve-svg .decisive-mark")
    assert [int(m.get_attribute("data-step")) for m in marks] == \
        [d["step"] for d in expl.decisive]
    assert browser.find_element("id", "curve-path").get_attribute("d").startswith("M")
    browser.find_element("id", "btn-first").click()
    assert _check_shown(browser, want) == 0
    marks[0].click()
    assert _check_shown(browser, want) == decisive
    browser.find_element("id", "btn-first").click()
    browser.find_element("css selector", "#decisive-table tr[data-step]").click()
    assert _check_shown(browser, want) == decisive
    browser.find_element("tag name", "body").send_keys(Keys.HOME)
    browser.find_element("tag name", "body").send_keys("d")
    assert _check_shown(browser, want) == decisive
    # The decisive step's thread was resumed where it had stopped: shown,
    # with that point's line of the port.
    assert browser.find_element("id", "step-from").text == expl.decisive[0]["point"]
    shown = browser.execute_script(_SHOWN)
    assert any(f"PT_{expl.decisive[0]['point'].upper()}" in line
               for line in shown["highlighted"]), shown["highlighted"]
    assert _errors(browser) == []


def test_the_source_line_of_the_point(browser, tmp_path):
    tr = traces.read(NO_RECHECK)
    step = next(e["step"] for e in tr.events
                if e["ev"] == "step" and e["point"] == "slab_zalloc_unlocked")
    _open(browser, tmp_path, NO_RECHECK, name="src.html")
    browser.execute_script(f"window.umasimReport.go({step})")
    box = browser.find_element("css selector", "#source .src")
    assert box.get_attribute("data-file") == "csrc/vm/uma_core.c"
    assert "UMA_POINT(PT_SLAB_ZALLOC_UNLOCKED)" in \
        box.find_element("css selector", ".hl").text
    assert "in slab_zalloc()" in box.find_element("css selector", ".where").text
    assert _errors(browser) == []


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.trace")), ids=lambda p: p.stem)
def test_every_golden_trace_shows_without_errors(browser, tmp_path, path):
    """Every shipped scenario's run (panics, deadlocks, host faults,
    destroyed zones, step limits) at its first, middle and last step."""
    _open(browser, tmp_path, path, name=path.stem + ".html")
    n = traces.read(path).end["steps"]
    for k in (0, n // 2, n):
        browser.execute_script(f"window.umasimReport.go({k})")
        assert browser.execute_script("return document.body.dataset.step") == str(k)
    assert _errors(browser) == []
