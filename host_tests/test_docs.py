# The documents a bench needs are in the repository and the repository cites nothing outside
# itself: no citation of the old reference notes (facts are in docs/facts.md), a LICENSE with
# the not-a-medical-device notice, and every docs/ link in the README and docs resolves.
import os
import re
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "RIG_" + "FACTS"     # split, so this file does not match itself


def _tracked():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    return [p for p in out.split() if os.path.isfile(os.path.join(ROOT, p))]


def test_no_citation_of_files_outside_the_repository():
    hits = []
    for p in _tracked():
        try:
            text = open(os.path.join(ROOT, p), encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        if NAME in text:
            hits.append(p)
    assert not hits, "cite docs/facts.md instead: %s" % hits


def test_facts_sections_cited_exist():
    facts = open(os.path.join(ROOT, "docs", "facts.md")).read()
    have = set(re.findall(r"^## §(\d+)", facts, re.M))
    for p in _tracked():
        if not p.endswith((".py", ".md")):
            continue
        text = open(os.path.join(ROOT, p), encoding="utf-8").read()
        for n in re.findall(r"facts(?:\.md)?\]?\(?[^§\n]{0,12}§(\d+)", text):
            assert n in have, (p, n)


def test_license_is_permissive_and_says_not_a_medical_device():
    text = open(os.path.join(ROOT, "LICENSE")).read()
    assert "MIT License" in text and "NOT A MEDICAL DEVICE" in text


BENCH_DOCS = ("facts.md", "parts.md", "bench-safety.md", "how-to.md", "reading-a-plot.md")


def test_bench_documents_are_linked_from_the_readme_and_their_links_resolve():
    readme = open(os.path.join(ROOT, "README.md")).read()
    for name in BENCH_DOCS:
        assert "(docs/%s)" % name in readme, name
        path = os.path.join(ROOT, "docs", name)
        text = open(path).read()
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
            assert os.path.exists(os.path.join(os.path.dirname(path), target)), (name, target)
