"""Source strings get the link of the work they cite, and only that one."""

from optclaims_report.papers import PAPERS, linked, links


def test_each_cited_paper_gets_its_link():
    assert links("Reddi, Kale, Kumar, ICLR 2018, Theorem 1") == [
        ("arXiv:1904.09237", "https://arxiv.org/abs/1904.09237")]
    assert [lbl for lbl, _ in links("He, Zhang, Ren, Sun, ICCV 2015")] == ["arXiv:1502.01852"]
    assert [lbl for lbl, _ in links("He, Zhang, Ren, Sun, CVPR 2016")] == ["arXiv:1512.03385"]
    assert links("Slides 002, \"Momentum\"") == []
    assert [lbl for lbl, _ in links("Yang, Pennington, Rao, ICLR 2019")] == ["arXiv:1902.08129"]


def test_every_address_is_an_arxiv_doi_or_publisher_page():
    for _, label, url in PAPERS:
        assert url.startswith("https://") and label


def test_the_source_text_is_escaped_and_the_link_added():
    html = str(linked("Santurkar <b>et al</b>, NeurIPS 2018"))
    assert "&lt;b&gt;" in html and 'href="https://arxiv.org/abs/1805.11604"' in html
