"""Page evidence: features read from a page's HTML and URL (pages written for these tests)."""

from lxml import html as lxml_html

from pipeline.page_features import FEATURE_DOCS, FEATURE_NAMES, absent, page_evidence

PRESS_DE = """<!doctype html><html lang="de"><head><title>Neue Studie zur Herzgesundheit | Universitätsklinikum Nordstadt</title>
<meta property="og:type" content="article"><meta property="article:published_time" content="2024-03-05">
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "x"}</script>
</head><body><nav class="breadcrumb"><a href="/">Start</a> › <a href="/presse/">Presse</a> › Pressemitteilungen</nav>
<article><h1>Neue Studie zur Herzgesundheit</h1><p>Forschende unseres Klinikums haben 240 Patientinnen untersucht.</p>
<p>Pressekontakt: Anna Beispiel, Telefon +49 30 1234567, presse@klinikum-nordstadt.example</p></article>
<footer><a href="/ueber-uns">Über uns</a></footer></body></html>"""

SHOP_FR = """<html><head><title>Complément oméga-3 – Boutique Santé Plus</title><meta property="og:type" content="product">
</head><body><div class="product-page"><h1>Oméga-3 premium</h1><span class="price">29,90 €</span>
<form action="/panier"><input type="number" name="qty"><button class="add-to-cart">Ajouter au panier</button></form>
<p>Livraison gratuite dès 50 €. Prix TTC.</p></div></body></html>"""

FORUM_EN = """<html><head><title>Anyone tried the new migraine drug? - Health Forum</title></head><body>
<div itemscope itemtype="https://schema.org/DiscussionForumPosting"><div class="thread">
<div class="post"><span class="user-info">jane_d · Member since 2019</span><div class="postbody">My neurologist suggested it.</div>
<a href="#">Reply</a> <a href="#">Quote</a></div>
<div class="post"><span class="user-info">mark77</span><div class="postbody">It helped me a bit.</div><a href="#">Reply</a></div>
</div></div></body></html>"""


def features(page: str, url: str | None) -> dict:
    return page_evidence(lxml_html.fromstring(page), url)


def test_every_feature_is_documented_and_plain_text_has_none():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(FEATURE_DOCS)
    assert all(FEATURE_DOCS[name.removeprefix("page_")] for name in FEATURE_NAMES if name != "page_present")
    assert set(absent()) == set(FEATURE_NAMES) and not any(absent().values())


def test_press_release_page_shows_press_path_schema_dateline_and_contact():
    f = features(PRESS_DE, "https://www.klinikum-nordstadt.example/presse/2024/03/herzstudie.html")
    assert f["page_present"] == 1.0
    assert f["page_url_press"] == 1.0 and f["page_url_date"] == 1.0 and f["page_nav_press"] == 1.0
    assert f["page_site_clinic"] == 1.0
    assert f["page_schema_news"] == 1.0 and f["page_og_article"] == 1.0 and f["page_meta_published"] == 1.0
    assert f["page_text_press_contact"] > 0 and f["page_text_about_us"] > 0
    assert f["page_text_phones"] > 0 and f["page_text_emails"] > 0
    assert f["page_url_shop"] == f["page_text_cart"] == f["page_schema_forum"] == 0.0


def test_shop_page_shows_prices_cart_and_product_markup():
    f = features(SHOP_FR, "https://www.sante-plus.example/boutique/omega-3")
    assert f["page_url_shop"] == 1.0 and f["page_og_product"] == 1.0
    assert f["page_class_price"] > 0 and f["page_text_cart"] > 0 and f["page_text_prices"] > 0
    assert f["page_n_forms"] > 0 and f["page_n_inputs"] > 0 and f["page_n_buttons"] > 0
    assert f["page_url_press"] == f["page_text_press_contact"] == 0.0


def test_forum_thread_shows_forum_schema_posts_and_replies():
    f = features(FORUM_EN, "https://forum.health-talk.example/threads/new-migraine-drug.4711/")
    assert f["page_schema_forum"] == 1.0 and f["page_url_forum"] == 1.0 and f["page_site_forum"] == 1.0
    assert f["page_class_forum"] > 0 and f["page_text_reply"] > 0
    assert f["page_schema_news"] == f["page_class_price"] == 0.0


def test_no_url_or_a_pseudo_url_gives_no_url_evidence():
    for url in (None, "hard::page.html"):
        f = features(PRESS_DE, url)
        assert not any(v for k, v in f.items() if k.startswith(("page_url_", "page_site_")) and k != "page_site_clinic")
        assert f["page_schema_news"] == 1.0  # the page itself still speaks


def test_huge_pages_are_bounded():
    big = "<html><body>" + "<div class='x'><p>Mot</p></div>" * 60_000 + "</body></html>"
    f = features(big, "https://example.org/a")
    assert f["page_present"] == 1.0 and 0.0 <= f["page_link_density"] <= 1.0


def test_explain_names_the_page_evidence_that_raised_the_source_type():
    from pipeline.clean import clean_html
    from pipeline.predict import Predictor

    predictor = Predictor()
    page = clean_html(PRESS_DE.replace("</article>", "<p>" + "Die Studie lief zwei Jahre lang in drei Kliniken. " * 6
                                       + "</p></article>"),
                      url="https://www.klinikum-nordstadt.example/presse/2024/03/herzstudie.html")
    label = predictor.classify([page])[0]["labels"]["source_type"]["label"]
    reasons = predictor.page_reasons(page, label)
    assert reasons and len(reasons) <= 3
    assert all(page.page[r["feature"]] > 0 and r["weight"] > 0 for r in reasons)
    assert [r["weight"] for r in reasons] == sorted((r["weight"] for r in reasons), reverse=True)
    assert all(r["meaning"] == FEATURE_DOCS[r["feature"].removeprefix("page_")] for r in reasons)
    text_only = clean_text_of(page)
    assert predictor.page_reasons(text_only, label) == []


def clean_text_of(page):
    from pipeline.clean import clean_text

    return clean_text(page.text)
