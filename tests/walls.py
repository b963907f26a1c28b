# ruff: noqa: E501 (page text is data: long lines read better than split ones)
"""Wall pages written by us after real-world ones, for the classifier's tests and bench.

Each class (consent wall, paywall teaser, bot challenge, region block, soft 404 served with
status 200, tag/search page) in six languages (en, de, fr, es, it, nl), laid out the way the
real ones are: a Cloudflare/DataDome/Akamai/PerimeterX challenge, a CMP (Didomi, OneTrust,
Sourcepoint) in front of an empty article shell or a stand-alone consent page, a news
article with schema.org ``isAccessibleForFree: false`` and a few teaser paragraphs, the
"451 / not available in your region" page US papers show in Europe, an error page with the
site's navigation and a "most read" list, a tag or search page listing teasers. The words
are ours (no page was copied); the markers are the ones such pages ship.

``wall_pages()`` gives them all; ``tests/test_classify.py`` and the fixture site of
``tests/test_quarantine.py`` use them, ``bench/blocks.py`` scores the classifier on them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

LANGUAGES = ("en", "de", "fr", "es", "it", "nl")


@dataclass(frozen=True)
class Wall:
    name: str  # e.g. "consent-wall/de"
    page_class: str
    lang: str
    path: str  # where the fixture site serves it
    html: str
    url: str | None = None  # the URL it stands for in the bench (path on example host)


SITE = {
    "en": ("Harbour Times", ["Home", "News", "Politics", "Sport", "Culture"]),
    "de": ("Hafenbote", ["Startseite", "Nachrichten", "Politik", "Sport", "Kultur"]),
    "fr": ("Le Courrier du Port", ["Accueil", "Actualités", "Politique", "Sport", "Culture"]),
    "es": ("El Diario del Puerto", ["Portada", "Noticias", "Política", "Deportes", "Cultura"]),
    "it": ("Il Corriere del Porto", ["Home", "Notizie", "Politica", "Sport", "Cultura"]),
    "nl": ("Het Havenblad", ["Home", "Nieuws", "Politiek", "Sport", "Cultuur"]),
}

HEADLINES = {
    "en": [
        "Ferry crews strike over harbour rota",
        "Council passes budget after long night",
        "Late frost hits hillside vineyards",
        "Library reopens after roof repairs",
        "Tram line extension gets green light",
        "Bakery wins regional bread award",
    ],
    "de": [
        "Fährleute streiken wegen neuer Dienstpläne",
        "Stadtrat beschließt Haushalt nach langer Nacht",
        "Später Frost trifft die Weinberge",
        "Bibliothek öffnet nach Dachreparatur wieder",
        "Straßenbahnverlängerung bekommt grünes Licht",
        "Bäckerei gewinnt regionalen Brotpreis",
    ],
    "fr": [
        "Grève des équipages des ferries du port",
        "Le conseil vote le budget après une longue nuit",
        "Une gelée tardive frappe les vignobles",
        "La bibliothèque rouvre après des travaux de toiture",
        "Feu vert pour le prolongement du tramway",
        "Une boulangerie remporte le prix régional du pain",
    ],
    "es": [
        "Huelga de las tripulaciones de los ferris",
        "El ayuntamiento aprueba el presupuesto tras una larga noche",
        "Una helada tardía golpea los viñedos",
        "La biblioteca reabre tras reparar el tejado",
        "Luz verde a la ampliación del tranvía",
        "Una panadería gana el premio regional del pan",
    ],
    "it": [
        "Sciopero degli equipaggi dei traghetti",
        "Il consiglio approva il bilancio dopo una lunga notte",
        "Una gelata tardiva colpisce i vigneti",
        "La biblioteca riapre dopo i lavori al tetto",
        "Via libera al prolungamento del tram",
        "Un panificio vince il premio regionale del pane",
    ],
    "nl": [
        "Veerbemanningen staken om nieuw rooster",
        "Gemeenteraad keurt begroting goed na lange nacht",
        "Late vorst treft de wijngaarden",
        "Bibliotheek gaat weer open na dakreparatie",
        "Groen licht voor verlenging van de tramlijn",
        "Bakkerij wint regionale broodprijs",
    ],
}

# Story sentences (a teaser's paragraphs, a tag page's teasers), per language.
SENTENCES = {
    "en": [
        "Crews on the morning crossings walked off the boats at dawn, saying the new rota left them with eleven-hour shifts and no time to rest between sailings.",
        "The harbour authority said talks would resume on Thursday and that a reduced timetable would run in the meantime, with priority for school children.",
        "Passengers queued at the terminal for more than an hour, and several hauliers said they would reroute their lorries through the northern port instead.",
    ],
    "de": [
        "Die Besatzungen der Frühfähren legten im Morgengrauen die Arbeit nieder, weil der neue Dienstplan ihnen Schichten von elf Stunden ohne Pause zwischen den Fahrten bringt.",
        "Die Hafenverwaltung kündigte an, die Gespräche am Donnerstag fortzusetzen und bis dahin einen eingeschränkten Fahrplan anzubieten, vorrangig für Schulkinder.",
        "Am Terminal warteten Fahrgäste mehr als eine Stunde, und mehrere Spediteure sagten, sie würden ihre Lastwagen über den nördlichen Hafen umleiten.",
    ],
    "fr": [
        "Les équipages des traversées du matin ont quitté les navires à l'aube, estimant que le nouveau planning leur imposait des services de onze heures sans repos entre deux rotations.",
        "L'autorité portuaire a indiqué que les discussions reprendraient jeudi et qu'un service réduit serait assuré d'ici là, en priorité pour les écoliers.",
        "Les passagers ont patienté plus d'une heure au terminal, et plusieurs transporteurs ont annoncé qu'ils passeraient désormais par le port du nord.",
    ],
    "es": [
        "Las tripulaciones de los trayectos de la mañana abandonaron los barcos al amanecer, alegando que el nuevo turno les obliga a jornadas de once horas sin descanso entre travesías.",
        "La autoridad portuaria afirmó que las conversaciones se reanudarán el jueves y que mientras tanto habrá un horario reducido, con prioridad para los escolares.",
        "Los pasajeros esperaron más de una hora en la terminal y varios transportistas dijeron que desviarán sus camiones por el puerto del norte.",
    ],
    "it": [
        "Gli equipaggi delle corse del mattino hanno lasciato le navi all'alba, sostenendo che il nuovo turno impone servizi di undici ore senza pause tra una traversata e l'altra.",
        "L'autorità portuale ha detto che le trattative riprenderanno giovedì e che nel frattempo sarà garantito un orario ridotto, con priorità per gli studenti.",
        "I passeggeri hanno atteso più di un'ora al terminal e diversi autotrasportatori hanno annunciato che passeranno dal porto settentrionale.",
    ],
    "nl": [
        "De bemanningen van de ochtendafvaarten legden bij zonsopgang het werk neer, omdat het nieuwe rooster hun diensten van elf uur zonder rust tussen de overtochten oplevert.",
        "Het havenbedrijf liet weten dat de gesprekken donderdag worden hervat en dat er tot dan een beperkte dienstregeling geldt, met voorrang voor scholieren.",
        "Reizigers stonden ruim een uur in de rij bij de terminal en verschillende vervoerders zeiden hun vrachtwagens via de noordelijke haven om te leiden.",
    ],
}

CONSENT = {
    "en": (
        "We value your privacy",
        "We and our 842 partners store and access information on your device, such as cookies, and process personal data, such as unique identifiers and browsing data, for personalised advertising and content, advertising and content measurement, audience research and services development.",
        "With your permission we and our partners may use precise geolocation data and identification through device scanning. You may click to consent to our and our partners' processing as described above.",
        "Accept all",
        "Manage options",
    ),
    "de": (
        "Zustimmung erforderlich",
        "Wir und unsere 214 Partner speichern und verarbeiten Informationen auf Ihrem Gerät, zum Beispiel Cookies, sowie personenbezogene Daten wie Kennungen und Nutzungsdaten für personalisierte Werbung und Inhalte, Messung von Werbung und Inhalten sowie Zielgruppenforschung.",
        "Mit Ihrer Einwilligung dürfen wir und unsere Partner genaue Standortdaten verwenden. Sie können Ihre Zustimmung jederzeit über den Link Datenschutz-Einstellungen widerrufen.",
        "Alle akzeptieren",
        "Einstellungen verwalten",
    ),
    "fr": (
        "Nous respectons votre vie privée",
        "Nous et nos 612 partenaires stockons et accédons à des informations sur votre appareil, comme les cookies, et traitons des données personnelles, comme des identifiants uniques, pour la publicité et le contenu personnalisés et la mesure d'audience.",
        "Avec votre consentement, nous et nos partenaires pouvons utiliser des données de géolocalisation précises. Vous pouvez retirer votre consentement à tout moment.",
        "Tout accepter",
        "Paramétrer les cookies",
    ),
    "es": (
        "Valoramos tu privacidad",
        "Nosotros y nuestros 509 socios almacenamos y accedemos a información de tu dispositivo, como cookies, y tratamos datos personales, como identificadores únicos, para publicidad y contenido personalizados y medición de audiencias.",
        "Con tu consentimiento, nosotros y nuestros socios podemos usar datos de geolocalización precisa. Puedes retirar tu consentimiento en cualquier momento.",
        "Aceptar todo",
        "Configurar",
    ),
    "it": (
        "Rispettiamo la tua privacy",
        "Noi e i nostri 733 partner archiviamo e accediamo a informazioni sul tuo dispositivo, come i cookie, e trattiamo dati personali, come identificatori univoci, per annunci e contenuti personalizzati e misurazione del pubblico.",
        "Con il tuo consenso, noi e i nostri partner possiamo usare dati di geolocalizzazione precisi. Puoi revocare il consenso in qualsiasi momento.",
        "Accetta tutto",
        "Gestisci opzioni",
    ),
    "nl": (
        "Wij waarderen je privacy",
        "Wij en onze 398 partners slaan informatie op en openen informatie op je apparaat, zoals cookies, en verwerken persoonsgegevens, zoals unieke identificatoren, voor gepersonaliseerde advertenties en inhoud en het meten van bereik.",
        "Met je toestemming kunnen wij en onze partners precieze locatiegegevens gebruiken. Je kunt je toestemming op elk moment intrekken.",
        "Alles accepteren",
        "Opties beheren",
    ),
}

PAYWALL = {
    "en": ("Subscribe to continue reading", "Already a subscriber? Log in"),
    "de": (
        "Weiterlesen mit Hafenbote+",
        "Dieser Artikel ist nur für Abonnenten verfügbar. Bereits Abonnent? Anmelden",
    ),
    "fr": ("Cet article est réservé aux abonnés.", "Déjà abonné ? Se connecter"),
    "es": ("Contenido exclusivo para suscriptores", "¿Ya eres suscriptor? Inicia sesión"),
    "it": ("Articolo riservato agli abbonati", "Sei già abbonato? Accedi"),
    "nl": ("Dit artikel is alleen voor abonnees.", "Al abonnee? Log in"),
}

CHALLENGE_TITLE = {
    "en": "Just a moment...",
    "de": "Einen Moment…",
    "fr": "Un instant…",
    "es": "Acceso denegado",
    "it": "Solo un momento…",
    "nl": "Een ogenblik…",
}

REGION = {
    "en": (
        "451: Unavailable due to legal reasons",
        "We recognize you are attempting to access this website from a country belonging to the European Economic Area (EEA) including the EU which enforces the General Data Protection Regulation (GDPR) and therefore access cannot be granted at this time. For any issues, contact us.",
    ),
    "de": (
        "Nicht verfügbar",
        "Dieses Angebot ist in Ihrem Land leider nicht verfügbar. Aus rechtlichen Gründen können wir die Inhalte nur in bestimmten Ländern anbieten.",
    ),
    "fr": (
        "Contenu indisponible",
        "Ce contenu n'est pas disponible dans votre pays en raison de restrictions liées aux droits de diffusion.",
    ),
    "es": (
        "Contenido no disponible",
        "Lo sentimos, este contenido no está disponible en tu región por restricciones de derechos.",
    ),
    "it": (
        "Contenuto non disponibile",
        "Siamo spiacenti, questo contenuto non è disponibile nel tuo paese per motivi legati ai diritti.",
    ),
    "nl": (
        "Niet beschikbaar",
        "Deze inhoud is helaas niet beschikbaar in jouw regio vanwege rechtenbeperkingen.",
    ),
}

NOT_FOUND = {
    "en": (
        "Page not found",
        "Sorry, we couldn't find that page",
        "The page you are looking for could not be found. It may have been moved or deleted.",
        "Most read",
    ),
    "de": (
        "Seite nicht gefunden",
        "Hoppla, diese Seite gibt es nicht",
        "Die angeforderte Seite wurde nicht gefunden. Vielleicht wurde sie verschoben oder gelöscht.",
        "Meistgelesen",
    ),
    "fr": (
        "Page introuvable",
        "Oups, cette page n'existe plus",
        "La page que vous cherchez n'existe pas ou a été déplacée.",
        "Les plus lus",
    ),
    "es": (
        "Página no encontrada",
        "Vaya, no encontramos esta página",
        "La página que buscas no existe o ha sido trasladada.",
        "Lo más leído",
    ),
    "it": (
        "Pagina non trovata",
        "Ops, questa pagina non c'è",
        "La pagina che stai cercando non esiste o è stata spostata.",
        "I più letti",
    ),
    "nl": (
        "Pagina niet gevonden",
        "Oeps, deze pagina bestaat niet",
        "De pagina die je zoekt bestaat niet of is verplaatst.",
        "Meest gelezen",
    ),
}

LISTING = {
    "en": ("/tag/ferries", "Tag: ferries"),
    "de": ("/thema/faehren/", "Thema: Fähren"),
    "fr": ("/recherche?q=ferry", "Résultats de recherche pour « ferry »"),
    "es": ("/etiqueta/ferris/", "Etiqueta: ferris"),
    "it": ("/argomenti/traghetti/", "Argomenti: traghetti"),
    "nl": ("/zoeken?q=veerboot", "Zoekresultaten voor 'veerboot'"),
}


def _chrome(lang: str, title: str, main: str, *, head: str = "", body_end: str = "") -> str:
    """A news site's page around ``main``: navigation, footer, the usual head."""
    site, nav = SITE[lang]
    links = "".join(f'<li><a href="/{n.lower()}/">{n}</a></li>' for n in nav)
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>{title}</title><meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:site_name" content="{site}">{head}
<link rel="stylesheet" href="/static/site.css"></head><body>
<header><a class="logo" href="/">{site}</a><nav><ul>{links}</ul></nav></header>
{main}
<footer><ul><li><a href="/impressum">Impressum</a></li><li><a href="/privacy">Privacy</a></li>
<li><a href="/contact">Contact</a></li></ul><p>© 2024 {site}</p></footer>{body_end}
</body></html>"""


def consent_wall(lang: str) -> str:
    heading, purposes, more, accept, manage = CONSENT[lang]
    site = SITE[lang][0]
    if lang in ("en", "fr", "it"):
        # A stand-alone consent page (the site redirects every article here).
        main = f"""<main class="consent-page"><div id="sp_message_container_812345">
<h1>{heading}</h1><p>{purposes}</p><p>{more}</p>
<button class="accept">{accept}</button> <button class="options">{manage}</button>
<p><a href="/privacy">Privacy policy</a> · <a href="/vendors">Vendors</a></p></div></main>"""
        return _chrome(
            lang,
            site,
            main,
            body_end='<script src="https://cdn.privacy-mgmt.com/unified/wrapperMessagingWithoutDetection.js"></script>',
        )
    # An article shell whose body is only sent after consent; the CMP overlay is all there is.
    main = f"""<main><article class="article-shell"><h1>{HEADLINES[lang][0]}</h1>
<div class="article-body" data-requires-consent="true"></div></article></main>
<div id="didomi-host"><div class="didomi-popup"><h2>{heading}</h2><p>{purposes}</p>
<p>{more}</p><button>{accept}</button> <button>{manage}</button></div></div>"""
    return _chrome(lang, f"{HEADLINES[lang][0]} | {site}", main)


def paywall(lang: str) -> str:
    site = SITE[lang][0]
    title = HEADLINES[lang][1]
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "datePublished": "2024-05-20T08:00:00+02:00",
        "inLanguage": lang,
        "isAccessibleForFree": False,
        "hasPart": {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": ".paywalled-content",
        },
    }
    teaser = "".join(f"<p>{s}</p>" for s in SENTENCES[lang][:2])
    offer, login = PAYWALL[lang]
    main = f"""<main><article><h1>{title}</h1><p class="byline">{site}</p>{teaser}
<div class="paywalled-content"></div>
<div class="paywall-box"><h2>{offer}</h2><p>{login}</p>
<a class="button" href="/abo">Abo / Subscribe</a></div></article></main>"""
    head = f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
    return _chrome(lang, f"{title} | {site}", main, head=head)


def bot_challenge(lang: str) -> str:
    title = CHALLENGE_TITLE[lang]
    if lang == "es":  # Akamai-style refusal
        return f"""<html><head><title>{title}</title></head><body>
<h1>{title}</h1>No tiene permiso para acceder a "http://www.example.es/noticias/" en este servidor.<p>
Referencia #18.4c2f1602.1716192000.2a1b3c</p></body></html>"""
    return f"""<!DOCTYPE html><html lang="{lang}"><head><title>{title}</title>
<meta http-equiv="refresh" content="390"><meta name="robots" content="noindex,nofollow">
</head><body><div class="main-wrapper" role="main"><div class="main-content">
<noscript><div id="challenge-error-title">Enable JavaScript and cookies to continue</div></noscript>
<div id="challenge-running">www.example.com</div></div></div>
<script>(function(){{window._cf_chl_opt={{cvId: '3',cZone: "www.example.com",cType: 'managed'}};}}());</script>
</body></html>"""


def region_block(lang: str) -> str:
    heading, text = REGION[lang]
    main = f'<main class="geo-block"><h1>{heading}</h1><p>{text}</p></main>'
    return _chrome(lang, heading, main)


def soft_404(lang: str) -> str:
    title, heading, text, most_read = NOT_FOUND[lang]
    site = SITE[lang][0]
    items = "".join(
        f'<li><a href="/news/2024/05/story-{i}">{h}</a></li>' for i, h in enumerate(HEADLINES[lang])
    )
    main = f"""<main class="error-page"><h1>{heading}</h1><p>{text}</p>
<form action="/search"><input name="q"><button>Search</button></form>
<section class="most-read"><h2>{most_read}</h2><ol>{items}</ol></section></main>"""
    return _chrome(
        lang, f"{title} | {site}", main, head='<meta name="robots" content="noindex, follow">'
    )


def listing(lang: str) -> str:
    title = LISTING[lang][1]
    site = SITE[lang][0]
    items = []
    for i, headline in enumerate(HEADLINES[lang] * 2):
        teaser = SENTENCES[lang][i % 3].split(",")[0]
        items.append(
            f'<article class="teaser"><h2><a href="/news/2024/05/story-{i}">{headline}</a></h2>'
            f'<p>{teaser}.</p><a class="more" href="/news/2024/05/story-{i}">'
            f"{headline} – {SITE[lang][1][1]}</a></article>"
        )
    ld = {"@context": "https://schema.org", "@type": "CollectionPage", "name": title}
    main = f"""<main><h1>{title}</h1><div class="teasers">{"".join(items)}</div>
<nav class="pagination"><a href="?page=2">2</a> <a href="?page=3">3</a></nav></main>"""
    head = f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
    return _chrome(lang, f"{title} | {site}", main, head=head)


BUILDERS = {
    "consent-wall": (consent_wall, "/news/2024/05/consent-{lang}"),
    "paywall": (paywall, "/news/2024/05/paywall-{lang}"),
    "bot-challenge": (bot_challenge, "/news/2024/05/challenge-{lang}"),
    "region-block": (region_block, "/news/2024/05/region-{lang}"),
    "soft-404": (soft_404, "/news/2024/05/gone-{lang}"),
}


def wall_pages(languages: tuple[str, ...] = LANGUAGES) -> list[Wall]:
    """Every wall page, by class and language."""
    walls = []
    for page_class, (build, path) in BUILDERS.items():
        for lang in languages:
            p = path.format(lang=lang)
            walls.append(
                Wall(
                    f"{page_class}/{lang}",
                    page_class,
                    lang,
                    p,
                    build(lang),
                    f"https://www.example.com{p}",
                )
            )
    for lang in languages:
        p = LISTING[lang][0]
        walls.append(
            Wall(
                f"not-an-article/{lang}",
                "not-an-article",
                lang,
                p,
                listing(lang),
                f"https://www.example.com{p}",
            )
        )
    return walls


# Second versions, written after the classifier (and not tuned on): other vendors' markup,
# other wording, and Portuguese, a language no page above is in. bench/blocks.py counts them
# with the rest; they show whether the patterns carry over to walls they were not written for.
EXTRA = {
    "consent-wall/pt": """<!doctype html><html lang="pt-PT"><head><meta charset="utf-8">
<title>Jornal da Costa</title></head><body>
<div id="qc-cmp2-container"><div class="qc-cmp2-summary-section">
<h2>Valorizamos a sua privacidade</h2>
<p>Nós e os nossos parceiros armazenamos e/ou acedemos a informações num dispositivo, tais como
cookies, e processamos dados pessoais, tais como identificadores únicos e informações padrão
enviadas por um dispositivo, para anúncios e conteúdo personalizados, medição de anúncios e
conteúdo, e estudos de audiência.</p>
<button mode="primary">ACEITO</button><button mode="secondary">MAIS OPÇÕES</button>
</div></div><main></main></body></html>""",
    "consent-wall/en-2": """<!DOCTYPE html><html lang="en-GB"><head><title>Before you continue to Daily Ledger</title>
<script src="https://cdn.cookielaw.org/scripttemplates/otSDKStub.js"></script></head><body>
<div id="onetrust-consent-sdk"><div id="onetrust-banner-sdk">
<h1>Before you continue to Daily Ledger</h1>
<p>We use cookies and data to deliver and maintain our services, track outages and protect
against spam, fraud and abuse, measure audience engagement and site statistics, and, if you
choose "Accept all", develop new services and show personalised ads.</p>
<button id="onetrust-accept-btn-handler">Accept all</button>
<button id="onetrust-reject-all-handler">Reject all</button>
<a href="/privacy">More options</a></div></div></body></html>""",
    "paywall/pt": """<!doctype html><html lang="pt"><head><meta charset="utf-8">
<title>Porto discute novas tarifas para os ferries | Jornal da Costa</title>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"Porto discute novas tarifas para os ferries","isAccessibleForFree":"False",
"hasPart":[{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".premium"}]}
</script></head><body><nav><a href="/">Início</a> <a href="/economia/">Economia</a></nav>
<article><h1>Porto discute novas tarifas para os ferries</h1>
<p>A administração do porto apresentou esta manhã uma proposta de novas tarifas para as
ligações fluviais, que os operadores dizem ser insuficiente para cobrir o aumento dos custos
com combustível e pessoal.</p>
<div class="premium-gate"><p>Conteúdo exclusivo para assinantes. Assine para continuar a
ler.</p><a href="/assinaturas">Ver planos</a></div></article>
<footer>© Jornal da Costa</footer></body></html>""",
    "paywall/en-2": """<!doctype html><html lang="en-US"><head><meta charset="utf-8">
<title>Port weighs new ferry fares as costs climb - Daily Ledger</title>
<meta property="og:type" content="article"></head><body>
<header><a href="/">Daily Ledger</a></header><main><article>
<h1>Port weighs new ferry fares as costs climb</h1><p class="byline">By Ana Ortiz</p>
<p>The port authority proposed new fares for river crossings on Monday, a plan operators
said would not cover rising fuel and staff costs over the coming winter season.</p>
<p>Commuters who use the early crossings would pay the most under the proposal.</p>
<div class="tp-container-inner"><h3>This story is available exclusively to subscribers.</h3>
<p>Already a subscriber? <a href="/login">Sign in</a></p>
<a class="cta" href="/subscribe">Get unlimited access for $1</a></div>
</article></main></body></html>""",
    "bot-challenge/pt": """<html lang="pt"><head><title>jornaldacosta.pt</title>
<style>#cmsg{animation: A 1.5s;}</style></head><body style="margin:0">
<p id="cmsg">Por favor, ative o JS e desative qualquer bloqueador de anúncios</p>
<script data-cfasync="false">var dd={'rt':'c','cid':'AHrlqAAAAAMA','hsh':'2211F522','t':'fe','s':17434,'e':'abc','host':'geo.captcha-delivery.com'}</script>
<script data-cfasync="false" src="https://ct.captcha-delivery.com/c.js"></script>
</body></html>""",
    "bot-challenge/en-2": """<!DOCTYPE html><html><head><title>Access to this page has been denied</title>
</head><body><div class="container"><h1>Access to this page has been denied</h1>
<p>Press &amp; Hold to confirm you are a human (and not a bot).</p><div id="px-captcha"></div>
<p>Reference ID 5c0bc1c7-16b7-11ef-a5cd-4d6c78615a43</p></div></body></html>""",
    "region-block/pt": """<!doctype html><html lang="pt"><head><meta charset="utf-8">
<title>Vídeo indisponível | Jornal da Costa</title></head><body>
<header><a href="/">Jornal da Costa</a></header><main><div class="player-error">
<h1>Vídeo indisponível</h1><p>Lamentamos, mas este conteúdo não está disponível no seu país
devido a restrições de direitos de transmissão.</p></div></main>
<footer>© Jornal da Costa</footer></body></html>""",
    "region-block/en-2": """<!doctype html><html lang="en"><head><title>Daily Ledger</title></head><body>
<div class="gdpr-block"><h1>Daily Ledger</h1>
<p>Unfortunately, our website is currently unavailable in most European countries. We are
engaged on the issue and committed to looking at options that support our full range of
digital offerings to the EU market. We continue to identify technical compliance solutions
that will provide all readers with our award-winning journalism.</p></div></body></html>""",
    "soft-404/pt": """<!doctype html><html lang="pt"><head><meta charset="utf-8">
<title>Página não encontrada | Jornal da Costa</title><meta name="robots" content="noindex">
</head><body><header><a href="/">Jornal da Costa</a><nav><a href="/pais/">País</a>
<a href="/mundo/">Mundo</a></nav></header><main><h1>Ups! Algo correu mal.</h1>
<p>A página que procura não existe ou foi removida. Experimente usar a pesquisa.</p>
<form action="/pesquisa"><input name="q"></form></main><footer>© Jornal da Costa</footer>
</body></html>""",
    "soft-404/en-2": """<!doctype html><html lang="en-US"><head><meta charset="UTF-8">
<title>Nothing found for Ferry Fares Story &#8211; Daily Ledger</title></head>
<body class="error404"><header><a href="/">Daily Ledger</a></header>
<main id="main"><section class="error-404 not-found"><header><h1 class="page-title">Oops! That
page can&rsquo;t be found.</h1></header><div class="page-content"><p>It looks like nothing
was found at this location. Maybe try one of the links below or a search?</p>
<form role="search" action="/"><input name="s"></form>
<h2>Recent Posts</h2><ul><li><a href="/2024/05/ferry-fares/">Port weighs new ferry fares as
costs climb</a></li><li><a href="/2024/05/tram/">Tram line extension gets the green
light</a></li></ul></div></section></main></body></html>""",
}
EXTRA_LISTINGS = {
    "not-an-article/pt": ("/tag/ferries/", "pt", "Arquivo de ferries | Jornal da Costa"),
    "not-an-article/en-2": (
        "/search?q=ferry+fares",
        "en",
        "Search results for “ferry fares” – Daily Ledger",
    ),
}


def _extra_listing(lang: str, title: str) -> str:
    headlines = HEADLINES["en"] + [
        "Harbour pilots vote on new contract",
        "Ferry timetable changes from June",
    ]
    items = "".join(
        f'<li class="result"><a href="/2024/05/result-{i}/">{h}</a>'
        f'<span class="date">May {i + 1}, 2024</span></li>'
        for i, h in enumerate(headlines)
    )
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
</head><body><header><a href="/">Site</a></header><main><h1>{title.split("|")[0].split("–")[0]}</h1>
<p>{len(headlines)} results</p><ul class="results">{items}</ul>
<a href="?page=2">Next page</a></main><footer>© 2024</footer></body></html>"""


def extra_pages() -> list[Wall]:
    """The second versions (see :data:`EXTRA`)."""
    walls = []
    for name, html in EXTRA.items():
        page_class, variant = name.split("/")
        path = f"/news/2024/05/{page_class}-{variant}"
        walls.append(
            Wall(name, page_class, variant[:2], path, html, f"https://www.example.com{path}")
        )
    for name, (path, lang, title) in EXTRA_LISTINGS.items():
        walls.append(
            Wall(
                name,
                "not-an-article",
                lang,
                path,
                _extra_listing(lang, title),
                f"https://www.example.com{path}",
            )
        )
    return walls
